"""Scenario 9 and the rest of internal transfers with trading accounts, over HTTP on alpha (CySEC) and beta (FSA),
against the bundled MT5 simulator (real HTTP): money arrives on the platform and in the books exactly once, through
replays, timeouts after the server applied, and crashes between the two sides; refusals name their reason and
move nothing. The books of both brokerages are checked after every test (books_balance)."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

import httpx
import pytest
from django_tenants.utils import tenant_context

from tenant_apps.trading.adapters.mt5 import balance_comment
from tenant_apps.trading.simulator.server import SimConfig, TradingSimulator
from tests.payments.money.conftest import books_balance, fund, make_client, money  # noqa: F401 (fixtures)
from tests.trading.conftest import CONTROL_TOKEN, MANAGER_LOGIN, MANAGER_PASSWORD, sim  # noqa: F401

SLUGS = ("alpha", "beta")


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(manager_login=MANAGER_LOGIN, manager_password=MANAGER_PASSWORD, control_token=CONTROL_TOKEN,
                     seed=20260609, auto_create_groups=True)


@pytest.fixture
def sims(sim, sim_config):  # noqa: F811
    """A simulator per brokerage (each allocates logins from the same base), reached over real HTTP."""
    second = TradingSimulator(dataclasses.replace(sim_config)).start()
    yield {"alpha": sim, "beta": second}
    second.stop()


def control_of(simulator):
    def call(payload: dict) -> dict:
        response = httpx.post(simulator.url + "/sim/control", json=payload, headers={"X-Sim-Token": CONTROL_TOKEN},
                              timeout=10, trust_env=False)
        assert response.status_code == 200, response.text
        return response.json()
    return call


@pytest.fixture
def trading(money, sims, settings):  # noqa: F811
    """Each brokerage connected to its own simulator; each money client gets two live accounts (the brokerage's
    standard type, so EUR at alpha and USD at beta) created on the simulator."""
    from tenant_apps.brokerage.models import AccountType, TradingServerConfig
    from tenant_apps.trading.services import (
        server_credentials_set,
        trading_account_provision,
        trading_account_request_live,
    )

    settings.TRADING_ADAPTER_TIMEOUT = 1.0
    for ctx in money.values():
        ctx.sim, ctx.control = sims[ctx.slug], control_of(sims[ctx.slug])
        with tenant_context(ctx.brokerage):
            server = TradingServerConfig.objects.get(code="mt5-sim")
            server.port, server.use_tls, server.host = ctx.sim.port, False, "127.0.0.1"
            server.save()
            server_credentials_set(server=server, manager_login=MANAGER_LOGIN, password=MANAGER_PASSWORD)
            standard = AccountType.objects.get(code="standard")
            ctx.accounts = []
            for _ in range(2):
                account = trading_account_request_live(client=ctx.client, account_type=standard)
                ctx.accounts.append(trading_account_provision(account_id=account.pk))
            assert all(a.status == "active" for a in ctx.accounts)
            ctx.currency = standard.currency
    return money


def on_sim(ctx, account) -> Decimal:
    return ctx.sim.store.accounts[account.login].balance


def deals(ctx, account, reference: str) -> list:
    return [d for d in ctx.sim.store.deals_by_login.get(account.login, []) if d.comment == balance_comment(reference)]


def books(ctx, account) -> Decimal:
    """The ledger mirror of a trading account (0 when none was opened)."""
    from tenant_apps.ledger.models import AccountKind, Owner
    from tenant_apps.ledger.selectors import account_balance, account_get

    with tenant_context(ctx.brokerage):
        mirror = account_get(kind=AccountKind.CLIENT_TRADING_MIRROR, owner=Owner.trading_account(account.login),
                             currency=account.currency)
        return account_balance(account=mirror) if mirror else Decimal("0")


def wallet(ctx) -> Decimal:
    from tenant_apps.ledger.selectors import account_balance
    from tenant_apps.payments.services._flow import wallet_of

    with tenant_context(ctx.brokerage):
        return account_balance(account=wallet_of(client_id=ctx.client.pk, currency=ctx.currency))


def wallet_key(ctx) -> str:
    from tenant_apps.payments.services._flow import wallet_of

    with tenant_context(ctx.brokerage):
        return f"w{wallet_of(client_id=ctx.client.pk, currency=ctx.currency).pk}"


def post(ctx, source: str, destination: str, amount: str):
    return ctx.http.post("/money/transfer/", {"source": source, "destination": destination, "amount": amount})


def last_transfer(ctx):
    from tenant_apps.payments.models import Transfer

    with tenant_context(ctx.brokerage):
        return Transfer.objects.filter(client=ctx.client).order_by("-pk").first()


def run_worker(ctx, transfer):
    """What the transfer actor runs for this message (tasks.transfer_process)."""
    from tenant_apps.payments.tasks import transfer_process

    with tenant_context(ctx.brokerage):
        transfer_process.fn(transfer.pk)
        transfer.refresh_from_db()
    return transfer


def transfer_ok(ctx, source: str, destination: str, amount: str):
    response = post(ctx, source, destination, amount)
    assert response.status_code == 302, response.content.decode()[:2000]
    return run_worker(ctx, last_transfer(ctx))


def t(account) -> str:
    return f"t{account.pk}"


def fund_trading(ctx, account, amount: str):
    fund(ctx, Decimal(amount), currency=ctx.currency)
    return transfer_ok(ctx, wallet_key(ctx), t(account), amount)


@pytest.mark.parametrize("slug", SLUGS)
def test_scenario_9_a_transfer_between_two_trading_accounts_arrives_on_the_platform_and_in_the_books_once(
        trading, slug):
    ctx = trading[slug]
    one, two = ctx.accounts
    fund_trading(ctx, one, "500.00")

    moved = transfer_ok(ctx, t(one), t(two), "120.00")

    assert moved.status == "completed" and moved.platform_debit_ticket and moved.platform_credit_ticket
    assert (on_sim(ctx, one), on_sim(ctx, two)) == (Decimal("380.00"), Decimal("120.00"))
    assert (books(ctx, one), books(ctx, two)) == (Decimal("380.00"), Decimal("120.00"))
    assert len(deals(ctx, one, f"transfer:{moved.pk}:debit")) == 1
    assert len(deals(ctx, two, f"transfer:{moved.pk}:credit")) == 1
    # the worker message delivered again changes nothing, anywhere
    sent = ctx.sim.stats.snapshot()["commands"]["/api/trade/balance"]
    assert run_worker(ctx, moved).status == "completed"
    assert ctx.sim.stats.snapshot()["commands"]["/api/trade/balance"] == sent
    assert (on_sim(ctx, one), on_sim(ctx, two), books(ctx, two)) == (Decimal("380.00"), Decimal("120.00"),
                                                                       Decimal("120.00"))
    page = ctx.http.get(f"/money/transfer/?done={moved.pk}").content.decode()
    assert moved.reference in page and "Completed" in page and str(one.login) in page


@pytest.mark.parametrize("slug", SLUGS)
def test_a_transfer_from_a_restricted_account_is_refused_with_the_reason_and_nothing_moves(trading, slug):  # noqa: F811
    from tenant_apps.payments.models import Transfer
    from tenant_apps.trading.services import trading_account_set_blocked

    ctx = trading[slug]
    one, two = ctx.accounts
    fund_trading(ctx, one, "200.00")
    with tenant_context(ctx.brokerage):
        trading_account_set_blocked(account_id=one.pk, blocked=True, actor=None, reason="fraud check")
        count = Transfer.objects.count()

    response = post(ctx, t(one), t(two), "50.00")

    assert response.status_code == 400
    assert f"Trading account {one.login} is restricted: transfers in and out of it are blocked." \
        in response.content.decode()
    with tenant_context(ctx.brokerage):
        assert Transfer.objects.count() == count
    assert (on_sim(ctx, one), on_sim(ctx, two)) == (Decimal("200.00"), Decimal("0.00"))
    assert books(ctx, one) == Decimal("200.00")
    # into it is refused the same way
    response = post(ctx, wallet_key(ctx), t(one), "1.00")
    assert response.status_code == 400 and "is restricted" in response.content.decode()


@pytest.mark.parametrize("slug", SLUGS)
def test_archived_pending_and_demo_accounts_take_no_transfers_and_someone_elses_is_unknown(trading, slug):  # noqa: F811
    from tenant_apps.brokerage.models import AccountType
    from tenant_apps.identity.permissions import PermissionDeniedError
    from tenant_apps.payments.services.trading_transfers import transfer_request
    from tenant_apps.payments.services.transfers import TransferRefused
    from tenant_apps.trading.models import TradingAccount
    from tenant_apps.trading.services import trading_account_open_demo, trading_account_request_live

    ctx = trading[slug]
    one, two = ctx.accounts
    with tenant_context(ctx.brokerage):
        TradingAccount.objects.filter(pk=two.pk).update(status="archived")
        pending = trading_account_request_live(client=ctx.client, account_type=AccountType.objects.get(code="standard"))
        demo = trading_account_open_demo(client=ctx.client, account_type=AccountType.objects.get(code="demo"))
        other = make_client(slug)
        theirs = trading_account_request_live(client=other, account_type=AccountType.objects.get(code="standard"))
        for target, expected in ((TradingAccount.objects.get(pk=two.pk), "is archived"),
                                 (pending, "is still being created"), (demo, "is a demo account")):
            with pytest.raises(TransferRefused, match=expected):
                transfer_request(client=ctx.client, source=one, destination=target, amount=Decimal("1.00"))
        with pytest.raises(PermissionDeniedError):
            transfer_request(client=ctx.client, source=one, destination=theirs, amount=Decimal("1.00"))
    # over HTTP, someone else's account is not even offered: the same answer as an account that doesn't exist
    response = post(ctx, t(one), t(theirs), "1.00")
    assert response.status_code == 400 and "Choose two of your wallets or trading accounts" in response.content.decode()


@pytest.mark.parametrize("slug", SLUGS)
def test_more_than_the_free_margin_on_the_platform_is_refused(trading, slug):  # noqa: F811
    ctx = trading[slug]
    one, two = ctx.accounts
    fund_trading(ctx, one, "2000.00")
    ctx.control({"action": "set_price", "symbol": "EURUSD", "price": "1.10000"})
    ctx.control({"action": "open_position", "login": one.login, "symbol": "EURUSD", "side": "buy", "lots": "0.5"})
    from tenant_apps.trading.services import adapter_for

    with tenant_context(ctx.brokerage):
        state = adapter_for(one.server).get_account_state(one.login)
    assert state.free_margin < Decimal("1900")
    before = on_sim(ctx, one)  # the opening commission came off the balance

    response = post(ctx, t(one), t(two), "1900.00")

    assert response.status_code == 400
    assert "more than the free margin of trading account" in response.content.decode()
    assert on_sim(ctx, one) == before and on_sim(ctx, two) == Decimal("0.00") and books(ctx, one) == Decimal("2000.00")
    # within it, it goes through
    assert transfer_ok(ctx, t(one), t(two), "100.00").status == "completed"
    assert on_sim(ctx, two) == Decimal("100.00")


@pytest.mark.parametrize("slug", SLUGS)
def test_a_cross_currency_transfer_is_refused_naming_the_missing_rate_source(trading, slug):  # noqa: F811
    from tenant_apps.payments.services._flow import wallet_of

    ctx = trading[slug]
    one = ctx.accounts[0]
    other_currency = "GBP" if ctx.currency != "GBP" else "USD"
    with tenant_context(ctx.brokerage):
        foreign = wallet_of(client_id=ctx.client.pk, currency=other_currency)

    response = post(ctx, f"w{foreign.pk}", t(one), "10.00")

    body = response.content.decode()
    assert response.status_code == 400
    assert f"is in {other_currency} and the trading account {one.login} in {ctx.currency}" in body
    assert "no rate source is configured" in body
    assert on_sim(ctx, one) == Decimal("0.00")


@pytest.mark.parametrize("slug", SLUGS)
def test_wallet_to_trading_and_back_and_bad_amounts(trading, slug):  # noqa: F811
    ctx = trading[slug]
    one = ctx.accounts[0]
    fund(ctx, Decimal("300.00"), currency=ctx.currency)

    into = transfer_ok(ctx, wallet_key(ctx), t(one), "250.00")
    back = transfer_ok(ctx, t(one), wallet_key(ctx), "75.50")

    assert (into.status, back.status) == ("completed", "completed")
    assert (wallet(ctx), books(ctx, one), on_sim(ctx, one)) == (Decimal("125.50"), Decimal("174.50"),
                                                                 Decimal("174.50"))
    too_much = post(ctx, wallet_key(ctx), t(one), "125.51")
    assert too_much.status_code == 400 and "Insufficient available balance" in too_much.content.decode()
    fraction = post(ctx, wallet_key(ctx), t(one), "1.005")
    assert fraction.status_code == 400 and "Invalid amount" in fraction.content.decode()
    negative = post(ctx, wallet_key(ctx), t(one), "-5")
    assert negative.status_code == 400 and "positive amount" in negative.content.decode()
    assert (wallet(ctx), on_sim(ctx, one)) == (Decimal("125.50"), Decimal("174.50"))


@pytest.mark.parametrize("slug", SLUGS)
def test_a_platform_answer_lost_after_the_withdrawal_was_applied_never_takes_it_twice(trading, slug):  # noqa: F811
    ctx = trading[slug]
    one, two = ctx.accounts
    fund_trading(ctx, one, "400.00")
    response = post(ctx, t(one), t(two), "150.00")
    assert response.status_code == 302
    moved = last_transfer(ctx)
    ctx.control({"mode": "timeout_after_apply", "sleep_ms": 2500, "count": 1, "paths": ["/api/trade/balance"]})

    run_worker(ctx, moved)  # the answer is lost; the adapter finds the deal by its reference
    assert ctx.sim.faults.describe()["mode"] == "normal"  # the fault was spent on our withdrawal
    ctx.control({"mode": "normal"})
    run_worker(ctx, moved)  # and a replay of the message

    assert moved.status == "completed"
    assert len(deals(ctx, one, f"transfer:{moved.pk}:debit")) == 1
    assert len(deals(ctx, two, f"transfer:{moved.pk}:credit")) == 1
    assert (on_sim(ctx, one), on_sim(ctx, two)) == (Decimal("250.00"), Decimal("150.00"))
    assert (books(ctx, one), books(ctx, two)) == (Decimal("250.00"), Decimal("150.00"))


@pytest.mark.parametrize("slug", SLUGS)
def test_an_unreachable_server_leaves_the_transfer_waiting_and_the_retry_completes_it_once(trading, slug):
    from tenant_apps.payments.services.trading_transfers import TransferStepRetry

    ctx = trading[slug]
    one = ctx.accounts[0]
    fund(ctx, Decimal("90.00"), currency=ctx.currency)
    assert post(ctx, wallet_key(ctx), t(one), "90.00").status_code == 302
    moved = last_transfer(ctx)
    ctx.control({"mode": "down", "http_status": 503})
    with pytest.raises(TransferStepRetry):
        run_worker(ctx, moved)
    with tenant_context(ctx.brokerage):
        moved.refresh_from_db()
    assert moved.status == "debited" and on_sim(ctx, one) == Decimal("0.00") and wallet(ctx) == Decimal("0.00")
    ctx.control({"mode": "normal"})

    assert run_worker(ctx, moved).status == "completed"
    assert on_sim(ctx, one) == Decimal("90.00") and books(ctx, one) == Decimal("90.00")


@pytest.mark.parametrize("slug", SLUGS)
def test_a_crash_between_the_ledger_and_the_platform_is_completed_once_by_the_next_run(trading, slug,  # noqa: F811
                                                                                       monkeypatch):
    from tenant_apps.payments.services import trading_transfers

    ctx = trading[slug]
    one, two = ctx.accounts
    fund(ctx, Decimal("100.00"), currency=ctx.currency)

    # wallet → trading: the books moved at the request; the worker dies before the platform deposit
    assert post(ctx, wallet_key(ctx), t(one), "100.00").status_code == 302
    moved = last_transfer(ctx)
    monkeypatch.setattr(trading_transfers, "before_platform_credit", lambda transfer: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        run_worker(ctx, moved)
    assert on_sim(ctx, one) == Decimal("0.00") and books(ctx, one) == Decimal("100.00")
    monkeypatch.undo()
    assert run_worker(ctx, moved).status == "completed" and on_sim(ctx, one) == Decimal("100.00")

    # trading → trading: the worker dies after the platform withdrawal, before the books
    assert post(ctx, t(one), t(two), "60.00").status_code == 302
    moved = last_transfer(ctx)
    monkeypatch.setattr(trading_transfers, "after_platform_debit", lambda transfer: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        run_worker(ctx, moved)
    assert on_sim(ctx, one) == Decimal("40.00") and books(ctx, one) == Decimal("100.00")
    monkeypatch.undo()
    assert run_worker(ctx, moved).status == "completed"
    assert len(deals(ctx, one, f"transfer:{moved.pk}:debit")) == 1
    assert (on_sim(ctx, one), on_sim(ctx, two)) == (Decimal("40.00"), Decimal("60.00"))
    assert (books(ctx, one), books(ctx, two)) == (Decimal("40.00"), Decimal("60.00"))


@pytest.mark.parametrize("slug", SLUGS)
def test_a_destination_that_refuses_the_credit_is_compensated_and_the_client_sees_why(trading, slug,  # noqa: F811
                                                                                      monkeypatch):
    ctx = trading[slug]
    one, two = ctx.accounts
    fund_trading(ctx, one, "300.00")
    assert post(ctx, t(one), t(two), "100.00").status_code == 302
    moved = last_transfer(ctx)
    # the withdrawal goes through; the deposit on the second account is refused by the server
    from tenant_apps.payments.services import trading_transfers

    monkeypatch.setattr(trading_transfers, "before_platform_credit", lambda transfer: ctx.control(
        {"mode": "reject", "retcode": 3, "count": 1, "paths": ["/api/trade/balance"]}))
    run_worker(ctx, moved)

    assert moved.status == "failed" and moved.platform_refund_ticket and moved.refund_entry_id
    assert "refused to credit account" in moved.failure_reason
    assert (on_sim(ctx, one), on_sim(ctx, two)) == (Decimal("300.00"), Decimal("0.00"))
    assert (books(ctx, one), books(ctx, two)) == (Decimal("300.00"), Decimal("0.00"))
    page = ctx.http.get("/money/transfer/").content.decode()
    assert "refused to credit account" in page


@pytest.mark.parametrize("slug", SLUGS)
def test_a_deposit_into_a_chosen_trading_account_lands_there_once(trading, slug):  # noqa: F811
    import uuid

    from tenant_apps.payments.models import Deposit, Transfer
    from tenant_apps.payments.services import deposits, trading_transfers

    ctx = trading[slug]
    one = ctx.accounts[0]
    assert trading_transfers.deposit_credited_hook in deposits._CREDITED_HOOKS
    page = ctx.http.get("/money/deposit/").content.decode()
    assert f'value="{one.login}"' in page  # offered in the deposit form
    with tenant_context(ctx.brokerage):
        deposit = Deposit.objects.create(client=ctx.client, method=ctx.card, provider_code="sandbox",
                                         reference=f"DEP-T{uuid.uuid4().hex[:8]}", amount=Decimal("250.00"),
                                         currency=ctx.currency, status="pending_psp", target_trading_login=str(one.login),
                                         provider_payment_id=f"pi_tt_{uuid.uuid4().hex[:10]}")
        deposits.deposit_payment_succeeded(provider_code="sandbox", reference=deposit.reference)
        # the hook after commit, then a replay of it and the sweep: one transfer
        for _ in range(2):
            trading_transfers.deposit_credited_hook(deposit_id=deposit.pk)
        assert trading_transfers.deposits_to_trading_sweep() == 0
        moved = Transfer.objects.get(deposit=deposit)
    run_worker(ctx, moved)
    run_worker(ctx, moved)

    assert moved.status == "completed"
    assert (on_sim(ctx, one), books(ctx, one), wallet(ctx)) == (Decimal("250.00"), Decimal("250.00"), Decimal("0"))
    assert len(deals(ctx, one, f"transfer:{moved.pk}:credit")) == 1


@pytest.mark.parametrize("slug", SLUGS)
def test_the_deposit_form_refuses_an_account_that_is_not_the_clients_active_live_one(trading, slug):
    from tenant_apps.brokerage.models import AccountType
    from tenant_apps.trading.services import trading_account_request_live

    ctx = trading[slug]
    with tenant_context(ctx.brokerage):
        other = make_client(slug)
        theirs = trading_account_request_live(client=other, account_type=AccountType.objects.get(code="standard"))
    response = ctx.http.post("/money/deposit/", {"method": "card", "amount": "50", "currency": ctx.currency,
                                                 "target": str(theirs.login)})
    assert response.status_code == 400
    assert "Choose your wallet or one of your live trading accounts." in response.content.decode()
    mine = ctx.accounts[0]
    response = ctx.http.post("/money/deposit/", {"method": "card", "amount": "50", "currency": ctx.currency,
                                                 "target": str(mine.login)})
    assert response.status_code == 302
    with tenant_context(ctx.brokerage):
        assert ctx.client.deposits.get().target_trading_login == str(mine.login)


@pytest.mark.parametrize("slug", SLUGS)
def test_the_client_api_lists_accounts_and_makes_a_transfer_and_finance_sees_it(trading, slug,  # noqa: F811
                                                                                  django_assert_max_num_queries):
    ctx = trading[slug]
    one, two = ctx.accounts
    fund_trading(ctx, one, "80.00")

    listed = ctx.http.get("/api/v1/money/transfers/").json()
    keys = {a["key"]: a for a in listed["accounts"]}
    assert keys[t(one)]["available"] == "80.00" and keys[t(two)]["usable"]
    made = ctx.http.post("/api/v1/money/transfers/", {"source": t(one), "destination": t(two), "amount": "30"},
                         content_type="application/json")
    assert made.status_code == 201, made.content
    assert made.json()["status"] == "requested"
    refused = ctx.http.post("/api/v1/money/transfers/", {"source": t(one), "destination": t(two), "amount": "500"},
                            content_type="application/json")
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_free_margin"
    run_worker(ctx, last_transfer(ctx))
    assert on_sim(ctx, two) == Decimal("30.00")
    with django_assert_max_num_queries(20):  # wallets, accounts with snapshots, transfers: not one per row
        page = ctx.http.get("/money/transfer/")
    assert page.status_code == 200 and last_transfer(ctx).reference in page.content.decode()

    finance = ctx.staff_http("finance")
    with django_assert_max_num_queries(25):
        page = finance.get("/backoffice/money/transfers/")
    assert page.status_code == 200 and last_transfer(ctx).reference in page.content.decode()


def test_the_demo_client_gets_two_live_accounts_a_deposit_into_one_and_a_completed_transfer_once(trading):
    from provisioning.demo import seed_demo_trading_transfer
    from tenant_apps.payments.models import Transfer
    from tenant_apps.trading.models import TradingAccount

    ctx = trading["alpha"]
    with tenant_context(ctx.brokerage):
        for _ in range(2):  # a second `make run` adds nothing
            seed_demo_trading_transfer(slug="alpha", finance=ctx.staff["finance"])
        one, two = TradingAccount.objects.filter(client__email="trader@alpha.demo").order_by("pk")
        transfers = list(Transfer.objects.filter(client__email="trader@alpha.demo").order_by("pk"))
    assert [(t.status, t.deposit_id is not None) for t in transfers] == [("completed", True), ("completed", False)]
    assert (on_sim(ctx, one), on_sim(ctx, two)) == (Decimal("750.00"), Decimal("250.00"))
    assert (books(ctx, one), books(ctx, two)) == (Decimal("750.00"), Decimal("250.00"))


@pytest.mark.parametrize("slug", SLUGS)
def test_a_transfer_stuck_on_an_unreachable_server_is_flagged_for_finance_and_the_sweep_still_finishes_it(
        trading, slug, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from tenant_apps.payments.models import Transfer
    from tenant_apps.payments.services import trading_transfers

    ctx = trading[slug]
    one = ctx.accounts[0]
    fund(ctx, Decimal("40.00"), currency=ctx.currency)
    assert post(ctx, wallet_key(ctx), t(one), "40.00").status_code == 302
    stuck = last_transfer(ctx)
    sent = []
    monkeypatch.setattr("tenancy.workers.send_to_tenant", lambda actor, schema, pk: sent.append((schema, pk)))
    with tenant_context(ctx.brokerage):
        Transfer.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(hours=1))
        assert trading_transfers.transfers_sweep() == 1
        stuck.refresh_from_db()
    assert stuck.status == "needs_attention" and "open for more than 30 minutes" in stuck.staff_note
    assert sent == [(ctx.brokerage.schema_name, stuck.pk)]
    finance = ctx.staff_http("finance").get("/backoffice/money/transfers/?status=needs_attention").content.decode()
    assert stuck.reference in finance

    assert run_worker(ctx, stuck).status == "completed"  # what the re-sent message does
    assert on_sim(ctx, one) == Decimal("40.00") and books(ctx, one) == Decimal("40.00")
