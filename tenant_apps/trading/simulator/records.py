"""The simulator's records on the wire, shaped like the official Web API examples: every scalar a string."""
from __future__ import annotations

from decimal import Decimal

import msgspec

from tenant_apps.trading.simulator.models import (
    SYMBOLS,
    VOLUME_PER_LOT,
    Account,
    DealRec,
    Group,
    PositionRec,
    q_money,
)
from tenant_apps.trading.simulator.store import SimStore


def _money(value: Decimal, digits: int) -> str:
    return format(q_money(value, digits), "f")


def _price(value: Decimal, digits: int) -> str:
    return format(q_money(value, digits), "f")


def user_record(store: SimStore, a: Account) -> dict:
    digits = store.group_of(a).currency_digits
    return {
        "Login": str(a.login), "Group": a.group, "CertSerialNumber": "0", "Rights": str(a.rights),
        "Registration": str(a.registration), "LastAccess": str(a.last_access), "LastIP": "", "Name": a.name,
        "Company": "", "Account": "", "Country": a.country, "Language": "0", "City": a.city, "State": "",
        "ZipCode": "", "Address": a.address, "ID": a.id, "Phone": a.phone, "Email": a.email,
        "Status": a.status, "Comment": a.comment, "Color": "4278190080", "PhonePassword": "",
        "Leverage": str(a.leverage), "Agent": str(a.agent), "Balance": _money(a.balance, digits),
        "Credit": _money(a.credit, digits), "InterestRate": "0", "CommissionDaily": "0", "CommissionMonthly": "0",
        "BalancePrevDay": _money(a.balance, digits), "BalancePrevMonth": _money(a.balance, digits),
        "EquityPrevDay": _money(a.balance, digits), "EquityPrevMonth": _money(a.balance, digits),
        "LeadSource": a.lead_source, "LeadCampaign": a.lead_campaign, "MQID": "0", "ApiData": [],
    }


def account_record(store: SimStore, a: Account) -> dict:
    group = store.group_of(a)
    d = group.currency_digits
    m = store.money(a)
    return {
        "Login": str(a.login), "CurrencyDigits": str(d), "Balance": _money(m.balance, d), "Credit": _money(m.credit, d),
        "Margin": _money(m.margin, d), "MarginFree": _money(m.free_margin, d), "MarginLevel": _money(m.margin_level, 2),
        "MarginLeverage": str(a.leverage), "Profit": _money(m.profit, d), "Storage": _money(m.storage, d),
        "Commission": _money(Decimal(0), d), "Floating": _money(m.floating, d), "Equity": _money(m.equity, d),
        "SOActivation": "0", "SOTime": "0", "SOLevel": "0", "SOEquity": "0", "SOMargin": "0",
        "Assets": "0", "Liabilities": "0", "BlockedCommission": "0", "BlockedProfit": "0",
        "MarginInitial": "0", "MarginMaintenance": "0",
    }


def position_record(store: SimStore, p: PositionRec) -> dict:
    spec = SYMBOLS[p.symbol]
    account = store.accounts[p.login]
    group = store.group_of(account)
    d = group.currency_digits
    return {
        "Position": str(p.ticket), "ExternalID": "", "Login": str(p.login), "Dealer": "0", "Symbol": p.symbol,
        "Action": str(p.action), "Digits": str(spec.digits), "DigitsCurrency": str(d),
        "Reason": "0", "ContractSize": format(spec.contract_size, "f"), "TimeCreate": str(p.time_create),
        "TimeUpdate": str(p.time_create), "TimeCreateMsc": str(p.time_create_msc),
        "TimeUpdateMsc": str(p.time_create_msc), "ModifyFlags": "0",
        "PriceOpen": _price(p.price_open, spec.digits), "PriceCurrent": _price(store.prices[p.symbol], spec.digits),
        "PriceSL": "0", "PriceTP": "0", "Volume": str(p.volume),
        "VolumeExt": str(p.volume * (100_000_000 // VOLUME_PER_LOT)),
        "Profit": _money(store.position_profit(p, group.currency), d),
        "Storage": _money(store.position_storage(p, group.currency), d), "RateProfit": "1", "RateMargin": "1",
        "ExpertID": "0", "ExpertPositionID": "0", "Comment": p.comment, "ActivationMode": "0",
        "ActivationTime": "0", "ActivationPrice": "0", "ActivationFlags": "0",
    }


def deal_record(store: SimStore, deal: DealRec) -> dict:
    spec = SYMBOLS.get(deal.symbol)
    account = store.accounts.get(deal.login)
    d = store.group_of(account).currency_digits if account else 2
    digits = spec.digits if spec else 0
    return {
        "Deal": str(deal.ticket), "ExternalID": "", "Login": str(deal.login), "Dealer": "0", "Order": str(deal.order),
        "Action": str(deal.action), "Entry": str(deal.entry), "Reason": str(deal.reason), "Digits": str(digits),
        "DigitsCurrency": str(d), "ContractSize": format(spec.contract_size, "f") if spec else "0",
        "Time": str(deal.time), "TimeMsc": str(deal.time_msc), "Symbol": deal.symbol,
        "Price": _price(deal.price, digits) if spec else "0", "Volume": str(deal.volume),
        "VolumeExt": str(deal.volume * (100_000_000 // VOLUME_PER_LOT)),
        "VolumeClosed": str(deal.volume if deal.entry == 1 else 0), "Profit": _money(deal.profit, d),
        "Storage": _money(deal.storage, d), "Commission": _money(deal.commission, d), "Fee": "0",
        "RateProfit": "1", "RateMargin": "1", "ExpertID": "0", "PositionID": str(deal.position_id),
        "Comment": deal.comment, "ProfitRaw": _money(deal.profit, d), "PricePosition": "0", "PriceSL": "0",
        "PriceTP": "0", "TickValue": "0", "TickSize": "0", "Flags": "0", "Value": "0", "Gateway": "",
        "PriceGateway": "0", "ModifyFlags": "0",
    }


def deal_wire(store: SimStore, deal: DealRec) -> bytes:
    """The deal record as JSON bytes, serialised once per deal (and again only if its currency digits change)."""
    account = store.accounts.get(deal.login)
    digits = store.group_of(account).currency_digits if account else 2
    cached = deal.wire
    if cached is None or cached[0] != digits:
        cached = deal.wire = (digits, msgspec.json.encode(deal_record(store, deal)))
    return cached[1]


class RawAnswer:
    """An `answer` list whose items are already JSON (the handler joins them into the response)."""

    __slots__ = ("items",)

    def __init__(self, items: list[bytes]):
        self.items = items


def group_record(g: Group) -> dict:
    return {
        "Group": g.name, "Server": "1", "PermissionsFlags": "0", "AuthMode": "0", "AuthPasswordMin": "8",
        "Company": "BrokerOS simulator", "Currency": g.currency, "CurrencyDigits": str(g.currency_digits),
        "ReportsMode": "1", "ReportsFlags": "5", "NewsMode": "2", "MailMode": "1", "TradeFlags": "2",
        "TradeInterestrate": "0", "TradeVirtualCredit": "0", "MarginFreeMode": "1", "MarginSOMode": str(g.margin_so_mode),
        "MarginCall": format(g.margin_call, "f"), "MarginStopOut": format(g.margin_stop_out, "f"),
        "MarginMode": str(g.margin_mode), "MarginFlags": "0", "DemoLeverage": "100", "DemoDeposit": "0",
        "LimitHistory": "0", "LimitOrders": "0", "LimitSymbols": "0", "LimitPositions": "0",
        "Commissions": [],
        "Symbols": [{
            "Path": "*", "TradeMode": "4", "ExecutionMode": "2", "FillFlags": "1", "ExpirFlags": "15",
            "SpreadDiff": "0", "SpreadDiffBalance": "0", "StopsLevel": "0", "FreezeLevel": "0",
            "VolumeMin": str(g.volume_min), "VolumeMax": str(g.volume_max), "VolumeStep": str(g.volume_step),
            "VolumeLimit": "0", "MarginFlags": "0", "SwapMode": "1",
        }],
    }
