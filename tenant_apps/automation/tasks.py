"""Automation actors: the hourly per-tenant evaluation of enabled rules (hourly, so deferred actions leave at the
start of the working window and time-based triggers are caught within the hour)."""
from __future__ import annotations

from tenancy.scheduler import periodic
from tenancy.workers import tenant_actor

EVERY_S = 3600


@periodic(every_s=EVERY_S)
@tenant_actor(max_retries=3, time_limit=30 * 60_000)
def automation_evaluate() -> None:
    from tenant_apps.automation.services import automation_evaluate as evaluate

    evaluate()
