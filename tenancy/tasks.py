"""Per-tenant housekeeping actors."""
from django.contrib.sessions.models import Session
from django.utils import timezone

from tenancy.context import require_tenant
from tenancy.scheduler import periodic
from tenancy.workers import platform_actor, tenant_actor


@periodic(every_s=3600)
@tenant_actor(max_retries=3)
def sessions_purge_expired():
    """Delete this brokerage's expired sessions (each schema has its own session table)."""
    require_tenant()
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@periodic(every_s=60)
@platform_actor(max_retries=0)
def workers_fair_reconcile():
    """Fair queues: give back places held by messages that no longer exist and feed waiting inboxes."""
    from tenancy.fairness import fair_reconcile

    return fair_reconcile()


@periodic(every_s=60)
@platform_actor(max_retries=0)
def console_alerts_notify():
    """Mail the platform operators about brokerages' alerts that opened or cleared since the last run."""
    from platform_core.console.alerts import alerts_notify

    return alerts_notify()
