"""Notifications actors: deliver one e-mail (retried with backoff), and the outbox sweep for e-mails still owed."""
from __future__ import annotations

from tenancy.scheduler import periodic
from tenancy.workers import tenant_actor

EMAIL_QUEUE = "notifications"


@tenant_actor(queue_name=EMAIL_QUEUE, max_retries=8, min_backoff=5_000, max_backoff=900_000, time_limit=60_000)
def notification_email_send(notification_id: int) -> None:
    from tenant_apps.notifications.services import notification_email_deliver

    notification_email_deliver(notification_id=notification_id)


@periodic(every_s=300)
@tenant_actor(queue_name=EMAIL_QUEUE, max_retries=0)
def notifications_email_sweep() -> None:
    from tenant_apps.notifications.services import notifications_email_requeue

    notifications_email_requeue()
