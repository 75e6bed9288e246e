"""Sanctions actors: a list update fans out one re-screening job per active brokerage.

`sanctions_list_updated` is sent after an import commits. If that send is lost (a crash between commit and
enqueue), the periodic sweep finds the current version without `rescreen_sent_at` and fans out again.
Re-screening stores one result per client and version and opens tasks once, so a duplicate fan-out costs
time, never correctness.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from tenancy.context import require_tenant
from tenancy.scheduler import periodic
from tenancy.workers import platform_actor, tenant_actor

log = logging.getLogger(__name__)

SWEEP_GRACE = timedelta(minutes=5)  # leave the after-commit message time to be processed first


@platform_actor(max_retries=3)
def sanctions_list_updated(list_id: int) -> int:
    from platform_core.sanctions.services import sanctions_rescreen_fan_out

    return sanctions_rescreen_fan_out(list_id=list_id)


@periodic(every_s=15 * 60)
@platform_actor(max_retries=0)
def sanctions_rescreen_sweep() -> int:
    """Fan out current versions whose re-screening was never sent."""
    from platform_core.sanctions.models import ListStatus, SanctionsList
    from platform_core.sanctions.services import sanctions_rescreen_fan_out

    due = SanctionsList.objects.filter(status=ListStatus.CURRENT, rescreen_sent_at__isnull=True,
                                       imported_at__lt=timezone.now() - SWEEP_GRACE)
    return sum(sanctions_rescreen_fan_out(list_id=pk) for pk in due.values_list("pk", flat=True))


@tenant_actor(max_retries=3, time_limit=60 * 60 * 1000)
def rescreen_all_clients(list_id: int) -> dict:
    """Screen every active client of this brokerage that has a full name against this list version, store each
    result (kyc_checks.ScreeningCheck) and open a Compliance task for each client newly hit. No client's KYC
    state changes here: a person decides. Idempotent per (client, version): a redelivered message skips the
    clients already done. A message for a version that is no longer current does nothing."""
    from platform_core.sanctions.models import ListStatus, SanctionsList
    from platform_core.sanctions.screening import forget_current_version
    from tenant_apps.kyc_checks.services import rescreen_clients

    brokerage = require_tenant()
    row = SanctionsList.objects.filter(pk=list_id).first()
    if row is None or row.status != ListStatus.CURRENT:
        log.info("rescreen for list %s skipped at %s: not the current version", list_id, brokerage.slug)
        return {"list_id": list_id, "screened": 0, "with_hits": 0, "tasks": 0, "skipped": True}
    forget_current_version(row.source)  # this process may not have noticed the new version yet
    counts = rescreen_clients(list_row=row)
    log.info("rescreened %d client(s) of %s against %s v%s: %d with hits, %d new task(s)", counts["screened"],
             brokerage.slug, row.source, row.version, counts["with_hits"], counts["tasks"])
    return {"list_id": list_id, **counts, "skipped": False}
