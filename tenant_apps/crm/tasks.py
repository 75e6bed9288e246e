"""CRM actors: the daily lifecycle sweep (dormancy, and funding facts the ledger does not signal)."""
from __future__ import annotations

from tenancy.scheduler import periodic
from tenancy.workers import tenant_actor


@periodic(every_s=24 * 3600)
@tenant_actor(max_retries=3, time_limit=30 * 60_000)
def lifecycle_sweep() -> None:
    from tenant_apps.crm.lifecycle import lifecycle_sweep as sweep

    sweep()
