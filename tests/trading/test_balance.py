"""Balance operations: deposits, withdrawals and credit move money once per reference, even when the
answer is lost after the server applied the operation; the server's margin check is a typed rejection."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tenant_apps.trading.adapters.base import BalanceKind, BalanceOutcomeUnknown, Rejected, Unavailable
from tenant_apps.trading.adapters.mt5 import balance_comment
from tests.trading.conftest import open_account


def _deals_with_comment(sim, login: int, comment: str) -> list:
    return [d for d in sim.store.deals_by_login.get(login, []) if d.comment == comment]


def test_a_deposit_and_a_withdrawal_move_the_balance(adapter, sim):
    account = open_account(adapter)
    deposit = adapter.balance_operation(login=account.login, amount=Decimal("1000.00"), kind=BalanceKind.DEPOSIT,
                                        reference="psp:pay_1")
    assert deposit.applied_now and deposit.ticket > 0
    withdrawal = adapter.balance_operation(login=account.login, amount=Decimal("250.50"),
                                           kind=BalanceKind.WITHDRAWAL, reference="wd:1")
    assert withdrawal.applied_now and withdrawal.ticket > deposit.ticket
    state = adapter.get_account_state(account.login)
    assert state.balance == Decimal("749.50")
    assert sim.store.accounts[account.login].balance == Decimal("749.50")
    deal = sim.store.deals_by_ticket[withdrawal.ticket]
    assert (deal.action, deal.profit, deal.comment) == (2, Decimal("-250.50"), balance_comment("wd:1"))


def test_credit_is_issued_and_removed_separately_from_the_balance(adapter):
    account = open_account(adapter, deposit=Decimal("100"))
    adapter.balance_operation(login=account.login, amount=Decimal("50"), kind=BalanceKind.CREDIT, reference="cr:1")
    state = adapter.get_account_state(account.login)
    assert (state.balance, state.credit, state.equity) == (Decimal("100.00"), Decimal("50.00"), Decimal("150.00"))
    with pytest.raises(Rejected) as raised:
        adapter.balance_operation(login=account.login, amount=Decimal("60"), kind=BalanceKind.CREDIT_REMOVAL,
                                  reference="cr:2")
    assert raised.value.retcode == 10019
    adapter.balance_operation(login=account.login, amount=Decimal("50"), kind=BalanceKind.CREDIT_REMOVAL,
                              reference="cr:3")
    assert adapter.get_account_state(account.login).credit == Decimal("0.00")


def test_the_reference_travels_in_a_comment_that_fits_mt5s_31_characters():
    comment = balance_comment("psp:" + "x" * 500)
    assert comment.startswith("BRK:") and len(comment) <= 31
    assert balance_comment("a") == balance_comment("a") != balance_comment("b")


def test_repeating_a_reference_returns_the_first_deal_without_applying_again(adapter, sim):
    account = open_account(adapter)
    first = adapter.balance_operation(login=account.login, amount=Decimal("300"), kind=BalanceKind.DEPOSIT,
                                      reference="psp:pay_2")
    again = adapter.balance_operation(login=account.login, amount=Decimal("300"), kind=BalanceKind.DEPOSIT,
                                      reference="psp:pay_2")
    assert (again.ticket, again.applied_now) == (first.ticket, False)
    assert sim.store.accounts[account.login].balance == Decimal("300.00")


def test_a_reference_reused_for_another_amount_is_rejected(adapter, sim):
    account = open_account(adapter)
    adapter.balance_operation(login=account.login, amount=Decimal("300"), kind=BalanceKind.DEPOSIT, reference="r-1")
    with pytest.raises(Rejected, match="already used"):
        adapter.balance_operation(login=account.login, amount=Decimal("301"), kind=BalanceKind.DEPOSIT,
                                  reference="r-1")
    assert sim.store.accounts[account.login].balance == Decimal("300.00")


def test_a_withdrawal_beyond_free_margin_is_rejected_with_10019(adapter, sim, control):
    account = open_account(adapter, deposit=Decimal("2000"), leverage=100)
    control({"action": "set_price", "symbol": "EURUSD", "price": "1.10000"})
    control({"action": "open_position", "login": account.login, "symbol": "EURUSD", "side": "buy", "lots": "1"})
    state = adapter.get_account_state(account.login)
    assert state.margin == Decimal("1100.00")
    assert state.free_margin < Decimal("1000")
    with pytest.raises(Rejected) as raised:
        adapter.balance_operation(login=account.login, amount=Decimal("1500"), kind=BalanceKind.WITHDRAWAL,
                                  reference="wd:too-much")
    assert raised.value.retcode == 10019
    assert sim.store.accounts[account.login].balance == state.balance
    adapter.balance_operation(login=account.login, amount=Decimal("500"), kind=BalanceKind.WITHDRAWAL,
                              reference="wd:fits")
    assert sim.store.accounts[account.login].balance == state.balance - 500


def test_an_amount_over_the_server_limit_is_rejected_with_4005(adapter):
    account = open_account(adapter)
    with pytest.raises(Rejected) as raised:
        adapter.balance_operation(login=account.login, amount=Decimal("2000000000"), kind=BalanceKind.DEPOSIT,
                                  reference="huge")
    assert raised.value.retcode == 4005


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5"), Decimal("NaN"), 10.5])
def test_amounts_must_be_positive_decimals(adapter, amount):
    with pytest.raises(ValueError):
        adapter.balance_operation(login=1, amount=amount, kind=BalanceKind.DEPOSIT, reference="x")


def test_a_deposit_whose_answer_times_out_after_it_was_applied_is_never_applied_twice(make_adapter, sim, control):
    adapter = make_adapter(timeout=0.5)
    account = open_account(adapter)
    control({"mode": "timeout_after_apply", "sleep_ms": 1500, "count": 1})

    lost_answer = adapter.balance_operation(login=account.login, amount=Decimal("100"), kind=BalanceKind.DEPOSIT,
                                            reference="psp:pay_timeout")
    retry = adapter.balance_operation(login=account.login, amount=Decimal("100"), kind=BalanceKind.DEPOSIT,
                                      reference="psp:pay_timeout")

    assert lost_answer.applied_now is False  # found in the deal history after the timeout
    assert retry.applied_now is False
    assert retry.ticket == lost_answer.ticket
    assert sim.store.accounts[account.login].balance == Decimal("100.00")
    assert len(_deals_with_comment(sim, account.login, balance_comment("psp:pay_timeout"))) == 1
    assert sim.stats.snapshot()["commands"]["/api/trade/balance"] == 1


def test_a_deposit_the_server_applies_only_after_the_timeout_is_unknown_and_a_later_retry_settles_it(
        make_adapter, sim, control):
    adapter = make_adapter(timeout=0.3)
    account = open_account(adapter)
    control({"mode": "slow", "delay_ms": 1000, "paths": ["/api/trade/balance"]})

    with pytest.raises(BalanceOutcomeUnknown):
        adapter.balance_operation(login=account.login, amount=Decimal("100"), kind=BalanceKind.DEPOSIT,
                                  reference="psp:pay_late")
    # The adapter did not send it again on its own, although the history did not show it yet.
    assert sim.stats.snapshot()["commands"]["/api/trade/balance"] == 1
    time.sleep(1.2)  # the server finishes applying the first request
    control({"mode": "normal"})

    retry = adapter.balance_operation(login=account.login, amount=Decimal("100"), kind=BalanceKind.DEPOSIT,
                                      reference="psp:pay_late")
    assert retry.applied_now is False
    assert sim.store.accounts[account.login].balance == Decimal("100.00")
    assert len(_deals_with_comment(sim, account.login, balance_comment("psp:pay_late"))) == 1


def test_a_deposit_while_the_server_is_down_is_unavailable_and_nothing_is_applied(adapter, sim, control):
    account = open_account(adapter)
    control({"mode": "down"})
    with pytest.raises(Unavailable):
        adapter.balance_operation(login=account.login, amount=Decimal("100"), kind=BalanceKind.DEPOSIT,
                                  reference="psp:pay_down")
    control({"mode": "normal"})
    assert sim.store.accounts[account.login].balance == Decimal("0.00")
    result = adapter.balance_operation(login=account.login, amount=Decimal("100"), kind=BalanceKind.DEPOSIT,
                                       reference="psp:pay_down")
    assert result.applied_now is True
    assert sim.store.accounts[account.login].balance == Decimal("100.00")


def test_first_attempt_skips_the_history_lookup(adapter, sim):
    account = open_account(adapter)
    lookups = sim.stats.snapshot()["commands"].get("/api/deal/get_batch", 0)
    adapter.balance_operation(login=account.login, amount=Decimal("10"), kind=BalanceKind.DEPOSIT,
                              reference="first", first_attempt=True)
    assert sim.stats.snapshot()["commands"].get("/api/deal/get_batch", 0) == lookups
    adapter.balance_operation(login=account.login, amount=Decimal("10"), kind=BalanceKind.DEPOSIT, reference="second")
    assert sim.stats.snapshot()["commands"]["/api/deal/get_batch"] == lookups + 1
