"""/readyz and the PgBouncer pooling probe.

Readiness = PostgreSQL and Redis answer, at least one worker heartbeat is alive, and session state survives from
one statement to the next on the database connection. `/readyz?scope=web` leaves the workers out: a web pod's
readiness (deploy/k8s/web.yaml). django-tenants sets `search_path` once per schema switch
(TENANT_LIMIT_SET_CALLS): behind PgBouncer in *transaction* pooling mode the next statement may run on another
server connection, with another tenant's search path. PgBouncer must run in session mode (or not at all).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid

from django.db import connection
from django.http import JsonResponse

log = logging.getLogger(__name__)

POOLING_FIX = ("Run PgBouncer with pool_mode = session for BrokerOS (or connect to PostgreSQL directly): "
               "transaction pooling mixes tenants' search paths between requests.")
PROBE_ROUNDS = 5
PROBE_CACHE_S = 60

_probe_cache: dict = {"at": 0.0, "result": None}
_startup_done = threading.Event()


def pooling_probe(rounds: int = PROBE_ROUNDS) -> tuple[bool, str]:
    """Set session state (search_path and a custom setting) in one autocommit statement and read it back in the
    next, on a fresh connection with the same settings as Django's (so through PgBouncer when Django goes
    through it). (True, "") when it survives every round; (False, reason) when a statement saw another session."""
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        raw.autocommit = True
        with raw.cursor() as cursor:
            for _ in range(rounds):
                marker = uuid.uuid4().hex
                cursor.execute("SELECT set_config('search_path', %s, false), set_config('brokeros.pool_probe', %s, false)",
                               [f"pg_catalog, public, brokeros_probe_{marker[:12]}", marker])
                cursor.execute("SELECT current_setting('search_path'), current_setting('brokeros.pool_probe', true)")
                search_path, seen = cursor.fetchone()
                if seen != marker or f"brokeros_probe_{marker[:12]}" not in (search_path or ""):
                    return False, ("session state set by one statement was gone in the next: the connection is "
                                   "pooled per transaction (PgBouncer pool_mode = transaction?). " + POOLING_FIX)
        return True, ""
    finally:
        raw.close()


def cached_pooling_probe() -> tuple[bool, str]:
    now = time.monotonic()
    if _probe_cache["result"] is None or now - _probe_cache["at"] > PROBE_CACHE_S:
        try:
            result = pooling_probe()
        except Exception as exc:  # noqa: BLE001 - reported by the database check instead
            result = (False, f"probe failed: {exc.__class__.__name__}")
        _probe_cache.update(at=now, result=result)
    return _probe_cache["result"]


def startup_pooling_check() -> None:
    """Once per web process (at middleware load): an ERROR line with the fix if the probe fails. Skipped in tests
    (many test clients load the middleware; tests call the probe directly)."""
    from django.conf import settings

    if getattr(settings, "TESTING", False) or _startup_done.is_set():
        return
    _startup_done.set()
    try:
        ok, reason = pooling_probe()
    except Exception:  # noqa: BLE001 - the database may not be up yet; /readyz reports it then
        log.warning("pooling probe could not run at start", exc_info=True)
        return
    if not ok:
        log.error("database pooling check failed: %s", reason)


SCOPES = ("platform", "web")


def readiness(scope: str = "platform") -> tuple[bool, dict]:
    """scope "platform": the whole platform can do its work (a live worker included). scope "web": this web
    process can serve requests — a web pod's readiness probe: web pods must not leave the load balancer because
    the worker fleet scaled to zero or restarts."""
    from platform_core.health import check_dependencies
    from tenancy.workers import worker_heartbeats

    checks: dict = dict(check_dependencies())
    workers_ok = True
    if scope == "platform":
        try:
            beats = worker_heartbeats()
            checks["workers"] = len(beats)
            workers_ok = bool(beats)
        except Exception as exc:  # noqa: BLE001
            checks["workers"] = f"error: {exc.__class__.__name__}"
            workers_ok = False
    if checks.get("database") == "ok":
        ok, reason = cached_pooling_probe()
        checks["pooling"] = "ok" if ok else f"error: {reason}"
    else:
        checks["pooling"] = "skipped"
    ready = checks.get("database") == "ok" and checks.get("redis") == "ok" and workers_ok \
        and checks["pooling"] == "ok"
    return ready, checks


def readyz(request):
    started = time.perf_counter()
    scope = request.GET.get("scope", "platform")
    if scope not in SCOPES:
        return JsonResponse({"status": "error", "detail": f"Unknown scope {scope!r}: use one of {', '.join(SCOPES)}."},
                            status=400)
    ready, checks = readiness(scope)
    reasons = []
    if checks.get("workers") == 0:
        reasons.append("no worker heartbeat")
    reasons += [f"{name}: {value}" for name, value in checks.items() if isinstance(value, str) and value != "ok"
                and value != "skipped"]
    return JsonResponse(
        {"status": "ready" if ready else "not_ready", "scope": scope, "checks": checks, "reasons": reasons,
         "ms": round((time.perf_counter() - started) * 1000, 1)},
        status=200 if ready else 503,
    )
