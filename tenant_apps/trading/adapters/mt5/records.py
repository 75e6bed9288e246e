"""MT5 Web API records → our typed values: every scalar parsed from its string, volumes in lots, times in UTC."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from tenant_apps.trading.adapters.base import (
    AccountInfo,
    AccountState,
    Deal,
    DealAction,
    DealRow,
    GroupInfo,
    GroupSymbol,
    Position,
    Side,
)
from tenant_apps.trading.adapters.mt5 import protocol as proto

# Server clock (epoch seconds) → aware UTC datetime; the session knows the server's offset.
ToUTC = Callable[[int], datetime]


def account_info(rec: dict, utc: ToUTC) -> AccountInfo:
    registration = proto.to_int(rec.get("Registration"))
    return AccountInfo(
        login=proto.to_int(rec.get("Login")), group=str(rec.get("Group") or ""), name=str(rec.get("Name") or ""),
        email=str(rec.get("Email") or ""), leverage=proto.to_int(rec.get("Leverage")),
        rights=proto.to_int(rec.get("Rights")), balance=proto.to_decimal(rec.get("Balance")),
        credit=proto.to_decimal(rec.get("Credit")),
        registration=utc(registration) if registration else None, comment=str(rec.get("Comment") or ""),
    )


def account_state(rec: dict) -> AccountState:
    floating = rec.get("Floating")
    return AccountState(
        login=proto.to_int(rec.get("Login")), balance=proto.to_decimal(rec.get("Balance")),
        credit=proto.to_decimal(rec.get("Credit")), equity=proto.to_decimal(rec.get("Equity")),
        margin=proto.to_decimal(rec.get("Margin")), free_margin=proto.to_decimal(rec.get("MarginFree")),
        margin_level=proto.to_decimal(rec.get("MarginLevel")),
        floating_profit=proto.to_decimal(floating) if floating not in (None, "")
        else proto.to_decimal(rec.get("Profit")) + proto.to_decimal(rec.get("Storage")),
    )


def idle_state(info: AccountInfo) -> AccountState:
    """The state of an account the server keeps no trading state for: nothing open, nothing floating."""
    equity = info.balance + info.credit
    return AccountState(login=info.login, balance=info.balance, credit=info.credit, equity=equity,
                        margin=Decimal(0), free_margin=equity, margin_level=Decimal(0), floating_profit=Decimal(0))


def position(rec: dict, utc: ToUTC) -> Position:
    return Position(
        ticket=proto.to_int(rec.get("Position")), login=proto.to_int(rec.get("Login")),
        symbol=str(rec.get("Symbol") or ""),
        side=Side.BUY if proto.to_int(rec.get("Action")) == 0 else Side.SELL,
        volume_lots=proto.volume_to_lots(rec.get("Volume")), price_open=proto.to_decimal(rec.get("PriceOpen")),
        price_current=proto.to_decimal(rec.get("PriceCurrent")), stop_loss=proto.to_decimal(rec.get("PriceSL")),
        take_profit=proto.to_decimal(rec.get("PriceTP")), profit=proto.to_decimal(rec.get("Profit")),
        swap=proto.to_decimal(rec.get("Storage")), time_create=utc(proto.to_int(rec.get("TimeCreate"))),
        comment=str(rec.get("Comment") or ""),
    )


def deal(rec: dict, utc: ToUTC) -> Deal:
    action = proto.to_int(rec.get("Action"))
    return Deal(
        ticket=proto.to_int(rec.get("Deal")), login=proto.to_int(rec.get("Login")),
        time=utc(proto.to_int(rec.get("Time"))), symbol=str(rec.get("Symbol") or ""),
        side=Side.BUY if action == DealAction.BUY else Side.SELL if action == DealAction.SELL else None,
        volume_lots=proto.volume_to_lots(rec.get("Volume")), price=proto.to_decimal(rec.get("Price")),
        profit=proto.to_decimal(rec.get("Profit")), commission=proto.to_decimal(rec.get("Commission")),
        swap=proto.to_decimal(rec.get("Storage")), action=action, entry=proto.to_int(rec.get("Entry")),
        comment=str(rec.get("Comment") or ""), order=proto.to_int(rec.get("Order")),
        position_id=proto.to_int(rec.get("PositionID")),
    )


_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _number(value) -> str:
    """A decimal as a plain string: the wire's own text when it already is one (the common case, no Decimal
    built), otherwise parsed and checked like every other scalar."""
    if type(value) is str and _PLAIN_NUMBER.fullmatch(value):
        return value
    return format(proto.to_decimal(value), "f")


def _integer(value) -> int:
    if type(value) is str:
        try:
            return int(value)
        except ValueError:
            pass
    return proto.to_int(value)


def deal_row(rec: dict, offset_s: int) -> DealRow:
    """A deal record → `DealRow` (times moved from the server clock to UTC by `offset_s`)."""
    get = rec.get
    volume = _integer(get("Volume"))
    if volume < 0:
        raise proto.MalformedResponse(f"negative deal volume: {volume}")
    return DealRow(
        _integer(get("Deal")), _integer(get("Login")), _integer(get("Time")) - offset_s, str(get("Symbol") or ""),
        _integer(get("Action")), _integer(get("Entry")), volume, _number(get("Price")), _number(get("Profit")),
        _number(get("Commission")), _number(get("Storage")), _integer(get("PositionID")),
        str(get("Comment") or ""), _integer(get("Order")),
    )


PlainNumber = Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]+(\.[0-9]+)?$")]


class WireDeal(msgspec.Struct, gc=False):
    """The fields of an MT5 deal record the sync stores, decoded and validated in C (the other ~25 fields of
    the record are skipped unread). Integers come as strings and are converted; money and prices stay plain
    decimal strings. Attribute names are `DealRow`'s, so it serves as one."""

    ticket: int = msgspec.field(name="Deal")
    login: int = msgspec.field(name="Login")
    time: int = msgspec.field(name="Time")
    symbol: str = msgspec.field(default="", name="Symbol")
    action: int = msgspec.field(default=0, name="Action")
    entry: int = msgspec.field(default=0, name="Entry")
    volume: Annotated[int, msgspec.Meta(ge=0)] = msgspec.field(default=0, name="Volume")
    price: PlainNumber = msgspec.field(default="0", name="Price")
    profit: PlainNumber = msgspec.field(default="0", name="Profit")
    commission: PlainNumber = msgspec.field(default="0", name="Commission")
    swap: PlainNumber = msgspec.field(default="0", name="Storage")
    position_id: int = msgspec.field(default=0, name="PositionID")
    comment: str = msgspec.field(default="", name="Comment")
    order: int = msgspec.field(default=0, name="Order")


class _DealAnswer(msgspec.Struct):
    retcode: str | int = ""
    answer: list[WireDeal] | WireDeal | None = None


_deal_answer = msgspec.json.Decoder(_DealAnswer, strict=False)


def decode_deal_answer(content: bytes) -> dict[str, Any]:
    """A deal command's response → {"retcode", "answer": [WireDeal, …]}. A record outside the fast shape
    (numbers as JSON numbers, exponents, a missing ticket) sends the whole answer down the generic path:
    plain dicts, parsed by `deal_row` with its own checks."""
    try:
        decoded = _deal_answer.decode(content)
    except msgspec.ValidationError:
        return msgspec.json.decode(content)
    answer = decoded.answer
    return {"retcode": decoded.retcode, "answer": [answer] if isinstance(answer, WireDeal) else answer}


def deal_rows(items: list, offset_s: int) -> list:
    """Answer items (WireDeal from the fast path, dicts from the generic one) → rows with UTC times."""
    if not items or type(items[0]) is not WireDeal:
        return [deal_row(rec, offset_s) for rec in items]
    if offset_s:
        for item in items:
            item.time -= offset_s
    return items


def group(rec: dict) -> GroupInfo:
    symbols = tuple(
        GroupSymbol(path=str(s.get("Path") or ""), volume_min_lots=proto.volume_to_lots(s.get("VolumeMin")),
                    volume_max_lots=proto.volume_to_lots(s.get("VolumeMax")),
                    volume_step_lots=proto.volume_to_lots(s.get("VolumeStep")))
        for s in rec.get("Symbols") or [] if isinstance(s, dict)
    )
    return GroupInfo(
        name=str(rec.get("Group") or ""), currency=str(rec.get("Currency") or ""),
        currency_digits=proto.to_int(rec.get("CurrencyDigits"), 2),
        margin_call=proto.to_decimal(rec.get("MarginCall")), margin_stop_out=proto.to_decimal(rec.get("MarginStopOut")),
        margin_mode=proto.to_int(rec.get("MarginMode")), margin_so_mode=proto.to_int(rec.get("MarginSOMode")),
        symbols=symbols,
    )
