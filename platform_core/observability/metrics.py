"""Prometheus metrics, labelled by tenant with bounded cardinality.

* tenant label: the schema name of the brokerage (only schemas the platform itself resolved — from a Domain row or
  a validated worker message — ever reach here), "public", or "unknown"; once METRICS_MAX_TENANTS distinct tenants
  have been labelled in this process, any further one is "other".
* route label: the resolver's route pattern (`backoffice/clients/<int:pk>/`), never the raw path.
* Scrape-time gauges (queue depth, dead letters, live workers, trading sync lag) come from a custom Collector.
* Multi-process (gunicorn workers): set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by the processes of
  one host before they start; /metrics then aggregates every process's samples (prometheus_client multiprocess).
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

PUBLIC = "public"
UNKNOWN = "unknown"
OTHER = "other"
_SCHEMA_RE = re.compile(r"^[a-z0-9_]{1,63}$")

_seen_tenants: set[str] = set()
_seen_lock = threading.Lock()


def max_tenants() -> int:
    try:
        return max(1, int(os.environ.get("METRICS_MAX_TENANTS", "2000")))
    except ValueError:
        return 2000


def tenant_label(schema: str | None) -> str:
    """A bounded label for a schema name (see the module's doc)."""
    if not schema:
        return UNKNOWN
    if schema == PUBLIC:
        return PUBLIC
    if not _SCHEMA_RE.match(schema):
        return UNKNOWN
    if schema in _seen_tenants:
        return schema
    with _seen_lock:
        if schema in _seen_tenants:
            return schema
        if len(_seen_tenants) >= max_tenants():
            return OTHER
        _seen_tenants.add(schema)
    return schema


def _reset_tenant_labels() -> None:  # tests
    with _seen_lock:
        _seen_tenants.clear()


HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests answered.", ["tenant", "method", "route", "status"])
HTTP_DURATION = Histogram("http_request_duration_seconds", "HTTP request duration.", ["tenant", "route"],
                          buckets=HTTP_BUCKETS)
WORKER_PROCESSED = Counter("worker_messages_processed_total", "Worker messages processed successfully.",
                           ["tenant", "queue", "actor"])
WORKER_FAILED = Counter("worker_messages_failed_total", "Worker messages that raised (each attempt).",
                        ["tenant", "queue", "actor"])
# No tenant label on the histogram: buckets × actors × tenants would be the one unbounded series count here.
WORKER_DURATION = Histogram("worker_message_duration_seconds", "Worker message processing time.",
                            ["queue", "actor"], buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300))
WEBHOOK_OUTCOMES = Counter("webhook_outcomes_total", "Webhooks received, by outcome.",
                           ["tenant", "provider", "outcome"])

WEBHOOK_OUTCOME_VALUES = ("accepted", "duplicate", "refused", "too_large", "unknown_provider")


def observe_webhook(provider: str, outcome: str) -> None:
    """One webhook's fate, labelled by the current schema. Never raises into the webhook path."""
    try:
        from django.db import connection

        if outcome not in WEBHOOK_OUTCOME_VALUES:
            outcome = "refused"
        if outcome in ("unknown_provider", "too_large") or not _SCHEMA_RE.match(provider or "") or len(provider) > 32:
            # Those were refused before the provider was known to exist: a path segment nobody configured (anyone
            # can POST any) must not become a label value.
            provider = UNKNOWN
        WEBHOOK_OUTCOMES.labels(tenant_label(getattr(connection, "schema_name", None)), provider, outcome).inc()
    except Exception:  # noqa: BLE001
        log.warning("could not count a webhook outcome", exc_info=True)


# --- scrape-time gauges -----------------------------------------------------------------------------------------

SYNC_LAG_CACHE_S = 30
_sync_lag_cache: dict = {"at": 0.0, "rows": []}


def sync_lag_rows() -> list[tuple[str, str, float]]:
    """(schema, server code, seconds since its last successful sync) for every enabled server of every brokerage,
    in ONE query: a UNION ALL over the brokerage schemas that have the trading tables (found in the catalog).
    Cached for 30 s per process."""
    now = time.monotonic()
    if now - _sync_lag_cache["at"] < SYNC_LAG_CACHE_S:
        return _sync_lag_cache["rows"]
    from django.db import connection

    from tenancy.models import Brokerage, BrokerageKind
    from tenant_apps.trading.models import SyncState, TradingServerConfig

    qn = connection.ops.quote_name
    sync_table, server_table = SyncState._meta.db_table, TradingServerConfig._meta.db_table
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT b.schema_name FROM {qn(Brokerage._meta.db_table)} b "
            "JOIN pg_namespace n ON n.nspname = b.schema_name "
            "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = %s AND c.relkind = 'r' "
            "WHERE b.kind = %s ORDER BY b.schema_name",
            [sync_table, BrokerageKind.BROKERAGE],
        )
        schemas = [row[0] for row in cursor.fetchall()]
        rows: list[tuple[str, str, float]] = []
        if schemas:
            parts = [
                f"SELECT %s, srv.code, EXTRACT(EPOCH FROM (now() - st.last_success_at)) "
                f"FROM {qn(s)}.{qn(sync_table)} st JOIN {qn(s)}.{qn(server_table)} srv "
                f"ON srv.id = st.server_id WHERE srv.is_enabled AND st.last_success_at IS NOT NULL"
                for s in schemas
            ]
            cursor.execute(" UNION ALL ".join(parts), schemas)
            rows = [(schema, code, float(lag)) for schema, code, lag in cursor.fetchall()]
    _sync_lag_cache.update(at=now, rows=rows)
    return rows


class PlatformCollector:
    """Gauges computed when Prometheus scrapes: queue depth and dead letters per tenant, live workers, sync lag."""

    def collect(self):
        from tenancy import workers

        depth = GaugeMetricFamily("worker_queue_depth", "Messages waiting or in flight, per tenant.",
                                  labels=["tenant"])
        dead = GaugeMetricFamily("worker_dead_letters", "Dead-lettered messages, per tenant.", labels=["tenant"])
        live = GaugeMetricFamily("worker_live", "Workers with a live heartbeat.")
        lag = GaugeMetricFamily("trading_sync_lag_seconds", "Seconds since a server's last successful sync.",
                                labels=["tenant", "server"])
        try:
            for family, counts in ((depth, workers.queue_depth_by_tenant()), (dead, workers.dead_letters_by_tenant())):
                merged: dict[str, int] = {}
                for schema, n in counts.items():
                    label = tenant_label(schema)
                    merged[label] = merged.get(label, 0) + n
                for label, n in sorted(merged.items()):
                    family.add_metric([label], n)
            live.add_metric([], len(workers.worker_heartbeats()))
        except Exception:  # noqa: BLE001 - a scrape reports what it can
            log.warning("queue gauges unavailable", exc_info=True)
        try:
            for schema, code, seconds in sync_lag_rows():
                lag.add_metric([tenant_label(schema), code[:64]], seconds)
        except Exception:  # noqa: BLE001
            log.warning("sync lag gauge unavailable", exc_info=True)
        yield from (depth, dead, live, lag)


def scrape() -> tuple[bytes, str]:
    """The exposition text: this process's (or, in multiprocess mode, every process's) samples + the gauges."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        samples = CollectorRegistry()
        multiprocess.MultiProcessCollector(samples)
    else:
        samples = REGISTRY
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(PlatformCollector())
    return generate_latest(samples) + generate_latest(gauges), CONTENT_TYPE_LATEST
