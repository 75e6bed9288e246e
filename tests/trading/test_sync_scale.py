"""The sync at scale: user records read in batches for the drift check (/api/user/get_batch, with a fallback for
servers without it), and the bulk deal path (wire → DealRow → COPY) agreeing with the typed one."""
from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from tenant_apps.trading.adapters.base import deal_from_row
from tenant_apps.trading.adapters.mt5 import protocol as proto
from tenant_apps.trading.adapters.mt5 import records
from tenant_apps.trading.simulator import handler
from tests.trading.conftest import GROUP, LONG_AGO, open_account
from tests.trading.test_trading_accounts import alpha, sim_config  # noqa: F401 (fixtures)


def test_user_records_of_many_logins_come_in_one_request_per_hundred(adapter, sim):
    logins = [open_account(adapter, name=f"Batch {i}").login for i in range(120)]
    before = dict(sim.stats.commands)
    found = adapter.list_accounts([*logins, 999_999])  # an unknown login is simply absent
    calls = {k: v - before.get(k, 0) for k, v in sim.stats.commands.items()}
    assert set(found) == set(logins) and found[logins[0]].group == GROUP
    assert calls.get("/api/user/get_batch") == 2 and not calls.get("/api/user/get")


def test_a_server_without_user_get_batch_is_read_one_record_at_a_time(adapter, sim, monkeypatch):
    logins = [open_account(adapter).login for _ in range(3)]
    monkeypatch.delitem(handler.ROUTES, "/api/user/get_batch")  # an older server: HTTP 404
    assert set(adapter.list_accounts(logins)) == set(logins)
    assert set(adapter.list_accounts(logins)) == set(logins)  # remembered: no second 404
    assert sim.stats.commands.get("/api/user/get_batch") == 1


def test_the_drift_check_of_many_accounts_reads_user_records_in_batches(alpha, sim, make_adapter, control):  # noqa: F811
    from tenant_apps.brokerage.models import AccountType
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.trading.models import AccountStatus, DriftReport, TradingAccount
    from tenant_apps.trading.services import server_sync

    creator = make_adapter()
    standard = AccountType.objects.get(code="standard")
    client = User.objects.create_user(email="many@alpha.test", kind=UserKind.CLIENT)
    logins = [creator.create_account(group=standard.platform_group, leverage=standard.default_leverage, name="Many",
                                     email="many@alpha.test", password_main="Many-Pass1!", password_investor="Inv-Pass1!",
                                     login=7_100_000 + i).login for i in range(150)]
    TradingAccount.objects.bulk_create([
        TradingAccount(client=client, server=alpha, account_type=standard, login=login, currency=standard.currency,
                       leverage=standard.default_leverage, platform_group=standard.platform_group,
                       status=AccountStatus.ACTIVE) for login in logins])
    control({"action": "edit_account", "login": logins[77], "leverage": 500})  # behind the platform's back

    before = dict(sim.stats.commands)
    result = server_sync(server_id=alpha.pk, force=True, deals=False)
    calls = {k: v - before.get(k, 0) for k, v in sim.stats.commands.items()}
    assert result.ok and result.accounts == 150 and result.drift == 1
    assert calls.get("/api/user/get_batch", 0) <= 4 and not calls.get("/api/user/get")
    [report] = DriftReport.objects.filter(resolved=False)
    assert report.account.login == logins[77] and report.server_value == "500"


def test_deal_rows_and_typed_deals_agree(adapter, sim, control):
    account = open_account(adapter)  # history first, as its note says (its tickets follow later deals')
    control({"action": "generate_history", "logins": [account.login], "deals_per_login": 40})

    def read_all(method, items: str):
        got, kwargs = [], {"from_time": LONG_AGO}
        while True:
            page = method(group="*", limit=25, **kwargs)
            got += getattr(page, items)
            if not page.has_more:
                return got, page.cursor
            kwargs = {"cursor": page.cursor}

    typed, typed_cursor = read_all(adapter.list_deals_since, "deals")
    rows, rows_cursor = read_all(adapter.list_deal_rows_since, "rows")
    assert typed_cursor == rows_cursor and len(typed) == len(rows) == 40
    assert [deal_from_row(r) for r in rows] == typed
    assert sorted(d.ticket for d in typed) == [d.ticket for d in typed]
    assert all(d.side is not None and d.volume_lots > 0 for d in typed)


RECORD = {"Deal": "5", "Login": "7000001", "Time": "1763000000", "Symbol": "EURUSD", "Action": "1", "Entry": "0",
          "Volume": "2500", "Price": "1.08523", "Profit": "0.00", "Commission": "-0.88", "Storage": "0.00",
          "PositionID": "4", "Comment": "", "Order": "4", "VolumeExt": "25000000", "Gateway": ""}


def test_a_record_outside_the_fast_shape_takes_the_checked_path_with_the_same_result():
    fast = records.decode_deal_answer(msgspec.json.encode({"retcode": "0 Done", "answer": [RECORD]}))
    numbers = dict(RECORD, Price=1.08523, Volume=2500, Deal=5)  # JSON numbers instead of strings
    slow = records.decode_deal_answer(msgspec.json.encode({"retcode": "0 Done", "answer": [numbers]}))
    assert isinstance(slow["answer"][0], dict)
    [a], [b] = records.deal_rows(fast["answer"], 0), records.deal_rows(slow["answer"], 0)
    assert deal_from_row(a) == deal_from_row(b)
    assert deal_from_row(a).volume_lots == Decimal("0.25") and deal_from_row(a).price == Decimal("1.08523")


@pytest.mark.parametrize("bad", [{"Price": "1.0.5"}, {"Profit": "NaN"}, {"Volume": "-5"}, {"Deal": "x"}])
def test_a_malformed_deal_record_is_refused_not_stored(bad):
    body = msgspec.json.encode({"retcode": "0 Done", "answer": [dict(RECORD, **bad)]})
    with pytest.raises(proto.MalformedResponse):
        records.deal_rows(records.decode_deal_answer(body)["answer"], 0)


def test_ingesting_rows_stores_each_ticket_once_also_when_a_page_overlaps_what_is_stored(alpha):  # noqa: F811
    from tenant_apps.trading.adapters.base import DealRow
    from tenant_apps.trading.models import Deal
    from tenant_apps.trading.services import deals_ingest

    def row(ticket: int, comment: str = "") -> DealRow:
        return DealRow(ticket=ticket, login=7_000_001, time=1_763_000_000 + ticket, symbol="EURUSD", action=0,
                       entry=0, volume=12_345, price="1.08523", profit="-0.50", commission="-0.88", swap="0.00",
                       position_id=ticket, comment=comment, order=ticket)

    assert deals_ingest(server_id=alpha.pk, rows=[row(1), row(2), row(3, "tab\there\\")]) == 3  # the COPY path
    assert deals_ingest(server_id=alpha.pk, rows=[row(2), row(3), row(4), row(5)]) == 2  # overlap: only new ones
    assert deals_ingest(server_id=alpha.pk, rows=[row(4)]) == 0
    stored = {d.ticket: d for d in Deal.objects.filter(server=alpha)}
    assert sorted(stored) == [1, 2, 3, 4, 5]
    three = stored[3]
    assert three.comment == "tab here\\" and three.volume_lots == Decimal("1.2345") and three.side == "buy"
    assert three.price == Decimal("1.08523") and three.commission == Decimal("-0.88")
    assert int(three.time.timestamp()) == 1_763_000_003
