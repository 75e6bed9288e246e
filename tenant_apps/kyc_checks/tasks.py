"""KYC check actors: the daily document-expiry run, vendor webhook processing and its sweep."""
from __future__ import annotations

from tenancy.scheduler import periodic
from tenancy.workers import tenant_actor


@periodic(every_s=24 * 3600)
@tenant_actor(max_retries=3, time_limit=30 * 60 * 1000)
def documents_expiry_daily() -> dict:
    """Idempotent: notices and tasks are once per document per threshold; expiry moves only approved cases."""
    from tenant_apps.kyc_checks.services import documents_expiry_run

    return documents_expiry_run()


@tenant_actor(max_retries=5, min_backoff=1_000, max_backoff=300_000)
def vendor_webhook_process(webhook_pk: int) -> str:
    from tenant_apps.kyc_checks import services

    return services.vendor_webhook_process(webhook_pk=webhook_pk)


@periodic(every_s=5 * 60)
@tenant_actor(max_retries=0)
def vendor_webhooks_sweep() -> int:
    """Process deliveries whose after-commit message was lost."""
    from tenant_apps.kyc_checks import services

    pending = services.vendor_webhooks_pending()
    for pk in pending:
        services.vendor_webhook_process(webhook_pk=pk)
    return len(pending)
