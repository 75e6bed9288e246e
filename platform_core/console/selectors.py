"""Reads for the operator console: brokerages with counts and health, in a bounded number of queries."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from provisioning.models import ProvisioningJob
from provisioning.schemas import quote_ident
from tenancy.models import Brokerage, BrokerageKind, PlatformAuditEvent
from tenancy.workers import (
    dead_letters_by_tenant,
    oldest_message_age_by_tenant,
    queue_depth_by_tenant,
    recent_errors,
    skipped_by_tenant,
    worker_heartbeats,
)


@dataclass
class BrokerageRow:
    brokerage: Brokerage
    clients: int = 0
    staff: int = 0
    queued: int = 0
    dead: int = 0
    skipped: int = 0
    sync_lag_s: int | None = None
    unreachable_since: object = None
    webhooks_hour: int = 0
    webhooks_rejected_hour: int = 0
    active_clients_24h: int = 0
    active_staff_24h: int = 0
    deposits_today: int = 0
    withdrawals_today: int = 0
    oldest_message_s: float | None = None
    domains: list[str] = field(default_factory=list)
    alerts: list = field(default_factory=list)  # Alert


@dataclass(frozen=True)
class Alert:
    kind: str  # sync, webhooks, queue_age, dead_letters — one open alert per brokerage and kind
    text: str

    def __str__(self) -> str:
        return self.text


def row_alerts(row: BrokerageRow) -> list[Alert]:
    """What an operator must look at for this brokerage now, against the platform's thresholds (settings
    CONSOLE_ALERT_*): a trading server unreachable or its sync lagging, webhooks failing their signature check
    (a PSP secret rotated without us, or someone forging), jobs that failed for good."""
    from django.conf import settings

    alerts = []
    if row.unreachable_since is not None:
        alerts.append(Alert("sync", f"trading server unreachable since {row.unreachable_since:%H:%M} UTC"))
    elif row.sync_lag_s is not None and row.sync_lag_s > settings.CONSOLE_ALERT_SYNC_LAG_S:
        alerts.append(Alert("sync", f"trading sync {row.sync_lag_s // 60} min behind"))
    if row.webhooks_rejected_hour >= settings.CONSOLE_ALERT_WEBHOOK_REJECTED_HOUR:
        alerts.append(Alert("webhooks", f"{row.webhooks_rejected_hour} webhook signature failures in the last hour "
                                        f"(of {row.webhooks_hour})"))
    if row.oldest_message_s is not None and row.oldest_message_s > settings.CONSOLE_ALERT_QUEUE_AGE_S:
        alerts.append(Alert("queue_age", f"oldest job waiting {int(row.oldest_message_s // 60)} min"))
    if row.dead:
        alerts.append(Alert("dead_letters", f"{row.dead} failed job{'s' if row.dead != 1 else ''} in the dead-letter queue"))
    return alerts


def _per_schema(schemas: list[str], select: str) -> dict[str, tuple]:
    """ONE query over many brokerages' schemas (UNION ALL): `select` is what follows `SELECT <schema>,` with
    {s} standing for the quoted schema name. Returns {schema: the row's other columns}."""
    if not schemas:
        return {}
    parts = [f"SELECT %s, {select.format(s=quote_ident(s))}" for s in schemas]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), schemas)
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def user_counts(schemas: list[str]) -> dict[str, tuple[int, int]]:
    """Clients and staff of many brokerages in ONE query (UNION ALL over their schemas)."""
    return _per_schema(schemas, "count(*) FILTER (WHERE kind = 'client'), count(*) FILTER (WHERE kind = 'staff') FROM {s}.identity_user")


def sync_health(schemas: list[str]) -> dict[str, tuple[int | None, object]]:
    """Trading-platform sync per brokerage in ONE query: (seconds since the oldest server's last successful
    sync or None if never, earliest 'unreachable since' or None)."""
    return _per_schema(schemas, "extract(epoch FROM now() - min(last_success_at))::bigint, min(unreachable_since) FROM {s}.trading_syncstate")


def activity(schemas: list[str]) -> dict[str, tuple[int, int, int, int]]:
    """Per brokerage in ONE query: clients and staff signed in during the last 24 h, deposits and withdrawals
    requested today (UTC)."""
    return _per_schema(schemas, (
        "(SELECT count(*) FROM {s}.identity_user WHERE kind = 'client' AND last_login > now() - interval '24 hours'), "
        "(SELECT count(*) FROM {s}.identity_user WHERE kind = 'staff' AND last_login > now() - interval '24 hours'), "
        "(SELECT count(*) FROM {s}.payments_deposit WHERE created_at >= date_trunc('day', now())), "
        "(SELECT count(*) FROM {s}.payments_withdrawal WHERE created_at >= date_trunc('day', now()))"))


def webhook_health(schemas: list[str]) -> dict[str, tuple[int, int]]:
    """PSP webhooks of the last hour per brokerage in ONE query: (received, rejected by the signature check)."""
    return _per_schema(schemas, "count(*), count(*) FILTER (WHERE NOT signature_valid) FROM {s}.payments_webhookevent "
                       "WHERE received_at > now() - interval '1 hour'")


def _existing_schemas(schemas: list[str]) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
            "WHERE n.nspname = ANY(%s) AND c.relname = 'identity_user'", [schemas]
        )
        return {r[0] for r in cursor.fetchall()}


def health_safe(fn, default):
    try:
        return fn()
    except Exception:  # noqa: BLE001 - Redis down must not take the console down; the panel shows it
        return default


def brokerage_rows(*, status: str = "", search: str = "", limit: int = 200) -> list[BrokerageRow]:
    qs = Brokerage.objects.filter(kind=BrokerageKind.BROKERAGE).prefetch_related("domains").order_by("name")
    if status:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(name__icontains=search) | qs.filter(slug__icontains=search)
    brokerages = list(qs[:limit])
    schemas = [b.schema_name for b in brokerages]
    existing = sorted(_existing_schemas(schemas)) if schemas else []
    counts = user_counts(existing)
    sync = sync_health(existing)
    hooks = webhook_health(existing)
    active = activity(existing)
    oldest = health_safe(oldest_message_age_by_tenant, {})
    queued = health_safe(queue_depth_by_tenant, {})
    dead = health_safe(dead_letters_by_tenant, {})
    skipped = health_safe(skipped_by_tenant, {})
    rows = []
    for b in brokerages:
        clients, staff = counts.get(b.schema_name, (0, 0))
        rows.append(BrokerageRow(
            brokerage=b, clients=clients, staff=staff, queued=queued.get(b.schema_name, 0),
            dead=dead.get(b.schema_name, 0), skipped=skipped.get(b.schema_name, 0),
            sync_lag_s=sync.get(b.schema_name, (None, None))[0], unreachable_since=sync.get(b.schema_name, (None, None))[1],
            webhooks_hour=hooks.get(b.schema_name, (0, 0))[0], webhooks_rejected_hour=hooks.get(b.schema_name, (0, 0))[1],
            active_clients_24h=active.get(b.schema_name, (0, 0, 0, 0))[0],
            active_staff_24h=active.get(b.schema_name, (0, 0, 0, 0))[1],
            deposits_today=active.get(b.schema_name, (0, 0, 0, 0))[2],
            withdrawals_today=active.get(b.schema_name, (0, 0, 0, 0))[3],
            oldest_message_s=oldest.get(b.schema_name),
            domains=[d.domain for d in sorted(b.domains.all(), key=lambda d: (not d.is_primary, d.domain))],
        ))
        rows[-1].alerts = row_alerts(rows[-1])
    return rows


def platform_overview() -> dict:
    by_status: dict[str, int] = {}
    for status in Brokerage.objects.filter(kind=BrokerageKind.BROKERAGE).values_list("status", flat=True):
        by_status[status] = by_status.get(status, 0) + 1
    workers = health_safe(worker_heartbeats, None)
    return {
        "by_status": by_status,
        "total": sum(by_status.values()),
        "spares": Brokerage.objects.filter(kind=BrokerageKind.SPARE).count(),
        "workers": workers or [],
        "redis_ok": workers is not None,
        "queued_total": sum(health_safe(queue_depth_by_tenant, {}).values()),
        "dead_total": sum(health_safe(dead_letters_by_tenant, {}).values()),
        "recent_jobs": list(ProvisioningJob.objects.select_related("brokerage")[:8]),
        "recent_events": list(PlatformAuditEvent.objects.all()[:10]),
    }


def brokerage_health(brokerage: Brokerage) -> dict:
    return {
        "queued": health_safe(queue_depth_by_tenant, {}).get(brokerage.schema_name, 0),
        "dead": health_safe(dead_letters_by_tenant, {}).get(brokerage.schema_name, 0),
        "skipped": health_safe(skipped_by_tenant, {}).get(brokerage.schema_name, 0),
        "errors": health_safe(lambda: recent_errors(brokerage.schema_name), []),
        "workers": health_safe(worker_heartbeats, []),
    }
