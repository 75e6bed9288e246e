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



def test_a_platform_balance_that_differs_from_the_ledger_mirror_is_a_balance_mismatch(money, monkeypatch):
    from types import SimpleNamespace

    from tenant_apps.ledger.models import AccountKind, Owner
    from tenant_apps.ledger.services import account_get_or_create
    from tenant_apps.trading import services as trading_services
    from tenant_apps.trading.models import AccountType, TradingAccount, TradingServerConfig

    ctx = money["alpha"]
    platform = {70001: Decimal("500.00"), 70002: Decimal("0.00")}
    monkeypatch.setattr(trading_services, "adapter_for", lambda server: SimpleNamespace(
        get_account_state=lambda login: SimpleNamespace(balance=platform[login])))
    with tenant_context(ctx.brokerage):
        server, kind = TradingServerConfig.objects.first(), AccountType.objects.first()
        for login in platform:
            TradingAccount.objects.create(client=ctx.client, server=server, account_type=kind, login=login,
                                          currency="USD", leverage=100, status="active", platform_group="real")
            account_get_or_create(kind=AccountKind.CLIENT_TRADING_MIRROR, owner=Owner.trading_account(login),
                                  currency="USD")  # a mirror at 0.00
    result = run(ctx)
    [case] = cases(ctx)
    assert (case.kind, case.reference, case.our_amount, case.their_amount) == (
        "balance_mismatch", "70001", Decimal("0.00"), Decimal("500.00"))
    assert result.matched == 1  # 70002 agrees with its mirror
    assert run(ctx).discrepancies == [] and len(cases(ctx)) == 1
