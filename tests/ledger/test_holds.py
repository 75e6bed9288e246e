"""Holds: reserved funds leave the available balance at once; a release gives them back; a capture spends
them and closes the hold in the same transaction."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tenant_apps.ledger.errors import (
    HoldCaptureInvalid,
    HoldNotActive,
    HoldNotAllowed,
    IdempotencyConflict,
    InsufficientAvailableBalance,
)
from tenant_apps.ledger.models import AccountKind, Hold, HoldStatus, JournalEntry
from tenant_apps.ledger.selectors import (
    account_available_balance,
    account_balance,
    active_holds,
    holds_for_object,
)
from tenant_apps.ledger.services import hold_capture, hold_place, hold_release, ledger_transfer
from tests.ledger.conftest import clearing, deposit, house, refreshed, wallet

D = Decimal


@pytest.fixture
def funded(in_alpha):
    client_wallet = wallet(1)
    deposit(client_wallet, D("100.00"))
    return client_wallet


def withdrawal_hold(account, amount, key="wd-1", reference=("payments.withdrawal", "1")):
    return hold_place(account=account, amount=amount, idempotency_key=key, reason="Withdrawal request", reference=reference)


def test_a_hold_reduces_the_available_balance_but_not_the_balance(funded):
    hold = withdrawal_hold(funded, D("30.00"))
    assert (hold.status, hold.amount, hold.replayed) == (HoldStatus.ACTIVE, D("30.00"), False)
    assert account_balance(account=funded) == D("100.00")
    assert account_available_balance(account=funded) == D("70.00")
    assert [h.pk for h in holds_for_object(reference=("payments.withdrawal", "1"))] == [hold.pk]


def test_a_hold_above_the_available_balance_is_refused(funded):
    withdrawal_hold(funded, D("60.00"))
    with pytest.raises(InsufficientAvailableBalance) as refused:
        withdrawal_hold(funded, D("40.01"), key="wd-2")
    assert refused.value.code == "insufficient_available_balance"
    assert refused.value.context["available"] == D("40.00")
    assert [h.amount for h in active_holds(account=funded)] == [D("60.00")]


def test_money_on_hold_cannot_be_spent_by_a_posting(funded):
    withdrawal_hold(funded, D("60.00"))
    ledger_transfer(idempotency_key="fee-ok", source=funded, destination=house(AccountKind.FEES), amount=D("40.00"), kind="fee.charged")
    with pytest.raises(InsufficientAvailableBalance):
        ledger_transfer(idempotency_key="fee-too-much", source=funded, destination=house(AccountKind.FEES), amount=D("0.01"),
                        kind="fee.charged")
    assert (account_balance(account=funded), account_available_balance(account=funded)) == (D("60.00"), D("0.00"))


@pytest.mark.parametrize("kind", [AccountKind.PSP_CLEARING, AccountKind.BROKER_REVENUE, AccountKind.SUSPENSE])
def test_holds_are_placed_only_on_client_and_ib_money(in_alpha, kind):
    account = clearing() if kind == AccountKind.PSP_CLEARING else house(kind)
    with pytest.raises(HoldNotAllowed):
        hold_place(account=account, amount=D("1.00"), idempotency_key="h", reason="")


def test_a_hold_is_in_the_accounts_currency_and_precision(funded):
    from tenant_apps.ledger.errors import CurrencyMismatch, InvalidAmount

    with pytest.raises(CurrencyMismatch):
        hold_place(account=funded, amount=D("1.00"), idempotency_key="h", currency="EUR")
    for amount in (D("0.001"), D("0"), D("-5.00"), 5.0):
        with pytest.raises(InvalidAmount):
            hold_place(account=funded, amount=amount, idempotency_key="h")
    assert not Hold.objects.exists()


def test_placing_a_hold_again_with_its_key_returns_it_and_another_amount_is_a_conflict(funded):
    hold = withdrawal_hold(funded, D("30.00"))
    again = withdrawal_hold(funded, D("30.00"))
    assert again.pk == hold.pk and again.replayed
    with pytest.raises(IdempotencyConflict):
        withdrawal_hold(funded, D("31.00"))
    assert account_available_balance(account=funded) == D("70.00")


def test_releasing_a_hold_restores_the_available_balance_once(funded):
    hold = withdrawal_hold(funded, D("30.00"))
    released = hold_release(hold=hold, reason="Client cancelled")
    assert released.status == HoldStatus.RELEASED and released.closed_at is not None and not released.replayed
    assert account_available_balance(account=funded) == D("100.00")
    assert hold_release(hold=hold).replayed  # a second release is a no-op
    assert refreshed(funded).held == 0


def test_capturing_a_hold_posts_the_entry_and_closes_the_hold_together(funded):
    hold = withdrawal_hold(funded, D("30.00"))
    payout, fees = clearing(provider="stripe"), house(AccountKind.FEES)
    entry = hold_capture(hold=hold, idempotency_key="wd-1:paid", kind="withdrawal.paid", reference=("payments.withdrawal", "1"),
                         lines=[(funded, D("-30.00")), (payout, D("29.00")), (fees, D("1.00"))])
    hold.refresh_from_db()
    assert (hold.status, hold.captured_amount, hold.capture_entry_id) == (HoldStatus.CAPTURED, D("30.00"), entry.pk)
    assert account_balance(account=funded) == D("70.00") and account_available_balance(account=funded) == D("70.00")
    assert account_balance(account=payout) == D("29.00") and account_balance(account=fees) == D("1.00")
    again = hold_capture(hold=hold, idempotency_key="wd-1:paid", kind="withdrawal.paid", reference=("payments.withdrawal", "1"),
                         lines=[(funded, D("-30.00")), (payout, D("29.00")), (fees, D("1.00"))])
    assert again.pk == entry.pk and again.replayed
    assert JournalEntry.objects.filter(kind="withdrawal.paid").count() == 1


def test_capturing_less_than_the_hold_releases_the_rest(funded):
    hold = withdrawal_hold(funded, D("30.00"))
    hold_capture(hold=hold, idempotency_key="wd-1:paid", kind="withdrawal.paid",
                 lines=[(funded, D("-25.00")), (clearing(), D("25.00"))])
    assert account_balance(account=funded) == D("75.00") and account_available_balance(account=funded) == D("75.00")
    assert refreshed(funded).held == 0


def test_a_capture_larger_than_the_hold_is_refused_and_the_hold_stays_active(funded):
    hold = withdrawal_hold(funded, D("30.00"))
    with pytest.raises(HoldCaptureInvalid):
        hold_capture(hold=hold, idempotency_key="wd-1:paid", kind="withdrawal.paid",
                     lines=[(funded, D("-30.01")), (clearing(), D("30.01"))])
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE
    assert account_balance(account=funded) == D("100.00") and account_available_balance(account=funded) == D("70.00")


def test_a_capture_must_debit_the_held_account(funded):
    hold = withdrawal_hold(funded, D("30.00"))
    other = wallet(2)
    deposit(other, D("50.00"))
    with pytest.raises(HoldCaptureInvalid):
        hold_capture(hold=hold, idempotency_key="wrong", kind="withdrawal.paid",
                     lines=[(other, D("-30.00")), (clearing(), D("30.00"))])


def test_a_released_hold_cannot_be_captured_nor_a_captured_one_released(funded):
    released = withdrawal_hold(funded, D("10.00"), key="a")
    hold_release(hold=released)
    with pytest.raises(HoldNotActive) as refused:
        hold_capture(hold=released, idempotency_key="a:paid", kind="withdrawal.paid",
                     lines=[(funded, D("-10.00")), (clearing(), D("10.00"))])
    assert refused.value.code == "hold_not_active"
    captured = withdrawal_hold(funded, D("10.00"), key="b")
    hold_capture(hold=captured, idempotency_key="b:paid", kind="withdrawal.paid",
                 lines=[(funded, D("-10.00")), (clearing(), D("10.00"))])
    with pytest.raises(HoldNotActive):
        hold_release(hold=captured)
    with pytest.raises(HoldNotActive):  # a second capture under a new key would pay twice
        hold_capture(hold=captured, idempotency_key="b:paid-again", kind="withdrawal.paid",
                     lines=[(funded, D("-10.00")), (clearing(), D("10.00"))])
    assert account_balance(account=funded) == D("90.00")


def test_a_capture_spends_its_own_hold_even_when_other_holds_take_the_rest(funded):
    first, second = withdrawal_hold(funded, D("60.00"), key="a"), withdrawal_hold(funded, D("40.00"), key="b")
    assert account_available_balance(account=funded) == 0
    hold_capture(hold=first, idempotency_key="a:paid", kind="withdrawal.paid", lines=[(funded, D("-60.00")), (clearing(), D("60.00"))])
    assert (account_balance(account=funded), account_available_balance(account=funded)) == (D("40.00"), D("0.00"))
    assert [h.pk for h in active_holds(account=funded)] == [second.pk]


def test_hold_changes_are_in_the_audit_trail(funded):
    from tenant_apps.audit.models import AuditEntry

    hold = withdrawal_hold(funded, D("10.00"))
    hold_release(hold=hold, reason="Client cancelled")
    actions = list(AuditEntry.objects.filter(object_type="ledger.hold", object_id=str(hold.pk))
                   .order_by("seq").values_list("action", "reason"))
    assert actions == [("ledger.hold_placed", "Withdrawal request"), ("ledger.hold_released", "Client cancelled")]
