"""Commission actors: the running month (and the previous one, until it is approved) accrued as deals sync."""
from __future__ import annotations

from tenancy.scheduler import periodic
from tenancy.workers import tenant_actor

COMMISSIONS_QUEUE = "commissions"


@periodic(every_s=900)
@tenant_actor(queue_name=COMMISSIONS_QUEUE, max_retries=0, time_limit=1_800_000)
def commissions_accrue_recent() -> None:
    """Accrue deals synced since the last run (idempotent: accrued deals are skipped)."""
    from django.utils import timezone

    from tenant_apps.commissions.engine import period_of
    from tenant_apps.commissions.models import AccrualStatus, CommissionAccrual
    from tenant_apps.commissions.services import commission_period_accrue, period_default

    commission_period_accrue(period=period_of(timezone.now()), reason="scheduled")
    previous = period_default()
    if not CommissionAccrual.objects.filter(period=previous).exclude(status=AccrualStatus.ACCRUED).exists():
        commission_period_accrue(period=previous, reason="scheduled")


@tenant_actor(queue_name=COMMISSIONS_QUEUE, max_retries=5, min_backoff=10_000, time_limit=1_800_000)
def commissions_reassignment_recompute(request_id: int, client_id: int | None, effective_at: str) -> None:
    """A back-dated "recalculate" reassignment, approved: adjustments for the periods it reaches. Retried on a
    database error (a recompute is idempotent); the period's "Recompute" in the back office does the same."""
    from datetime import datetime

    from tenant_apps.commissions.services import reassignment_recompute

    reassignment_recompute(request_id=request_id, client_id=client_id,
                           effective_at=datetime.fromisoformat(effective_at))
