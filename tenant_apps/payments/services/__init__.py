"""Every write of the payments capability: PSP credentials and adapters (credentials.py), the durable webhook
inbox (inbox.py). Import from here. The money workflows are modules of their own: methods.py (which methods a
client sees), deposits.py, withdrawals.py, transfers.py, adjustments.py; their states are in ../states.py."""
from tenant_apps.payments.services.credentials import (
    psp_adapter,
    psp_credentials_of,
    psp_credentials_set,
    psp_sandbox_connect,
    psp_webhook_secret_add,
    psp_webhook_secrets_retire,
    webhook_url,
)
from tenant_apps.payments.services.inbox import (
    WEBHOOK_MAX_ATTEMPTS,
    WEBHOOK_MAX_BODY_BYTES,
    WEBHOOK_STUCK_AFTER_S,
    WebhookReceipt,
    inbox_insert_sql,
    wake_processing,
    webhook_event_process,
    webhook_inbox_drain,
    webhook_receive,
    webhooks_purge_rejected,
    webhooks_requeue_stuck,
)

__all__ = [
    "psp_adapter", "psp_credentials_of", "psp_credentials_set", "psp_sandbox_connect", "psp_webhook_secret_add",
    "psp_webhook_secrets_retire", "webhook_url", "WEBHOOK_MAX_ATTEMPTS", "WEBHOOK_MAX_BODY_BYTES",
    "WEBHOOK_STUCK_AFTER_S", "WebhookReceipt", "inbox_insert_sql", "wake_processing", "webhook_event_process",
    "webhook_inbox_drain", "webhook_receive", "webhooks_purge_rejected", "webhooks_requeue_stuck",
]
