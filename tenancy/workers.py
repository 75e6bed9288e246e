"""Tenant-aware dramatiq: every message carries its brokerage; the worker enters it before the actor runs.

* `tenant_actor` — needs a brokerage; a message without one fails loudly (no retry, dead-lettered).
* `platform_actor` — runs in the public schema (provisioning, pool refill, fan-out).
* `send_on_commit` — enqueue only after the surrounding transaction commits, with the tenant bound now.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import dramatiq
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name
from dramatiq.middleware import Middleware, MiddlewareError, SkipMessage

from tenancy.context import NoTenantError

log = logging.getLogger(__name__)

TENANT_OPTION = "tenant_schema"
SCOPE_OPTION = "tenant_scope"
TENANT_SCOPE = "tenant"
PLATFORM_SCOPE = "platform"


class TenantMessageError(NoTenantError, MiddlewareError):
    """A tenant actor's message names no brokerage, or one that doesn't exist.

    A MiddlewareError so dramatiq propagates it out of before_process_message: any other exception
    there is only logged, and the actor would then run in the public schema (fail open).
    """


class TenantMiddleware(Middleware):
    @property
    def actor_options(self) -> set[str]:
        return {SCOPE_OPTION}

    def before_enqueue(self, broker, message, delay):
        if TENANT_OPTION not in message.options:
            # Stamped from the connection at send time; send_on_commit binds it explicitly instead.
            message.options[TENANT_OPTION] = getattr(connection, "schema_name", get_public_schema_name())

    def before_process_message(self, broker, message):
        from tenancy.models import Brokerage

        actor = broker.get_actor(message.actor_name)
        scope = actor.options.get(SCOPE_OPTION, TENANT_SCOPE)
        schema = message.options.get(TENANT_OPTION)
        if scope == PLATFORM_SCOPE:
            connection.set_schema_to_public()
            return
        if not schema or schema == get_public_schema_name():
            raise TenantMessageError(
                f"Actor '{message.actor_name}' needs a brokerage but message {message.message_id} was sent "
                f"without one (schema {schema!r})."
            )
        connection.set_schema_to_public()
        brokerage = Brokerage.objects.filter(schema_name=schema).first()
        if brokerage is None:
            raise TenantMessageError(f"Message {message.message_id} names unknown schema {schema!r}.")
        if not brokerage.is_serving:
            # Suspended/archived brokerages are offline for workers too. Actors are idempotent and work
            # lives in the database, so periodic sweeps pick it up again after a resume.
            log.warning("skipping %s for %s brokerage %s", message.actor_name, brokerage.status, brokerage.slug)
            _record_skip(schema)
            raise SkipMessage(f"brokerage {brokerage.slug} is {brokerage.status}")
        connection.set_tenant(brokerage)

    def after_process_message(self, broker, message, *, result=None, exception=None):
        connection.set_schema_to_public()

    def after_skip_message(self, broker, message):
        connection.set_schema_to_public()


def _record_skip(schema: str) -> None:
    from platform_core.redis import key, redis_client

    try:
        redis_client().hincrby(key("skipped"), schema, 1)
    except Exception:  # noqa: BLE001 - bookkeeping never breaks message handling
        log.exception("could not record skipped message")


class HealthMiddleware(Middleware):
    """Worker heartbeats and per-tenant error records for the operator console's health panel."""

    HEARTBEAT_EVERY_S = 5
    HEARTBEAT_TTL_S = 20

    def __init__(self):
        self._stop = threading.Event()
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"

    def after_worker_boot(self, broker, worker):
        self._stop.clear()
        thread = threading.Thread(target=self._beat, args=(worker,), name="brokeros-heartbeat", daemon=True)
        thread.start()

    def before_worker_shutdown(self, broker, worker):
        self._stop.set()
        try:
            from platform_core.redis import key, redis_client

            redis_client().delete(key("heartbeat", self.worker_id))
        except Exception:  # noqa: BLE001
            pass

    def _beat(self, worker):
        from platform_core.redis import key, redis_client

        while not self._stop.is_set():
            try:
                redis_client().set(
                    key("heartbeat", self.worker_id),
                    json.dumps({"at": time.time(), "queues": sorted(worker.consumers or [])}),
                    ex=self.HEARTBEAT_TTL_S,
                )
            except Exception:  # noqa: BLE001
                log.warning("worker heartbeat failed", exc_info=True)
            self._stop.wait(self.HEARTBEAT_EVERY_S)

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is None:
            return
        from platform_core.redis import key, redis_client

        schema = message.options.get(TENANT_OPTION) or get_public_schema_name()
        try:
            entry = json.dumps({
                "at": time.time(),
                "actor": message.actor_name,
                "message_id": message.message_id,
                "error": f"{exception.__class__.__name__}: {exception}"[:500],
                "retries": message.options.get("retries", 0),
            })
            pipe = redis_client().pipeline()
            pipe.lpush(key("errors", schema), entry)
            pipe.ltrim(key("errors", schema), 0, 49)
            pipe.execute()
        except Exception:  # noqa: BLE001
            log.warning("could not record worker error", exc_info=True)


def tenant_actor(fn: Callable | None = None, **options: Any):
    """A dramatiq actor that runs inside the brokerage its message was sent from."""
    options.setdefault(SCOPE_OPTION, TENANT_SCOPE)
    options["throws"] = tuple(options.get("throws", ())) + (NoTenantError,)

    def decorate(func):
        return dramatiq.actor(func, **options)

    return decorate(fn) if fn is not None else decorate


def platform_actor(fn: Callable | None = None, **options: Any):
    """A dramatiq actor that runs in the public schema, whatever context sent it."""
    options.setdefault(SCOPE_OPTION, PLATFORM_SCOPE)

    def decorate(func):
        return dramatiq.actor(func, **options)

    return decorate(fn) if fn is not None else decorate


def send_to_tenant(actor, schema_name: str, *args: Any, **kwargs: Any):
    """Send a message for a given brokerage explicitly (fan-out, scheduler)."""
    return actor.send_with_options(args=args, kwargs=kwargs, **{TENANT_OPTION: schema_name})


def send_on_commit(actor, *args: Any, **kwargs: Any) -> None:
    """Enqueue after the current transaction commits; nothing is sent if it rolls back.

    The tenant is bound now, as a value: by the time the callback runs the connection may be elsewhere.
    """
    schema = getattr(connection, "schema_name", get_public_schema_name())

    def _send(actor=actor, args=args, kwargs=kwargs, schema=schema):
        send_to_tenant(actor, schema, *args, **kwargs)

    transaction.on_commit(_send)


# --- reading the queues for the health panel ----------------------------------------------

def _broker():
    return dramatiq.get_broker()


def _tenant_messages(hash_key: str, limit: int = 20000):
    """(tenant, message timestamp in ms) of each message in one of the Redis broker's message hashes (bounded)."""
    from platform_core.redis import redis_client

    seen = 0
    for _, raw in redis_client().hscan_iter(hash_key, count=500):
        seen += 1
        if seen > limit:
            break
        try:
            message = json.loads(raw)
            options = message.get("options", {})
        except (ValueError, AttributeError):
            continue
        yield options.get(TENANT_OPTION) or get_public_schema_name(), message.get("message_timestamp")


def _messages_by_tenant(hash_key: str, limit: int = 20000) -> Counter:
    """Count messages per tenant in one of the Redis broker's message hashes (bounded scan)."""
    return Counter(tenant for tenant, _ in _tenant_messages(hash_key, limit))


def oldest_message_age_by_tenant() -> dict[str, float]:
    """Seconds since the oldest message still waiting or running was sent, per tenant (ready queues only: a
    delayed retry is not late)."""
    ns = _broker().namespace
    oldest: dict[str, int] = {}
    for queue in _canonical_queues():
        for tenant, ts in _tenant_messages(f"{ns}:{queue}.msgs"):
            if isinstance(ts, int) and ts < oldest.get(tenant, ts + 1):
                oldest[tenant] = ts
    now_ms = time.time() * 1000
    return {tenant: round(max(now_ms - ts, 0) / 1000, 1) for tenant, ts in oldest.items()}


def _canonical_queues() -> set[str]:
    from dramatiq.common import q_name

    return {q_name(q) for q in _broker().get_declared_queues()}


def queue_depth_by_tenant() -> Counter:
    """Messages waiting or in flight per tenant: the Redis broker's .msgs hashes (delayed ones included) and the
    brokerage's fair-queue inbox."""
    broker = _broker()
    ns = broker.namespace
    counts: Counter = Counter()
    for queue in _canonical_queues():
        counts.update(_messages_by_tenant(f"{ns}:{queue}.msgs"))
        counts.update(_messages_by_tenant(f"{ns}:{queue}.DQ.msgs"))
    if hasattr(broker, "fair_state"):  # messages waiting in a brokerage's own inbox (tenancy/fairness.py)
        counts.update({tenant: s["waiting"] for tenant, s in broker.fair_state().items() if s["waiting"]})
    return counts


def dead_letters_by_tenant() -> Counter:
    """Messages that failed for good (retries exhausted or a `throws` error), per tenant."""
    ns = _broker().namespace
    counts: Counter = Counter()
    for queue in _canonical_queues():
        counts.update(_messages_by_tenant(f"{ns}:{queue}.XQ.msgs"))
    return counts


def worker_heartbeats() -> list[dict]:
    from platform_core.redis import key, redis_client

    client = redis_client()
    beats = []
    for name in client.scan_iter(match=key("heartbeat", "*"), count=200):
        raw = client.get(name)
        if raw:
            data = json.loads(raw)
            data["worker"] = name.rsplit(":heartbeat:", 1)[-1]
            data["age_s"] = round(time.time() - data["at"], 1)
            beats.append(data)
    return sorted(beats, key=lambda b: b["worker"])


def recent_errors(schema_name: str, limit: int = 10) -> list[dict]:
    from platform_core.redis import key, redis_client

    return [json.loads(x) for x in redis_client().lrange(key("errors", schema_name), 0, limit - 1)]


def skipped_by_tenant() -> dict[str, int]:
    from platform_core.redis import key, redis_client

    return {k: int(v) for k, v in redis_client().hgetall(key("skipped")).items()}
