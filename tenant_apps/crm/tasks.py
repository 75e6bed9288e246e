"""CRM actors: the daily lifecycle sweep (dormancy, and funding facts the ledger does not signal)."""
from __future__ import annotations

from tenancy.scheduler import periodic
from tenancy.workers import tenant_actor


@periodic(every_s=24 * 3600)
@tenant_actor(max_retries=3, time_limit=30 * 60_000)
def lifecycle_sweep() -> None:
    from tenant_apps.crm.lifecycle import lifecycle_sweep as sweep

    sweep()


@periodic(every_s=60)
@tenant_actor(max_retries=3, time_limit=5 * 60_000)
def task_reminders_send() -> None:
    """Notify task owners whose reminder time has passed (each task once)."""
    from tenant_apps.crm.services import task_reminders_send as send

    send()


@tenant_actor(max_retries=3, time_limit=60 * 60_000)
def lead_import_run(import_id: int, actor_id: int | None = None) -> None:
    """A confirmed CSV import of more than leads.SYNC_LIMIT leads, in committed batches (progress on its page)."""
    from tenant_apps.crm.leads import lead_import_run as run
    from tenant_apps.identity.models import User

    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    run(import_id=import_id, actor=actor)
