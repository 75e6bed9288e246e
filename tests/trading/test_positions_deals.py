"""Positions, deals and account state: MT5 volume units, Decimal money, deal paging (≤ 100 per page),
incremental reading with a cursor, and live data from the simulator's random trading."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tenant_apps.trading.adapters.base import BalanceKind, DealAction, DealCursor, DealEntry, Side
from tests.trading.conftest import GROUP, LONG_AGO, open_account


def _read_all(adapter, **selector) -> tuple[list, int]:
    deals, calls, cursor = [], 0, None
    while True:
        page = adapter.list_deals_since(cursor=cursor, from_time=LONG_AGO, **selector)
        deals += page.deals
        cursor, calls = page.cursor, calls + 1
        if not page.has_more:
            return deals, calls


def test_volume_counts_ten_thousandths_of_a_lot(adapter, sim, control):
    account = open_account(adapter, deposit=Decimal("50000"))
    control({"action": "open_position", "login": account.login, "symbol": "EURUSD", "side": "buy", "volume": 10000})
    control({"action": "open_position", "login": account.login, "symbol": "XAUUSD", "side": "sell", "volume": 100})
    positions = sorted(adapter.list_positions(logins=[account.login]), key=lambda p: p.ticket)
    assert [p.volume_lots for p in positions] == [Decimal("1"), Decimal("0.01")]
    assert [p.side for p in positions] == [Side.BUY, Side.SELL]
    assert [sim.store.positions[p.ticket].volume for p in positions] == [10000, 100]
    opening = [d for d in adapter.list_deals_since(logins=[account.login], from_time=LONG_AGO).deals if d.is_trade]
    assert [d.volume_lots for d in opening] == [Decimal("1"), Decimal("0.01")]
    assert all(d.entry == DealEntry.IN for d in opening)


def test_account_state_follows_open_positions_in_decimals(adapter, control):
    account = open_account(adapter, deposit=Decimal("10000"), leverage=100)
    control({"action": "set_price", "symbol": "EURUSD", "price": "1.08000"})
    control({"action": "open_position", "login": account.login, "symbol": "EURUSD", "side": "buy", "lots": "1"})
    control({"action": "set_price", "symbol": "EURUSD", "price": "1.08100"})
    state = adapter.get_account_state(account.login)
    assert state.balance == Decimal("9996.50")  # 3.50 commission on the way in
    assert state.floating_profit == Decimal("100.00")
    assert state.equity == Decimal("10096.50")
    assert state.margin == Decimal("1081.00")
    assert state.free_margin == state.equity - state.margin
    assert state.margin_level == Decimal("934.00")  # 10096.50 / 1081.00 × 100
    assert all(isinstance(v, Decimal) for v in (state.balance, state.equity, state.margin, state.margin_level))
    [position] = adapter.list_positions(logins=[account.login])
    assert (position.price_open, position.price_current, position.profit) == (
        Decimal("1.08000"), Decimal("1.08100"), Decimal("100.00"))


def test_states_of_many_accounts_come_in_one_call_with_idle_accounts_filled_in(adapter, control):
    busy = open_account(adapter, deposit=Decimal("1000"))
    idle = open_account(adapter)
    states = adapter.list_account_states([busy.login, idle.login, 999999])
    assert set(states) == {busy.login, idle.login}
    assert states[busy.login].balance == Decimal("1000.00")
    assert states[idle.login].equity == Decimal("0")


def test_deals_of_one_account_are_read_in_pages_of_at_most_100(adapter, sim, control):
    account = open_account(adapter, deposit=Decimal("100000"))
    made = control({"action": "generate_history", "logins": [account.login], "deals_per_login": 260})["deals"]
    assert made == 260

    page = adapter.list_deals_since(logins=[account.login], from_time=LONG_AGO, limit=5000)

    assert len(page.deals) == 261  # and the deposit
    assert [d.ticket for d in page.deals] == sorted({d.ticket for d in page.deals})
    assert page.has_more is False
    stats = sim.stats.snapshot()
    assert stats["max_page_total"] <= 100
    assert stats["commands"]["/api/deal/get_page"] >= 3


def test_reading_deals_with_a_limit_resumes_from_the_cursor_without_gaps_or_repeats(adapter, sim, control):
    # History first, as on a real server: tickets grow with deal time (the cursor relies on it).
    account = open_account(adapter)
    control({"action": "generate_history", "logins": [account.login], "deals_per_login": 260})
    tickets, pages, cursor = [], [], None
    while True:
        page = adapter.list_deals_since(logins=[account.login], cursor=cursor, from_time=LONG_AGO, limit=100)
        tickets += [d.ticket for d in page.deals]
        pages.append(len(page.deals))
        cursor = DealCursor.from_token(page.cursor.token)  # as stored between runs
        if not page.has_more:
            break
    assert pages == [100, 100, 60]
    assert sorted(tickets) == sorted(d.ticket for d in sim.store.deals_by_login[account.login])
    assert len(tickets) == len(set(tickets))

    # Later: only what is new comes back.
    adapter.balance_operation(login=account.login, amount=Decimal("5"), kind=BalanceKind.DEPOSIT, reference="late")
    newer = adapter.list_deals_since(logins=[account.login], cursor=cursor)
    assert [d.action for d in newer.deals] == [DealAction.BALANCE]
    assert newer.deals[0].ticket > max(tickets)
    assert adapter.list_deals_since(logins=[account.login], cursor=newer.cursor).deals == ()


def test_deals_of_a_group_are_read_window_by_window_up_to_now(make_adapter, sim, control):
    adapter = make_adapter(deal_window=timedelta(days=3))
    logins = [open_account(adapter).login for _ in range(3)]
    control({"action": "generate_history", "logins": logins, "deals_per_login": 40,
             "from": int(time.time()) - 20 * 86400, "to": int(time.time())})
    deals, calls = _read_all(adapter, group="real\\*")
    expected = {d.ticket for login in logins for d in sim.store.deals_by_login[login]}
    assert {d.ticket for d in deals} == expected
    assert len(deals) == len(expected) == 3 * 40
    assert calls > 5  # 90 days back in 3-day windows until the recent stretch
    by_logins, _ = _read_all(adapter, logins=logins)
    assert {d.ticket for d in by_logins} == expected


def test_deal_times_are_timezone_aware_utc(adapter):
    account = open_account(adapter, deposit=Decimal("10"))
    [deal] = adapter.list_deals_since(logins=[account.login], from_time=LONG_AGO).deals
    assert deal.time.tzinfo is not None
    assert abs(deal.time - datetime.now(UTC)) < timedelta(minutes=1)


def test_random_client_trading_produces_deals_with_profit_commission_and_swap(make_adapter, sim, control):
    sim.store.rollover_s = 0.5  # a rollover every half second, so swaps show up in a short test
    adapter = make_adapter()
    logins = [open_account(adapter, deposit=Decimal("10000")).login for _ in range(8)]
    control({"action": "trading", "enabled": True, "activity": 0.5})
    for _ in range(6):
        control({"action": "step", "count": 15})
        time.sleep(0.1)

    deals, _ = _read_all(adapter, group=GROUP)
    trades = [d for d in deals if d.is_trade]
    closes = [d for d in trades if d.entry == DealEntry.OUT]
    assert len(trades) > 20 and closes
    assert all(d.commission < 0 for d in trades)
    assert any(d.profit != 0 for d in closes)
    assert any(d.swap != 0 for d in closes)
    assert all(d.volume_lots > 0 and d.price > 0 and d.symbol for d in trades)
    # Money adds up: each balance is its deposits plus every deal's profit, commission and swap.
    for login in logins:
        total = sum((d.profit + d.commission + d.swap for d in deals if d.login == login), Decimal(0))
        assert adapter.get_account(login).balance == total


def test_trading_blocked_accounts_are_left_alone_by_the_trading_generator(adapter, sim, control):
    blocked = open_account(adapter, deposit=Decimal("10000"))
    adapter.set_trading_blocked(blocked.login, True)
    control({"action": "trading", "enabled": True, "activity": 1.0})
    control({"action": "step", "count": 20})
    assert [d for d in sim.store.deals_by_login[blocked.login] if d.action in (0, 1)] == []
