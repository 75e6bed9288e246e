"""Accounts on the server: create, read, leverage and group changes, trading blocked through the Rights
bitmask (read-modify-write), changes made directly on the server, and group names that need escaping."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tenant_apps.trading.adapters.base import NotFound, Rejected, Rights
from tenant_apps.trading.adapters.mt5 import protocol as proto
from tenant_apps.trading.simulator.handler import parse_query
from tenant_apps.trading.simulator.models import SimError
from tests.trading.conftest import CLIENT_PASSWORD, GROUP, open_account


def test_a_created_account_can_be_read_back(adapter, sim):
    created = adapter.create_account(group=GROUP, leverage=100, name="Ana Client", email="ana@client.test",
                                     password_main=CLIENT_PASSWORD, password_investor="Investor-Pass1!",
                                     currency="USD")
    assert created.login > 0
    read = adapter.get_account(created.login)
    assert (read.group, read.leverage, read.name, read.email) == (GROUP, 100, "Ana Client", "ana@client.test")
    assert read.login_enabled and not read.trading_blocked
    assert read.registration is not None and read.registration.tzinfo is not None
    assert sim.store.accounts[created.login].group == GROUP


def test_an_account_can_be_created_with_a_login_chosen_by_the_platform_and_not_twice(adapter):
    account = adapter.create_account(group=GROUP, leverage=50, name="B", email="b@client.test",
                                     password_main=CLIENT_PASSWORD, password_investor="Investor-Pass1!", login=777001)
    assert account.login == 777001
    with pytest.raises(Rejected) as raised:
        adapter.create_account(group=GROUP, leverage=50, name="B", email="b@client.test",
                               password_main=CLIENT_PASSWORD, password_investor="Investor-Pass1!", login=777001)
    assert raised.value.retcode == 3004


def test_creating_an_account_in_a_group_of_another_currency_is_rejected_before_anything_is_sent(adapter, sim):
    with pytest.raises(Rejected, match="EUR"):
        adapter.create_account(group="real\\forex-eur", leverage=30, name="C", email="c@client.test",
                               password_main=CLIENT_PASSWORD, password_investor="Investor-Pass1!", currency="USD")
    assert sim.store.accounts == {}


def test_a_weak_password_is_rejected_with_retcode_3006(adapter):
    with pytest.raises(Rejected) as raised:
        adapter.create_account(group=GROUP, leverage=100, name="D", email="d@client.test",
                               password_main="password", password_investor="Investor-Pass1!")
    assert raised.value.retcode == 3006


def test_passwords_never_travel_in_the_url(adapter, sim, monkeypatch):
    seen: list[str] = []
    original = type(adapter)._send

    def spy(self, path, params, body=None, *rest):
        seen.append(proto.build_query(params))
        return original(self, path, params, body, *rest)

    monkeypatch.setattr(type(adapter), "_send", spy)
    open_account(adapter)
    assert seen and not any(CLIENT_PASSWORD in q or "Investor-Pass1" in q for q in seen)


def test_an_unknown_login_is_not_found(adapter):
    with pytest.raises(NotFound):
        adapter.get_account(424242)
    with pytest.raises(NotFound):
        adapter.get_account_state(424242)


def test_leverage_and_group_changes_reach_the_server(adapter, sim):
    account = open_account(adapter)
    assert adapter.change_leverage(account.login, 30).leverage == 30
    assert adapter.change_group(account.login, "demo\\forex-usd").group == "demo\\forex-usd"
    on_server = sim.store.accounts[account.login]
    assert (on_server.leverage, on_server.group) == (30, "demo\\forex-usd")


def test_a_leverage_the_server_silently_ignores_is_reported_as_rejected(adapter, sim):
    account = open_account(adapter, leverage=100)
    with pytest.raises(Rejected, match="unchanged"):
        adapter.change_leverage(account.login, 1000)
    assert sim.store.accounts[account.login].leverage == 100


def test_a_move_to_a_missing_group_is_reported_as_rejected(adapter, sim):
    account = open_account(adapter)
    with pytest.raises(Rejected):
        adapter.change_group(account.login, "real\\no-such-group")
    assert sim.store.accounts[account.login].group == GROUP


def test_blocking_trading_sets_only_the_trade_disabled_bit_and_unblocking_clears_only_it(adapter, sim, control):
    account = open_account(adapter)
    # Rights the platform never set itself (e.g. by the dealer): they must survive.
    control({"action": "edit_account", "login": account.login, "set_rights": int(Rights.OTP | Rights.REPORTS)})
    before = sim.store.accounts[account.login].rights

    blocked = adapter.set_trading_blocked(account.login, True)
    assert blocked.trading_blocked
    assert sim.store.accounts[account.login].rights == before | Rights.TRADE_DISABLED

    unblocked = adapter.set_trading_blocked(account.login, False)
    assert not unblocked.trading_blocked
    assert sim.store.accounts[account.login].rights == before


def test_blocking_an_already_blocked_account_sends_no_update(adapter, sim):
    account = open_account(adapter)
    adapter.set_trading_blocked(account.login, True)
    updates = sim.stats.snapshot()["commands"]["/api/user/update"]
    adapter.set_trading_blocked(account.login, True)
    assert sim.stats.snapshot()["commands"]["/api/user/update"] == updates


def test_disabling_login_clears_only_the_enabled_bit(adapter, sim):
    account = open_account(adapter)
    before = sim.store.accounts[account.login].rights
    assert not adapter.set_login_enabled(account.login, False).login_enabled
    assert sim.store.accounts[account.login].rights == before & ~Rights.ENABLED


def test_a_trading_blocked_account_cannot_open_positions_on_the_simulator(adapter, sim):
    account = open_account(adapter, deposit=Decimal("1000"))
    adapter.set_trading_blocked(account.login, True)
    with pytest.raises(SimError) as raised:
        sim.store.open_position(account.login, "EURUSD", 0, 100)
    assert raised.value.retcode == 10017


def test_changes_made_directly_on_the_server_are_what_the_adapter_reads(adapter, control):
    account = open_account(adapter, leverage=100)
    control({"action": "edit_account", "login": account.login, "leverage": 500,
             "set_rights": int(Rights.TRADE_DISABLED)})
    read = adapter.get_account(account.login)
    assert read.leverage == 500
    assert read.trading_blocked


ODD_GROUP = "real\\pro=vip|a b"


def test_a_group_name_with_backslash_equals_pipe_and_space_reaches_the_server_intact(adapter, control, sim):
    control({"action": "group_upsert", "group": {"Group": ODD_GROUP, "Currency": "USD"}})
    assert adapter.get_group(ODD_GROUP).name == ODD_GROUP
    account = open_account(adapter, group=ODD_GROUP)
    assert adapter.get_account(account.login).group == ODD_GROUP
    assert sim.store.accounts[account.login].group == ODD_GROUP
    assert [g.name for g in adapter.list_groups("real\\pro*")] == [ODD_GROUP]


def test_an_unescaped_backslash_does_not_reach_the_simulator_as_sent(adapter, sim):
    """The check above can fail: the simulator reads `\\f` as an escaped `f`, as MT5 would."""
    adapter.connect()
    payload = adapter._call("/api/group/get", {"mask": "*"})
    assert payload["retcode"].startswith("0")
    assert parse_query("group=real\\forex-usd")["group"] == "realforex-usd"
    assert parse_query("group=" + proto.escape_query_value("real\\forex-usd"))["group"] == "real\\forex-usd"


def test_group_configuration_is_read_with_volumes_in_lots(adapter):
    group = adapter.get_group(GROUP)
    assert (group.currency, group.currency_digits) == ("USD", 2)
    assert group.margin_stop_out > 0
    assert group.symbols[0].volume_min_lots == Decimal("0.01")
    with pytest.raises(NotFound):
        adapter.get_group("real\\nothing-here")
