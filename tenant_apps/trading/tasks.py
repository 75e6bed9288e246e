"""Trading actors: create accounts on the server (retried with exponential backoff), sync every server."""
from __future__ import annotations

from tenancy.scheduler import periodic
from tenancy.workers import tenant_actor
from tenant_apps.trading import services

TRADING_QUEUE = "trading"


@tenant_actor(queue_name=TRADING_QUEUE, max_retries=30, min_backoff=2_000, max_backoff=600_000, time_limit=120_000)
def account_create_on_server(account_id: int) -> None:
    """Idempotent: an account no longer pending is left alone; ServerUnavailable makes dramatiq retry with
    exponential backoff while the account shows "being created" and the attempt count."""
    services.trading_account_provision(account_id=account_id)


@tenant_actor(queue_name=TRADING_QUEUE, max_retries=0, time_limit=600_000)
def server_sync(server_id: int) -> None:
    services.server_sync(server_id=server_id)


@periodic(every_s=30)
@tenant_actor(queue_name=TRADING_QUEUE, max_retries=0, time_limit=600_000)
def trading_sync_all() -> None:
    """Fanned out per active brokerage by the scheduler; each server backs off on its own when unreachable."""
    services.sync_all_servers()
    services.pending_accounts_retry()
