"""A real dramatiq worker (threads, real Redis, committed rows) consumes the create-account message: the live
account becomes active on the simulator; with the simulator down the message is retried with backoff while
the account waits visibly, and it completes once the simulator is back."""
from __future__ import annotations

import time

import pytest
from django_tenants.utils import tenant_context

from tests.trading.conftest import MANAGER_LOGIN, MANAGER_PASSWORD
from tests.trading.test_trading_accounts import account_type, make_client, sim_config  # noqa: F401 (fixture)

WAIT_S = 60  # an upper bound only: the loop returns as soon as the state is reached


def wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def live_alpha(committed_db, tenants, sim):
    """Alpha connected to this test's simulator, with committed rows (the worker runs in other threads);
    everything made here is removed afterwards and the server configuration restored."""
    from tenant_apps.brokerage.models import TradingServerConfig
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User
    from tenant_apps.trading.models import TradingAccount
    from tenant_apps.trading.services import server_credentials_set

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        server = TradingServerConfig.objects.get(code="mt5-sim")
        fields = ["host", "port", "use_tls", "manager_login", "manager_password_encrypted", "manager_password_hint"]
        saved = {f: getattr(server, f) for f in fields}
        server.port, server.use_tls, server.host = sim.port, False, "127.0.0.1"
        server.save()
        server_credentials_set(server=server, manager_login=MANAGER_LOGIN, password=MANAGER_PASSWORD)
    emails: list[str] = []
    try:
        yield alpha, emails
    finally:
        with tenant_context(alpha):
            TradingAccount.objects.filter(client__email__in=emails).delete()
            KycCase.objects.filter(client__email__in=emails).delete()
            ClientRecord.objects.filter(user__email__in=emails).delete()
            User.objects.filter(email__in=emails).delete()
            TradingServerConfig.objects.filter(pk=server.pk).update(**saved)


def _request_live(alpha, emails: list[str], email: str):
    from tenant_apps.trading.services import trading_account_request_live

    with tenant_context(alpha):
        emails.append(email)
        client = make_client(email, kyc="approved")
        # committed at once (no test transaction): the message goes to Redis on commit, stamped with Alpha
        return trading_account_request_live(client=client, account_type=account_type("standard"))


def _status(alpha, account_id: int) -> tuple[str, int, str]:
    from tenant_apps.trading.models import TradingAccount

    with tenant_context(alpha):
        row = TradingAccount.objects.values_list("status", "creation_attempts", "status_reason").get(pk=account_id)
    return row


def test_a_real_worker_creates_a_live_account_on_the_simulator(live_alpha, sim, worker):
    alpha, emails = live_alpha
    account = _request_live(alpha, emails, "worker.live@alpha.test")
    assert account.status == "pending_creation"

    wait_for(lambda: _status(alpha, account.pk)[0] == "active", "the worker to create the account")
    on_server = sim.store.accounts.get(account.login)
    assert on_server is not None and on_server.comment == f"brokeros:{account.pk}"


def test_with_the_simulator_down_the_worker_retries_and_completes_when_it_returns(live_alpha, sim, worker):
    alpha, emails = live_alpha
    sim.control({"mode": "down"})
    account = _request_live(alpha, emails, "worker.down@alpha.test")

    # the worker's attempt fails: the account waits, visibly, and dramatiq schedules a retry with backoff
    wait_for(lambda: _status(alpha, account.pk)[1] >= 1, "a failed attempt")
    status, attempts, reason = _status(alpha, account.pk)
    assert status == "pending_creation" and "not reachable" in reason
    assert account.login not in sim.store.accounts

    sim.control({"mode": "normal"})
    wait_for(lambda: _status(alpha, account.pk)[0] == "active", "the retried message to create the account")
    assert sim.store.accounts[account.login].comment == f"brokeros:{account.pk}"
    assert _status(alpha, account.pk)[1] >= attempts
