"""Reconciliation (issue 6, item 8) against the sandbox PSP's real settlement report on alpha and beta: matched
deposits become `reconciled`; every difference is a Discrepancy with both sides, never corrected; re-runs add
nothing; Finance resolves with a note (audited), Support only reads; one brokerage's run never touches another."""
from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.audit.models import AuditEntry
from tenant_apps.payments.models import Deposit, Discrepancy
from tenant_apps.payments.reconciliation import reconciliation_run
from tests.payments.money.conftest import deliver_all, fund
from tests.payments.money.test_deposits import SUCCESS, refreshed, start_deposit
from tests.payments.test_sandbox_psp import pay
from tests.trading.conftest import (  # noqa: F401 - fixtures: the bundled MT5 simulator and adapters to it
    GROUP,
    MANAGER_LOGIN,
    MANAGER_PASSWORD,
    make_adapter,
    open_account,
    sim,
    sim_config,
)

PAGE = "/backoffice/money/reconciliation/"


def today():
    return timezone.now().astimezone(UTC).date()


def paid_deposit(ctx, amount="100.00", *, callbacks=True) -> Deposit:
    deposit = start_deposit(ctx, amount)
    assert pay(deposit.hosted_url, SUCCESS).status == 303
    if callbacks:
        deliver_all(ctx, deposit.provider_payment_id)
        assert refreshed(ctx, deposit).status == "credited"
    return refreshed(ctx, deposit)


def run(ctx):
    with tenant_context(ctx.brokerage):
        return reconciliation_run(day=today())


def cases(ctx) -> list[Discrepancy]:
    with tenant_context(ctx.brokerage):
        return list(Discrepancy.objects.order_by("pk"))


def test_a_day_where_everything_matches_opens_no_discrepancy_and_reconciles_the_deposits(money):
    ctx = money["alpha"]
    first, second = paid_deposit(ctx, "100.00"), paid_deposit(ctx, "250.50")
    result = run(ctx)
    assert result.discrepancies == [] and cases(ctx) == []
    assert result.matched == 2 and result.reconciled == 2
    assert refreshed(ctx, first).status == "reconciled" and refreshed(ctx, second).status == "reconciled"
    with tenant_context(ctx.brokerage):
        assert first.events.filter(to_status="reconciled", source="reconciliation").count() == 1


def test_a_settlement_line_with_no_deposit_of_ours_is_a_psp_only_discrepancy(money):
    ctx = money["alpha"]
    deposit = paid_deposit(ctx, "75.00", callbacks=False)
    payment_id = deposit.provider_payment_id
    with tenant_context(ctx.brokerage):
        Deposit.objects.filter(pk=deposit.pk).delete()  # the PSP settled a payment our books never saw
    run(ctx)
    [case] = cases(ctx)
    assert (case.kind, case.reference, case.their_amount, case.our_amount) == ("psp_only", payment_id,
                                                                               Decimal("75.00"), None)
    assert case.status == "open" and case.their_side["payment_id"] == payment_id and case.source == "psp:sandbox"


def test_a_credited_deposit_missing_from_the_report_is_a_ledger_only_discrepancy(money):
    ctx = money["alpha"]
    deposit = fund(ctx, Decimal("40.00"))  # credited in our books, never paid at the PSP
    run(ctx)
    [case] = cases(ctx)
    assert (case.kind, case.reference, case.our_amount, case.their_amount) == (
        "ledger_only", deposit.provider_payment_id, Decimal("40.00"), None)
    assert case.deposit_id == deposit.pk and refreshed(ctx, deposit).status == "credited"  # not reconciled


def test_an_amount_mismatch_records_both_amounts_and_corrects_nothing(money):
    ctx = money["alpha"]
    deposit = paid_deposit(ctx, "100.00")
    with tenant_context(ctx.brokerage):
        Deposit.objects.filter(pk=deposit.pk).update(amount=Decimal("90.00"))  # our record disagrees with the PSP
    run(ctx)
    [case] = cases(ctx)
    assert (case.kind, case.our_amount, case.their_amount, case.currency) == (
        "amount_mismatch", Decimal("90.00"), Decimal("100.00"), "USD")
    deposit = refreshed(ctx, deposit)
    assert deposit.status == "credited" and deposit.amount == Decimal("90.00")  # never auto-corrected


def test_re_running_a_day_creates_no_duplicate_discrepancies_even_after_one_was_resolved(money):
    ctx = money["alpha"]
    fund(ctx, Decimal("40.00"))
    matched = paid_deposit(ctx, "60.00")
    first = run(ctx)
    assert len(first.discrepancies) == 1
    with tenant_context(ctx.brokerage):
        Discrepancy.objects.update(status="resolved", resolution_note="known", resolved_by=ctx.staff["finance"])
    second = run(ctx)
    assert second.discrepancies == [] and len(cases(ctx)) == 1 and cases(ctx)[0].status == "resolved"
    assert refreshed(ctx, matched).status == "reconciled"
    with tenant_context(ctx.brokerage):
        assert matched.events.filter(to_status="reconciled").count() == 1


def test_finance_resolves_a_discrepancy_with_a_mandatory_note_and_it_is_audited(money):
    ctx = money["alpha"]
    fund(ctx, Decimal("40.00"))
    run(ctx)
    [case] = cases(ctx)
    finance = ctx.staff_http("finance")
    page = finance.get(PAGE)
    assert page.status_code == 200 and case.reference in page.content.decode() and "40.00" in page.content.decode()
    url = f"{PAGE}{case.pk}/resolve/"
    assert finance.post(url, {"note": "  "}).status_code == 302
    assert cases(ctx)[0].status == "open"  # no note, no resolution
    assert finance.post(url, {"note": "Test deposit booked by hand; PSP confirms nothing was paid."}).status_code == 302
    [case] = cases(ctx)
    assert case.status == "resolved" and case.resolved_by_id == ctx.staff["finance"].pk
    assert case.resolution_note.startswith("Test deposit booked by hand")
    with tenant_context(ctx.brokerage):
        entry = AuditEntry.objects.get(action="reconciliation.resolved", object_id=str(case.pk))
        assert entry.reason.startswith("Test deposit booked by hand")


def test_support_sees_both_sides_but_cannot_resolve(money):
    ctx = money["alpha"]
    deposit = paid_deposit(ctx, "100.00")
    with tenant_context(ctx.brokerage):
        Deposit.objects.filter(pk=deposit.pk).update(amount=Decimal("90.00"))
    run(ctx)
    [case] = cases(ctx)
    support = ctx.staff_http("support")
    page = support.get(PAGE).content.decode()
    assert "90.00" in page and "100.00" in page and case.reference in page and 'name="note"' not in page
    assert support.post(f"{PAGE}{case.pk}/resolve/", {"note": "looks fine"}).status_code == 403
    assert cases(ctx)[0].status == "open"


def test_alphas_job_never_touches_beta(money):
    alpha, beta = money["alpha"], money["beta"]
    alpha_deposit, beta_deposit = paid_deposit(alpha), paid_deposit(beta)
    fund(beta, Decimal("40.00"))  # would be a discrepancy if beta were reconciled
    result = run(alpha)
    assert result.reconciled == 1 and result.discrepancies == []
    assert refreshed(alpha, alpha_deposit).status == "reconciled"
    assert refreshed(beta, beta_deposit).status == "credited" and cases(beta) == []


def test_the_daily_job_is_registered_for_every_brokerage():
    from tenancy.scheduler import REGISTRY
    from tenant_apps.payments import tasks

    job = REGISTRY[tasks.reconciliation_daily.actor_name]
    assert job.every_s == 86400 and job.per_tenant


def balance_cases(ctx) -> list[Discrepancy]:
    return [case for case in cases(ctx) if case.kind == "balance_mismatch"]


def _to_trading_account(ctx, adapter, login: int, amount: Decimal) -> None:
    """What a wallet → trading account transfer does: the ledger moves the money to the account's mirror and the
    platform gets a balance operation with the same reference (here through the real adapter and simulator)."""
    from tenant_apps.ledger.models import AccountKind, Owner
    from tenant_apps.ledger.services import account_get_or_create, ledger_post
    from tenant_apps.payments.services._flow import wallet_of
    from tenant_apps.trading.adapters.base import BalanceKind

    reference = f"transfer-{login}"
    with tenant_context(ctx.brokerage):
        mirror = account_get_or_create(kind=AccountKind.CLIENT_TRADING_MIRROR, owner=Owner.trading_account(login),
                                       currency="USD")
        ledger_post(idempotency_key=reference, lines=[(wallet_of(client_id=ctx.client.pk, currency="USD"), -amount),
                    (mirror, amount)], kind="transfer.to_trading", description=reference)
    adapter.balance_operation(login=login, amount=amount, kind=BalanceKind.DEPOSIT, reference=reference,
                              first_attempt=True)


def test_a_platform_balance_that_differs_from_the_ledger_mirror_is_a_balance_mismatch(money, sim, make_adapter):  # noqa: F811
    """Two live accounts on the real MT5 simulator, funded from the wallet (ledger mirror + platform balance
    operation). A dealer then credits one of them directly on the server, bypassing us: the next run finds the
    platform balance above the ledger mirror, shows both sides, corrects nothing and does not repeat itself."""
    from tenant_apps.brokerage.models import TradingServerConfig
    from tenant_apps.trading.adapters.base import BalanceKind
    from tenant_apps.trading.models import AccountType, TradingAccount
    from tenant_apps.trading.services import adapter_for, server_credentials_set

    ctx = money["alpha"]
    adapter = make_adapter()
    with tenant_context(ctx.brokerage):
        server = TradingServerConfig.objects.get(code="mt5-sim")
        server.host, server.port, server.use_tls = "127.0.0.1", sim.port, False
        server.save()
        server_credentials_set(server=server, manager_login=MANAGER_LOGIN, password=MANAGER_PASSWORD)
        server.refresh_from_db()
        kind = AccountType.objects.filter(is_demo=False).first() or AccountType.objects.first()
    drifted, agreeing = (open_account(adapter).login for _ in range(2))
    with tenant_context(ctx.brokerage):
        for login in (drifted, agreeing):
            TradingAccount.objects.create(client=ctx.client, server=server, account_type=kind, login=login,
                                          currency="USD", leverage=100, status="active", platform_group=GROUP)
    fund(ctx, Decimal("750.00"))
    _to_trading_account(ctx, adapter, drifted, Decimal("500.00"))
    _to_trading_account(ctx, adapter, agreeing, Decimal("250.00"))
    # (the wallet's funding deposit is not in the sandbox's settlement report: a ledger_only case of its own)
    assert run(ctx).matched == 2 and balance_cases(ctx) == []  # books and platform agree

    adapter.balance_operation(login=drifted, amount=Decimal("100.00"), kind=BalanceKind.DEPOSIT,
                              reference="dealer-bonus-direct", first_attempt=True)
    with tenant_context(ctx.brokerage):
        assert adapter_for(server).get_account_state(drifted).balance == Decimal("600.00")
    result = run(ctx)
    [case] = balance_cases(ctx)
    assert (case.kind, case.reference, case.our_amount, case.their_amount, case.source) == (
        "balance_mismatch", str(drifted), Decimal("500.00"), Decimal("600.00"), "platform:mt5-sim")
    assert case.their_side == {"login": drifted, "balance": "600.00", "read": "live"}
    assert Decimal(case.our_side["balance"]) == Decimal("500.00")
    assert result.matched == 1  # the other account agrees with its mirror
    with tenant_context(ctx.brokerage):
        from tenant_apps.ledger.models import AccountKind, Owner
        from tenant_apps.ledger.selectors import account_balance, account_get

        mirror = account_get(kind=AccountKind.CLIENT_TRADING_MIRROR, owner=Owner.trading_account(drifted),
                             currency="USD")
        assert account_balance(account=mirror) == Decimal("500.00")  # nothing corrected silently
    run(ctx)
    assert balance_cases(ctx) == [case]  # a re-run adds nothing
