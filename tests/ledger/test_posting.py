"""Posting journal entries: balances, per-currency balance and precision, idempotency, isolation, audit."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from tenancy.context import NoTenantError
from tenant_apps.ledger.errors import (
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientAvailableBalance,
    InvalidAccount,
    InvalidAmount,
    InvalidEntry,
    LedgerErrorCode,
    UnbalancedEntry,
    UnknownCurrency,
)
from tenant_apps.ledger.models import AccountKind, JournalEntry, JournalLine, LedgerAccount, Owner
from tenant_apps.ledger.selectors import (
    account_available_balance,
    account_balance,
    account_statement,
    entries_for_object,
    trial_balance,
)
from tenant_apps.ledger.services import account_get_or_create, ledger_post, ledger_transfer
from tests.ledger.conftest import clearing, deposit, house, refreshed, wallet

D = Decimal


def test_a_deposit_credits_the_wallet_and_debits_psp_clearing(in_alpha):
    client_wallet, psp = wallet(1), clearing()
    entry = deposit(client_wallet, D("250.00"))

    assert entry.replayed is False
    assert [(line.account_id, line.amount) for line in entry.lines.all()] == [(psp.pk, D("-250.00")), (client_wallet.pk, D("250.00"))]
    assert account_balance(account=client_wallet) == D("250.00")
    assert account_balance(account=psp) == D("-250.00")
    assert list(JournalLine.objects.filter(entry=entry).values_list("amount", flat=True)) == [D("-250"), D("250")]


def test_every_line_records_its_accounts_balance_right_after_it(in_alpha):
    client_wallet, revenue = wallet(1), house()
    deposit(client_wallet, D("100.00"))
    ledger_transfer(idempotency_key="fee-1", source=client_wallet, destination=revenue, amount=D("1.25"), kind="fee.charged")
    ledger_transfer(idempotency_key="fee-2", source=client_wallet, destination=revenue, amount=D("3.00"), kind="fee.charged")

    balances = list(JournalLine.objects.filter(account=client_wallet).order_by("id").values_list("balance_after", flat=True))
    assert balances == [D("100.00"), D("98.75"), D("95.75")]


def test_an_entry_that_sums_to_zero_overall_but_not_per_currency_is_refused(in_alpha):
    usd_wallet, eur_revenue = wallet(1, "USD"), house(currency="EUR")
    deposit(usd_wallet, D("100.00"))
    with pytest.raises(UnbalancedEntry) as refused:
        ledger_post(idempotency_key="mixed", lines=[(usd_wallet, D("-50.00")), (eur_revenue, D("50.00"))],
                    kind="fx.converted")
    assert refused.value.code == LedgerErrorCode.UNBALANCED_ENTRY == "unbalanced_entry"
    assert "EUR +50.00" in refused.value.message and "USD -50.00" in refused.value.message
    assert account_balance(account=usd_wallet) == D("100.00")
    assert not JournalEntry.objects.filter(idempotency_key="mixed").exists()


def test_a_conversion_balanced_in_each_currency_is_one_entry(in_alpha):
    usd_wallet, eur_wallet = wallet(1, "USD"), wallet(1, "EUR")
    fx_usd, fx_eur = house(AccountKind.FX_CONVERSION, "USD"), house(AccountKind.FX_CONVERSION, "EUR")
    deposit(usd_wallet, D("100.00"))
    deposit(eur_wallet, D("10.00"))
    ledger_post(idempotency_key="convert-1", kind="transfer.converted", lines=[
        (usd_wallet, D("-100.00")), (fx_usd, D("100.00")), (fx_eur, D("-92.31")), (eur_wallet, D("92.31"))])
    assert account_balance(account=eur_wallet) == D("102.31")
    assert trial_balance().balanced


def test_a_line_whose_stated_currency_differs_from_its_account_is_refused(in_alpha):
    usd_wallet, psp = wallet(1, "USD"), clearing("USD")
    with pytest.raises(CurrencyMismatch) as refused:
        ledger_post(idempotency_key="eur-into-usd", kind="deposit.credited",
                    lines=[(psp, D("-10.00"), "USD"), (usd_wallet, D("10.00"), "EUR")])
    assert refused.value.code == "currency_mismatch"


def test_a_transfer_between_accounts_in_different_currencies_is_refused(in_alpha):
    usd_wallet, eur_wallet = wallet(1, "USD"), wallet(1, "EUR")
    deposit(usd_wallet, D("10.00"))
    with pytest.raises(CurrencyMismatch):
        ledger_transfer(idempotency_key="x-ccy", source=usd_wallet, destination=eur_wallet, amount=D("5.00"),
                        kind="transfer.internal")


PRECISION_CASES = [
    # (currency, amount, accepted)
    ("USD", D("10.5"), True),
    ("USD", D("10.50"), True),
    ("USD", D("0.01"), True),
    ("USD", D("0.001"), False),
    ("USD", D("10.005"), False),
    ("EUR", D("0.009"), False),
    ("JPY", D("1000"), True),
    ("JPY", D("1000.0"), True),
    ("JPY", D("1.5"), False),
    ("BTC", D("0.00000001"), True),
    ("BTC", D("0.000000001"), False),
    ("KWD", D("0.001"), True),
    ("KWD", D("0.0001"), False),
    ("USD", D("999999999999.99"), True),
    ("USD", D("1000000000000.00"), False),
    ("USD", D("0"), False),
    ("USD", D("-0.00"), False),
    ("USD", D("NaN"), False),
    ("USD", D("Infinity"), False),
    ("USD", 10.1, False),
    ("USD", 10, False),
    ("USD", "10.00", False),
]


@pytest.mark.parametrize(("currency", "amount", "accepted"), PRECISION_CASES, ids=lambda v: str(v))
def test_amounts_are_decimal_and_carry_no_digits_below_the_currencys_precision(in_alpha, currency, amount, accepted):
    source, destination = house(AccountKind.SUSPENSE, currency), house(AccountKind.BROKER_REVENUE, currency)
    opposite = -amount if isinstance(amount, Decimal | int | float) else amount

    def post():
        return ledger_post(idempotency_key=f"precision-{currency}-{amount!r}", kind="test.precision",
                           lines=[(source, opposite), (destination, amount)])

    if accepted:
        entry = post()
        assert account_balance(account=destination) == amount
        assert all(line.amount == line.amount.quantize(D(1).scaleb(-destination.decimal_places)) for line in entry.lines.all())
    else:
        with pytest.raises(InvalidAmount) as refused:
            post()
        assert refused.value.code == "invalid_amount"
        assert refreshed(destination).balance == 0


def test_an_unknown_currency_cannot_open_an_account(in_alpha):
    with pytest.raises(UnknownCurrency):
        account_get_or_create(kind=AccountKind.CLIENT_WALLET, owner=Owner.client(1), currency="XYZ")
    with pytest.raises(UnknownCurrency):
        account_get_or_create(kind=AccountKind.CLIENT_WALLET, owner=Owner.client(1), currency="usd")


@pytest.mark.parametrize(("kind", "owner"), [
    (AccountKind.CLIENT_WALLET, None),
    (AccountKind.CLIENT_WALLET, Owner.provider("stripe")),
    (AccountKind.CLIENT_TRADING_MIRROR, Owner.client(1)),
    (AccountKind.PSP_CLEARING, None),
    (AccountKind.BROKER_REVENUE, Owner.client(1)),
    (AccountKind.IB_COMMISSIONS_PAYABLE, Owner.client(1)),
    ("savings", None),
])
def test_an_account_kind_takes_only_its_kind_of_owner(in_alpha, kind, owner):
    with pytest.raises(InvalidAccount):
        account_get_or_create(kind=kind, owner=owner, currency="USD")
    assert not LedgerAccount.objects.exists()


def test_opening_an_account_twice_returns_the_same_account(in_alpha):
    first = account_get_or_create(kind=AccountKind.CLIENT_TRADING_MIRROR, owner=Owner.trading_account(700123), currency="USD")
    again = account_get_or_create(kind=AccountKind.CLIENT_TRADING_MIRROR, owner=Owner.trading_account("700123"), currency="USD")
    other_currency = account_get_or_create(kind=AccountKind.CLIENT_TRADING_MIRROR, owner=Owner.trading_account(700123),
                                           currency="EUR")
    assert first.pk == again.pk != other_currency.pk
    assert (first.balance, first.held, first.decimal_places) == (0, 0, 2)


@pytest.mark.parametrize("lines_of", [
    lambda a, b: [],
    lambda a, b: [(a, D("1.00"))],
    lambda a, b: [(a, D("-1.00")), (b,)],
    lambda a, b: [(a.pk, D("-1.00")), (b.pk, D("1.00"))],
    lambda a, b: [(LedgerAccount(kind="suspense", currency="USD", decimal_places=2), D("-1.00")), (b, D("1.00"))],
])
def test_an_entry_is_at_least_two_lines_on_saved_accounts(in_alpha, lines_of):
    a, b = house(AccountKind.SUSPENSE), house()
    with pytest.raises((InvalidEntry, InvalidAccount)):
        ledger_post(idempotency_key="malformed", kind="test.malformed", lines=lines_of(a, b))


@pytest.mark.parametrize(("key", "kind"), [("", "test.ok"), ("   ", "test.ok"), ("k" * 201, "test.ok"), (None, "test.ok"),
                                           ("ok", "Deposit"), ("ok", ""), ("ok", "deposit credited")])
def test_an_entry_needs_a_key_and_a_kind_in_the_house_format(in_alpha, key, kind):
    a, b = house(AccountKind.SUSPENSE), house()
    with pytest.raises(InvalidEntry):
        ledger_post(idempotency_key=key, kind=kind, lines=[(a, D("-1.00")), (b, D("1.00"))])


def test_a_client_wallet_cannot_be_debited_below_zero(in_alpha):
    client_wallet, payout = wallet(1), clearing()
    deposit(client_wallet, D("100.00"))
    with pytest.raises(InsufficientAvailableBalance) as refused:
        ledger_transfer(idempotency_key="too-much", source=client_wallet, destination=payout, amount=D("100.01"),
                        kind="withdrawal.paid")
    assert refused.value.code == "insufficient_available_balance"
    assert refused.value.context["available"] == D("100.00") and refused.value.context["requested"] == D("100.01")
    assert account_balance(account=client_wallet) == D("100.00")
    # A refused posting burns no key: the same key posts once the money is there.
    deposit(client_wallet, D("0.01"), key="top-up")
    entry = ledger_transfer(idempotency_key="too-much", source=client_wallet, destination=payout, amount=D("100.01"),
                            kind="withdrawal.paid")
    assert entry.replayed is False and account_balance(account=client_wallet) == D("0.00")


@pytest.mark.parametrize("kind", [AccountKind.CLIENT_WALLET, AccountKind.CLIENT_TRADING_MIRROR,
                                  AccountKind.IB_COMMISSIONS_PAYABLE])
def test_no_client_or_ib_account_can_be_overdrawn(in_alpha, kind):
    owner = {AccountKind.CLIENT_WALLET: Owner.client(5), AccountKind.CLIENT_TRADING_MIRROR: Owner.trading_account(5),
             AccountKind.IB_COMMISSIONS_PAYABLE: Owner.ib(5)}[kind]
    account = account_get_or_create(kind=kind, owner=owner, currency="USD")
    deposit(account, D("10.00"))
    with pytest.raises(InsufficientAvailableBalance):
        ledger_transfer(idempotency_key="overdraw", source=account, destination=house(), amount=D("10.01"), kind="test.overdraw")


def test_house_accounts_may_go_below_zero(in_alpha):
    adjustments, client_wallet = house(AccountKind.MANUAL_ADJUSTMENTS), wallet(1)
    ledger_transfer(idempotency_key="goodwill-1", source=adjustments, destination=client_wallet, amount=D("50.00"),
                    kind="adjustment.credited", description="Goodwill credit")
    assert account_balance(account=adjustments) == D("-50.00")


def test_a_client_account_may_dip_inside_one_entry_if_it_ends_at_or_above_zero(in_alpha):
    client_wallet, revenue = wallet(1), house()
    deposit(client_wallet, D("100.00"))
    ledger_post(idempotency_key="dip", kind="test.dip",
                lines=[(client_wallet, D("-150.00")), (client_wallet, D("60.00")), (revenue, D("90.00"))])
    assert account_balance(account=client_wallet) == D("10.00")


def test_replaying_one_posting_a_thousand_times_moves_money_once(in_alpha):
    client_wallet, psp = wallet(1), clearing()
    entries = [ledger_post(idempotency_key="psp:sandbox:evt_1", kind="deposit.credited", reference=("payments.deposit", "17"),
                           lines=[(psp, D("-75.00")), (client_wallet, D("75.00"))]) for _ in range(1000)]

    assert {entry.pk for entry in entries} == {entries[0].pk}
    assert [entry.replayed for entry in entries].count(False) == 1
    assert JournalEntry.objects.filter(idempotency_key="psp:sandbox:evt_1").count() == 1
    assert JournalLine.objects.filter(entry=entries[0]).count() == 2
    assert account_balance(account=client_wallet) == D("75.00")
    assert [e.pk for e in entries_for_object(reference=("payments.deposit", "17"))] == [entries[0].pk]


@pytest.mark.parametrize("change", ["amount", "account", "reference", "kind", "direction"])
def test_the_same_key_for_a_different_effect_is_a_conflict(in_alpha, change):
    client_wallet, other_wallet, psp = wallet(1), wallet(2), clearing()
    original = {"kind": "deposit.credited", "reference": ("payments.deposit", "1"),
                "lines": [(psp, D("-75.00")), (client_wallet, D("75.00"))]}
    ledger_post(idempotency_key="dep-1", **original)
    different = dict(original)
    if change == "amount":
        different["lines"] = [(psp, D("-75.01")), (client_wallet, D("75.01"))]
    elif change == "account":
        different["lines"] = [(psp, D("-75.00")), (other_wallet, D("75.00"))]
    elif change == "reference":
        different["reference"] = ("payments.deposit", "2")
    elif change == "kind":
        different["kind"] = "deposit.reversed"
    else:
        deposit(client_wallet, D("75.00"), key="more-money")
        different["lines"] = [(psp, D("75.00")), (client_wallet, D("-75.00"))]
    with pytest.raises(IdempotencyConflict) as refused:
        ledger_post(idempotency_key="dep-1", **different)
    assert refused.value.code == "duplicate_idempotency_key_conflict"
    assert JournalEntry.objects.filter(idempotency_key="dep-1").count() == 1
    assert account_balance(account=other_wallet) == 0


def test_a_replay_with_other_words_or_line_order_is_the_same_posting(in_alpha):
    client_wallet, psp = wallet(1), clearing()
    first = ledger_post(idempotency_key="dep-9", kind="deposit.credited", description="Card deposit",
                        lines=[(psp, D("-20.00")), (client_wallet, D("20.00"))], metadata={"attempt": 1})
    again = ledger_post(idempotency_key="dep-9", kind="deposit.credited", description="Card deposit (retry)",
                        lines=[(client_wallet, D("20.0")), (psp, D("-20"))], metadata={"attempt": 2})
    assert again.pk == first.pk and again.replayed
    assert again.description == "Card deposit" and again.metadata == {"attempt": 1}


def test_idempotency_keys_and_balances_belong_to_one_brokerage(alpha, beta):
    with tenant_context(alpha):
        alpha_entry = deposit(wallet(1), D("10.00"), key="same-key")
    with tenant_context(beta):
        beta_entry = deposit(wallet(1), D("99.00"), key="same-key")
        assert beta_entry.replayed is False
        assert account_balance(account=wallet(1)) == D("99.00")
        assert JournalEntry.objects.count() == 1
    with tenant_context(alpha):
        assert account_balance(account=wallet(1)) == D("10.00")
        assert list(JournalEntry.objects.values_list("pk", flat=True)) == [alpha_entry.pk]


def test_an_account_object_from_another_brokerage_is_refused_not_confused(alpha, beta):
    with tenant_context(alpha):
        alpha_wallet = wallet(1)
    with tenant_context(beta):
        # Beta's account under the same id is another account entirely.
        beta_revenue = LedgerAccount.objects.create(id=alpha_wallet.pk, kind=AccountKind.BROKER_REVENUE, currency="USD",
                                                    decimal_places=2)
        with pytest.raises(InvalidAccount):
            ledger_transfer(idempotency_key="cross", source=beta_revenue, destination=alpha_wallet, amount=D("1.00"),
                            kind="test.cross")
        assert account_balance(account=beta_revenue) == 0


def test_ledger_services_refuse_to_run_outside_a_brokerage(db, tenants):
    connection.set_schema_to_public()
    with pytest.raises(NoTenantError):
        account_get_or_create(kind=AccountKind.BROKER_REVENUE, owner=None, currency="USD")


def test_every_posting_is_in_the_audit_trail_with_its_lines_and_actor(in_alpha):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.identity.models import User

    admin = User.objects.get(email="admin@alpha.test")
    client_wallet, psp = wallet(42), clearing()
    entry = ledger_post(idempotency_key="audited", kind="deposit.credited", description="Card deposit",
                        lines=[(psp, D("-5.00")), (client_wallet, D("5.00"))], actor=admin)
    assert entry.created_by_id == admin.pk
    record = AuditEntry.objects.get(action="ledger.entry_posted", object_id=str(entry.pk))
    assert record.actor_id == admin.pk and record.subject_id == 42 and record.reason == "Card deposit"
    assert record.changes["lines"] == [[psp.pk, "psp_clearing", "sandbox", "USD", "-5.00"],
                                       [client_wallet.pk, "client_wallet", "42", "USD", "5.00"]]
    ledger_post(idempotency_key="audited", kind="deposit.credited", lines=[(psp, D("-5.00")), (client_wallet, D("5.00"))])
    assert AuditEntry.objects.filter(action="ledger.entry_posted", object_id=str(entry.pk)).count() == 1


def test_the_trial_balance_sums_to_zero_in_every_currency(in_alpha):
    usd, eur = wallet(1, "USD"), wallet(1, "EUR")
    deposit(usd, D("100.00"))
    deposit(eur, D("80.00"))
    ledger_transfer(idempotency_key="fee", source=usd, destination=house(AccountKind.FEES), amount=D("2.50"), kind="fee.charged")
    balance = trial_balance()
    assert balance.totals == {"EUR": 0, "USD": 0} and balance.balanced
    assert balance.by_kind["USD"] == {"client_wallet": D("97.50"), "fees": D("2.50"), "psp_clearing": D("-100.00")}


def test_an_account_statement_pages_newest_first_with_running_balances(in_alpha):
    client_wallet, revenue = wallet(1), house()
    deposit(client_wallet, D("100.00"))
    for n in range(1, 8):
        ledger_transfer(idempotency_key=f"fee-{n}", source=client_wallet, destination=revenue, amount=D(f"{n}.00"),
                        kind="fee.charged", description=f"Fee {n}")
    first = account_statement(account=client_wallet, limit=3)
    assert [line.amount for line in first.lines] == [D("-7.00"), D("-6.00"), D("-5.00")]
    assert [line.balance_after for line in first.lines] == [D("72.00"), D("79.00"), D("85.00")]
    assert first.balance_before_page == D("90.00") and first.next_before is not None
    second = account_statement(account=client_wallet, before=first.next_before, limit=3)
    third = account_statement(account=client_wallet, before=second.next_before, limit=3)
    assert [line.description for line in second.lines] == ["Fee 4", "Fee 3", "Fee 2"]
    assert [line.amount for line in third.lines] == [D("-1.00"), D("100.00")] and third.next_before is None
    assert third.balance_before_page == 0
    assert account_available_balance(account=client_wallet) == first.lines[0].balance_after


def test_postings_work_without_the_audit_app_installed(in_alpha, monkeypatch):
    from django.apps import apps

    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.ledger.services._common import audit_recorder

    installed = apps.is_installed
    monkeypatch.setattr(apps, "is_installed", lambda name: name != "tenant_apps.audit" and installed(name))
    audit_recorder.cache_clear()
    try:
        before = AuditEntry.objects.count()
        entry = deposit(wallet(1), D("1.00"))
        assert entry.replayed is False and AuditEntry.objects.count() == before
    finally:
        audit_recorder.cache_clear()
