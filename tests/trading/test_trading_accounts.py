"""Trading accounts end to end against the bundled MT5 simulator (real HTTP, real PostgreSQL): opening demo and
live accounts, leverage rules, block/unblock, sync, drift, and the fault cases."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.trading.adapters.base import BalanceKind, Rights
from tenant_apps.trading.simulator.server import SimConfig
from tests.trading.conftest import CONTROL_TOKEN, MANAGER_LOGIN, MANAGER_PASSWORD


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(manager_login=MANAGER_LOGIN, manager_password=MANAGER_PASSWORD, control_token=CONTROL_TOKEN,
                     seed=20260502, auto_create_groups=True)


@pytest.fixture
def alpha(db, tenants, sim, settings):
    """Alpha (CySEC) connected to this test's simulator; yields inside Alpha's schema."""
    from tenant_apps.brokerage.models import TradingServerConfig
    from tenant_apps.trading.services import server_credentials_set

    settings.TRADING_ADAPTER_TIMEOUT = 1.5
    with tenant_context(tenants["alpha"]):
        server = TradingServerConfig.objects.get(code="mt5-sim")
        server.port, server.use_tls, server.host = sim.port, False, "127.0.0.1"
        server.save()
        server_credentials_set(server=server, manager_login=MANAGER_LOGIN, password=MANAGER_PASSWORD)
        yield server


def make_client(email: str, *, kyc: str | None = None, country: str = "CY"):
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind

    user = User.objects.create_user(email=email, password="Client-pass-2026", kind=UserKind.CLIENT,
                                    full_name="Ana Trader")
    ClientRecord.objects.create(user=user, country=country)
    if kyc:
        KycCase.objects.create(client=user, state=kyc)
    return user


def account_type(code: str):
    from tenant_apps.brokerage.models import AccountType

    return AccountType.objects.get(code=code)


def on_sim(sim, login: int):
    return sim.store.accounts.get(int(login))


def test_a_demo_account_is_created_on_the_simulator_at_once_without_kyc(alpha, sim):
    from tenant_apps.trading.services import trading_account_open_demo

    client = make_client("demo.now@alpha.test")
    account = trading_account_open_demo(client=client, account_type=account_type("demo"))

    assert account.status == "active" and account.is_demo
    server_account = on_sim(sim, account.login)
    assert server_account is not None and server_account.group.casefold() == account.platform_group.casefold()


def test_a_live_account_is_refused_while_kyc_is_pending_and_created_after_approval(alpha, sim, mailoutbox):
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.trading.errors import InvalidState, NotAllowed
    from tenant_apps.trading.models import TradingAccount
    from tenant_apps.trading.services import trading_account_credentials_reveal, trading_account_request_live
    from tenant_apps.trading.tasks import account_create_on_server

    client = make_client("live.pending@alpha.test", kyc="pending_review")
    with pytest.raises(NotAllowed) as refused:
        trading_account_request_live(client=client, account_type=account_type("standard"))
    assert "verified identity" in refused.value.message
    assert not TradingAccount.objects.filter(client=client).exists()

    KycCase.objects.filter(client=client).update(state="approved")
    account = trading_account_request_live(client=client, account_type=account_type("standard"))
    assert account.status == "pending_creation" and on_sim(sim, account.login) is None
    account_create_on_server.fn(account.pk)  # what the worker runs

    account.refresh_from_db()
    assert account.status == "active" and on_sim(sim, account.login) is not None
    password = trading_account_credentials_reveal(client=client, account_id=account.pk)
    assert len(password) >= 8
    with pytest.raises(InvalidState):
        trading_account_credentials_reveal(client=client, account_id=account.pk)


def test_leverage_over_the_jurisdiction_cap_is_refused_naming_the_rule_and_within_it_is_applied_on_the_server(alpha, sim):
    from tenant_apps.trading.errors import LeverageNotAllowed
    from tenant_apps.trading.services import (
        leverage_change_request,
        leverage_options,
        trading_account_open_demo,
    )

    client = make_client("leverage@alpha.test")
    account = trading_account_open_demo(client=client, account_type=account_type("demo"), leverage=10)
    assert max(leverage_options(client=client, account_type=account_type("standard"))) == 30

    with pytest.raises(LeverageNotAllowed) as refused:
        leverage_change_request(client=client, account_id=account.pk, leverage=50)
    assert "CySEC caps FX majors at 1:30 for retail clients" in refused.value.message
    assert on_sim(sim, account.login).leverage == 10

    request = leverage_change_request(client=client, account_id=account.pk, leverage=30)
    assert request.state == "auto_approved"
    assert on_sim(sim, account.login).leverage == 30


def test_the_account_types_instrument_class_sets_the_cap_an_index_account_is_held_to_1_20_under_cysec(alpha, sim):
    from tenant_apps.brokerage.models import AccountType, InstrumentClass
    from tenant_apps.trading.errors import LeverageNotAllowed
    from tenant_apps.trading.services import (
        leverage_change_request,
        leverage_options,
        trading_account_open_demo,
    )

    demo = account_type("demo")
    indices = AccountType.objects.create(
        code="demo-indices", name="Demo Indices", legal_entity=demo.legal_entity, is_demo=True,
        currency=demo.currency, default_leverage=20, platform_group=demo.platform_group,
        instrument_class=InstrumentClass.INDEX)
    client = make_client("indices@alpha.test")
    assert max(leverage_options(client=client, account_type=indices)) == 20
    assert max(leverage_options(client=client, account_type=demo)) == 30  # the FX-majors type keeps 1:30
    with pytest.raises(LeverageNotAllowed) as refused:
        trading_account_open_demo(client=client, account_type=indices, leverage=30)
    assert "CySEC caps indices at 1:20 for retail clients" in refused.value.message
    account = trading_account_open_demo(client=client, account_type=indices, leverage=20)
    with pytest.raises(LeverageNotAllowed) as refused:
        leverage_change_request(client=client, account_id=account.pk, leverage=30)
    assert "indices at 1:20" in refused.value.message
    assert on_sim(sim, account.login).leverage == 20


def test_leverage_above_the_auto_approval_limit_waits_for_staff(alpha, sim):
    from tenant_apps.brokerage.models import LegalEntity
    from tenant_apps.trading.services import (
        leverage_change_request,
        leverage_request_decide,
        trading_account_open_demo,
    )

    entity = LegalEntity.objects.get(is_default=True)
    entity.rules = {**entity.rules, "leverage_auto_approve_max": 20}
    entity.save()
    client = make_client("queue@alpha.test")
    account = trading_account_open_demo(client=client, account_type=account_type("demo"), leverage=10)
    request = leverage_change_request(client=client, account_id=account.pk, leverage=30)
    assert request.state == "pending" and on_sim(sim, account.login).leverage == 10
    leverage_request_decide(request_id=request.pk, approve=True, actor=None, reason="experienced trader")
    assert on_sim(sim, account.login).leverage == 30


def test_a_block_made_while_the_server_is_down_reaches_the_simulator_within_one_sync_cycle(alpha, sim):
    from tenant_apps.trading.services import (
        server_sync,
        trading_account_open_demo,
        trading_account_set_blocked,
    )

    client = make_client("block@alpha.test")
    account = trading_account_open_demo(client=client, account_type=account_type("demo"))
    sim.control({"mode": "down"})
    account = trading_account_set_blocked(account_id=account.pk, blocked=True, actor=None, reason="chargeback")
    assert account.status == "blocked" and account.server_push_pending
    assert not on_sim(sim, account.login).rights & Rights.TRADE_DISABLED

    sim.control({"mode": "normal"})
    result = server_sync(server_id=alpha.pk, force=True)

    assert result.ok and result.drift == 0
    assert on_sim(sim, account.login).rights & Rights.TRADE_DISABLED
    account.refresh_from_db()
    assert not account.server_push_pending


def test_block_and_unblock_are_pushed_at_once_and_audited(alpha, sim):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.trading.services import trading_account_open_demo, trading_account_set_blocked

    client = make_client("block.now@alpha.test")
    account = trading_account_open_demo(client=client, account_type=account_type("demo"))
    trading_account_set_blocked(account_id=account.pk, blocked=True, actor=None, reason="risk review")
    assert on_sim(sim, account.login).rights & Rights.TRADE_DISABLED
    trading_account_set_blocked(account_id=account.pk, blocked=False, actor=None)
    assert not on_sim(sim, account.login).rights & Rights.TRADE_DISABLED
    actions = set(AuditEntry.objects.filter(object_id=str(account.pk)).values_list("action", flat=True))
    assert {"trading_account.blocked", "trading_account.unblocked"} <= actions


def test_drift_made_directly_on_the_simulator_is_detected_and_reported_once(alpha, sim, control):
    from tenant_apps.trading.models import DriftReport
    from tenant_apps.trading.selectors import open_drift_reports
    from tenant_apps.trading.services import server_sync, trading_account_open_demo

    client = make_client("drift@alpha.test")
    account = trading_account_open_demo(client=client, account_type=account_type("demo"), leverage=20)
    assert server_sync(server_id=alpha.pk, force=True).drift == 0

    control({"action": "edit_account", "login": account.login, "set_rights": int(Rights.TRADE_DISABLED),
             "leverage": 500})
    assert server_sync(server_id=alpha.pk, force=True).drift == 2
    assert server_sync(server_id=alpha.pk, force=True).drift == 0  # still open, not reported again
    reports = {r.field: r for r in open_drift_reports()}
    assert reports["trading_blocked"].server_value == "true" and reports["leverage"].server_value == "500"

    control({"action": "edit_account", "login": account.login, "clear_rights": int(Rights.TRADE_DISABLED),
             "leverage": 20})
    server_sync(server_id=alpha.pk, force=True)
    assert not DriftReport.objects.filter(account=account, resolved=False).exists()


def test_an_account_requested_while_the_simulator_is_down_waits_visibly_and_completes_when_it_returns(alpha, sim):
    from tenant_apps.trading.errors import ServerUnavailable
    from tenant_apps.trading.selectors import client_account_summaries
    from tenant_apps.trading.services import trading_account_open_demo
    from tenant_apps.trading.tasks import account_create_on_server

    client = make_client("down@alpha.test")
    sim.control({"mode": "down"})
    account = trading_account_open_demo(client=client, account_type=account_type("demo"))

    assert account.status == "pending_creation"
    [summary] = client_account_summaries(client)
    assert summary.status == "pending" and "not reachable" in summary.status_detail
    with pytest.raises(ServerUnavailable):  # the worker's attempt fails: dramatiq retries it with backoff
        account_create_on_server.fn(account.pk)
    account.refresh_from_db()
    assert account.creation_attempts == 2 and account.next_attempt_at is not None

    sim.control({"mode": "normal"})
    account_create_on_server.fn(account.pk)
    account.refresh_from_db()
    assert account.status == "active" and on_sim(sim, account.login) is not None


def test_a_lost_answer_to_account_creation_is_settled_without_a_second_account(alpha, sim, make_adapter):
    from tenant_apps.trading.services import trading_account_open_demo
    from tenant_apps.trading.tasks import account_create_on_server

    client = make_client("lost.answer@alpha.test")
    sim.control({"mode": "down"})
    account = trading_account_open_demo(client=client, account_type=account_type("demo"))
    sim.control({"mode": "normal"})
    # The first attempt reached the server after all and only its answer was lost: the account exists there.
    make_adapter().create_account(group=account.platform_group, leverage=account.leverage, name="Ana Trader",
                                  email=client.email, password_main="Client-Pass1!", password_investor="Invest-Pass1!",
                                  login=account.login, comment=f"brokeros:{account.pk}")
    accounts_before = len(sim.store.accounts)

    account_create_on_server.fn(account.pk)  # retry: 3004 → read the account → it is ours → done

    account.refresh_from_db()
    assert account.status == "active" and len(sim.store.accounts) == accounts_before


def test_a_login_taken_on_the_server_by_someone_else_is_not_adopted(alpha, sim, make_adapter):
    from tenant_apps.trading.errors import ServerUnavailable
    from tenant_apps.trading.services import trading_account_open_demo
    from tenant_apps.trading.tasks import account_create_on_server

    client = make_client("taken.login@alpha.test")
    sim.control({"mode": "down"})
    account = trading_account_open_demo(client=client, account_type=account_type("demo"))
    sim.control({"mode": "normal"})
    taken = account.login
    make_adapter().create_account(group=account.platform_group, leverage=10, name="Made By Hand",
                                  email="other@x.test", password_main="Client-Pass1!",
                                  password_investor="Invest-Pass1!", login=taken, comment="by hand")
    with pytest.raises(ServerUnavailable):
        account_create_on_server.fn(account.pk)
    account_create_on_server.fn(account.pk)
    account.refresh_from_db()
    assert account.status == "active" and account.login != taken
    assert on_sim(sim, taken).name == "Made By Hand"


def test_a_balance_operation_that_times_out_after_being_applied_is_not_applied_twice(alpha, sim):
    from tenant_apps.trading.errors import ServerUnavailable
    from tenant_apps.trading.services import trading_account_open_demo, trading_balance_apply

    client = make_client("balance@alpha.test")
    account = trading_account_open_demo(client=client, account_type=account_type("demo"))
    sim.control({"mode": "timeout_after_apply", "count": 1, "sleep_ms": 3000})
    try:
        trading_balance_apply(account_id=account.pk, amount=Decimal("250.00"), kind=BalanceKind.DEPOSIT,
                              reference="deposit-42")
    except ServerUnavailable:
        pass  # outcome unknown: the caller retries with the same reference
    retried = trading_balance_apply(account_id=account.pk, amount=Decimal("250.00"), kind=BalanceKind.DEPOSIT,
                                    reference="deposit-42")

    assert not retried.applied_now
    assert on_sim(sim, account.login).balance == Decimal("250.00")


def test_deals_are_stored_once_even_when_synced_twice(alpha, sim, control):
    from tenant_apps.trading.models import Deal, SyncState
    from tenant_apps.trading.services import server_sync, trading_account_open_demo

    client = make_client("deals@alpha.test")
    account = trading_account_open_demo(client=client, account_type=account_type("demo"))
    made = control({"action": "generate_history", "logins": [account.login], "deals_per_login": 300})["deals"]
    first = server_sync(server_id=alpha.pk, force=True)
    stored = Deal.objects.filter(server=alpha, login=account.login).count()
    assert stored == made == first.deals_new

    SyncState.objects.filter(server=alpha).update(deal_cursor="")  # a lost cursor: everything read again
    second = server_sync(server_id=alpha.pk, force=True)
    assert second.deals_seen >= made and second.deals_new == 0
    assert Deal.objects.filter(server=alpha, login=account.login).count() == stored


def test_an_unreachable_server_is_visible_with_its_lag_and_backs_off(alpha, sim):
    from tenant_apps.trading.selectors import sync_lag_seconds, sync_states
    from tenant_apps.trading.services import server_sync, trading_account_open_demo

    trading_account_open_demo(client=make_client("lag@alpha.test"), account_type=account_type("demo"))
    assert server_sync(server_id=alpha.pk, force=True).ok
    assert sync_lag_seconds() == 0
    sim.control({"mode": "down"})
    assert not server_sync(server_id=alpha.pk).ok
    [state] = [s for s in sync_states() if s["code"] == "mt5-sim"]
    assert state["unreachable_since"] is not None and state["last_error"]
    assert server_sync(server_id=alpha.pk).skipped  # backing off: no hammering of a down server


def test_the_dashboard_summary_is_read_in_a_bounded_number_of_queries(alpha, sim, django_assert_max_num_queries):
    from tenant_apps.trading.selectors import client_account_summaries
    from tenant_apps.trading.services import server_sync, trading_account_open_demo

    client = make_client("summary@alpha.test")
    for _ in range(4):
        trading_account_open_demo(client=client, account_type=account_type("demo"))
    server_sync(server_id=alpha.pk, force=True)
    with django_assert_max_num_queries(1):
        summaries = client_account_summaries(client)
    assert len(summaries) == 4 and all(s.status == "demo" and s.balance is not None for s in summaries)


def test_archiving_disables_the_login_on_the_server_and_is_audited(alpha, sim):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.trading.selectors import client_account_summaries
    from tenant_apps.trading.services import trading_account_archive, trading_account_open_demo

    client = make_client("archive@alpha.test")
    account = trading_account_open_demo(client=client, account_type=account_type("demo"))
    trading_account_archive(account_id=account.pk, actor=client, client=client, reason="no longer needed")

    assert not on_sim(sim, account.login).rights & Rights.ENABLED
    assert client_account_summaries(client) == []
    assert [s.status for s in client_account_summaries(client, include_archived=True)] == ["archived"]
    assert AuditEntry.objects.filter(action="trading_account.archived", object_id=str(account.pk)).exists()


def test_the_periodic_job_is_registered_per_brokerage_and_runs_a_sync_cycle(alpha, sim):
    from tenancy.scheduler import REGISTRY
    from tenant_apps.trading.models import SyncState
    from tenant_apps.trading.services import trading_account_open_demo
    from tenant_apps.trading.tasks import trading_sync_all

    assert REGISTRY[trading_sync_all.actor_name].per_tenant
    trading_account_open_demo(client=make_client("periodic@alpha.test"), account_type=account_type("demo"))
    trading_sync_all.fn()
    assert SyncState.objects.get(server=alpha).last_success_at is not None
