"""Payments actors: process stored webhook events; wake processing for stuck events; purge old rejects."""
from __future__ import annotations

from tenancy.scheduler import periodic
from tenancy.workers import tenant_actor
from tenant_apps.payments import services

WEBHOOK_QUEUE = "payments_webhooks"


@tenant_actor(queue_name=WEBHOOK_QUEUE, max_retries=services.WEBHOOK_MAX_ATTEMPTS, min_backoff=1_000,
              max_backoff=300_000, time_limit=120_000)
def webhook_process(event_pk: int) -> None:
    """Process the event that woke us, then drain the brokerage's other due events (services.inbox).
    Idempotent: a processed (or ignored, failed, rejected) event is skipped; a locked one is left to its holder.
    Handler failures are recorded on the event and retried by a delayed message; dramatiq's own retries only
    cover infrastructure errors (database or Redis down)."""
    services.webhook_inbox_drain(first_pk=event_pk)


@periodic(every_s=60)
@tenant_actor(queue_name=WEBHOOK_QUEUE, max_retries=0)
def webhooks_sweep() -> None:
    services.webhooks_requeue_stuck()


@periodic(every_s=24 * 3600)
@tenant_actor(max_retries=3)
def webhooks_purge() -> None:
    services.webhooks_purge_rejected()


@tenant_actor(max_retries=10, min_backoff=2_000, max_backoff=600_000)
def withdrawal_payout(withdrawal_pk: int) -> None:
    """Send an approved withdrawal through its PSP; idempotent (our reference is the PSP's idempotency key)."""
    from tenant_apps.payments.services.withdrawals import withdrawal_payout_send

    withdrawal_payout_send(withdrawal_id=withdrawal_pk)


@periodic(every_s=60)
@tenant_actor(max_retries=0)
def deposits_poll() -> None:
    """Ask the PSP about deposits whose callback never came (pending_psp longer than the rules allow)."""
    from tenant_apps.payments.services.deposits import deposits_poll_pending

    deposits_poll_pending()


@periodic(every_s=86400)
@tenant_actor(max_retries=3, min_backoff=60_000, time_limit=600_000)
def reconciliation_daily() -> None:
    """Yesterday's PSP settlement reports and today's platform balances against our books (reconciliation.py)."""
    from tenant_apps.payments.reconciliation import reconciliation_run

    reconciliation_run()


@tenant_actor(max_retries=12, min_backoff=2_000, max_backoff=300_000, time_limit=120_000)
def transfer_process(transfer_pk: int) -> None:
    """Run the next step of a transfer with a trading account (services/trading_transfers.py). Idempotent: a
    replayed message finds the step done (platform references, ledger keys); a server that can't be reached
    raises and dramatiq retries with backoff; the sweep below takes over after that."""
    from tenant_apps.payments.services.trading_transfers import transfer_process as step

    step(transfer_id=transfer_pk)


@periodic(every_s=120)
@tenant_actor(max_retries=0)
def transfers_sweep() -> None:
    """Open transfers whose worker gave up or crashed, and credited deposits still waiting for their move to a
    trading account."""
    from tenant_apps.payments.services.trading_transfers import deposits_to_trading_sweep, transfers_sweep

    transfers_sweep()
    deposits_to_trading_sweep()
