"""The trading-platform adapter interface: what the platform asks of a trading server, typed results, typed errors.

Everything the rest of BrokerOS knows about a trading server goes through `TradingPlatformAdapter`. Results
are frozen dataclasses; money, prices and volumes are `Decimal`; times are timezone-aware UTC. Errors are
the `TradingPlatformError` family below; only `Unavailable` (and its subclass `BalanceOutcomeUnknown`) is
worth retrying.
"""
from __future__ import annotations

import abc
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

# --- errors ---------------------------------------------------------------------------------------------


class TradingPlatformError(Exception):
    """Base of every error an adapter raises. `retcode` is the server's code when it sent one."""

    retryable = False

    def __init__(self, message: str, *, retcode: int | None = None):
        super().__init__(message)
        self.message = message
        self.retcode = retcode

    def __str__(self) -> str:
        return self.message if self.retcode is None else f"{self.message} (retcode {self.retcode})"


class AuthFailed(TradingPlatformError):
    """The manager login was refused (wrong password, disabled manager, IP not allowed)."""


class ServerNotAuthentic(TradingPlatformError):
    """The server could not prove it knows the manager password, or its TLS certificate is not trusted.

    Never retried automatically: it means a misconfiguration or someone in the middle.
    """


class NotPermitted(TradingPlatformError):
    """The manager account lacks the permission for this command (or the group is outside its reach)."""


class NotFound(TradingPlatformError):
    """The account, group, position or deal does not exist on the server."""


class Rejected(TradingPlatformError):
    """The server (or the adapter's own check) refused the command; `reason` says why in words."""

    def __init__(self, reason: str, *, retcode: int | None = None):
        super().__init__(reason, retcode=retcode)
        self.reason = reason


class Unavailable(TradingPlatformError):
    """Network error, timeout, no connection, server busy or shutting down: retry later with backoff.

    `maybe_sent` is True when the command may have reached the server before the failure (a read timeout or a
    connection dropped mid-request); for non-idempotent commands the outcome is then unknown.
    """

    retryable = True

    def __init__(self, message: str, *, retcode: int | None = None, maybe_sent: bool = False):
        super().__init__(message, retcode=retcode)
        self.maybe_sent = maybe_sent


class BalanceOutcomeUnknown(Unavailable):
    """A balance operation may or may not have been applied and the deal history could not settle it.

    Retry later with the SAME reference: the retry looks the reference up in the deal history first.
    """


# --- values ---------------------------------------------------------------------------------------------


class BalanceKind(enum.StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    CREDIT = "credit"
    CREDIT_REMOVAL = "credit_removal"


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"


class DealAction(enum.IntEnum):
    """MT5 `Action` of a deal (IMTDeal::EnDealAction); values above BONUS are kept as plain ints."""

    BUY = 0
    SELL = 1
    BALANCE = 2
    CREDIT = 3
    CHARGE = 4
    CORRECTION = 5
    BONUS = 6
    COMMISSION = 7


class DealEntry(enum.IntEnum):
    IN = 0
    OUT = 1
    INOUT = 2
    OUT_BY = 3


class Rights(enum.IntFlag):
    """The MT5 user `Rights` bitmask. The whole mask is replaced on update: always read-modify-write."""

    ENABLED = 0x1
    PASSWORD = 0x2
    TRADE_DISABLED = 0x4
    INVESTOR = 0x8
    TRAILING = 0x20
    EXPERT = 0x40
    REPORTS = 0x100
    READONLY = 0x200
    RESET_PASS = 0x400
    OTP = 0x800
    TECHNICAL = 0x10000


@dataclass(frozen=True)
class SessionInfo:
    version_access: int
    version_trade: int | None


@dataclass(frozen=True)
class AccountInfo:
    """A trading account's record on the server (no live state: see AccountState)."""

    login: int
    group: str
    name: str
    email: str
    leverage: int
    rights: int
    balance: Decimal
    credit: Decimal
    registration: datetime | None
    comment: str

    @property
    def trading_blocked(self) -> bool:
        return bool(self.rights & Rights.TRADE_DISABLED)

    @property
    def login_enabled(self) -> bool:
        return bool(self.rights & Rights.ENABLED)


@dataclass(frozen=True)
class AccountState:
    """Live money state of an account, in the account's currency.

    `margin_level` is equity / margin × 100 and 0 when no margin is used (as MT5 reports it).
    `floating_profit` is the open positions' profit including swaps.
    """

    login: int
    balance: Decimal
    credit: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    margin_level: Decimal
    floating_profit: Decimal


@dataclass(frozen=True)
class BalanceResult:
    """`applied_now` is False when the operation was found already applied (an earlier or timed-out attempt)."""

    ticket: int
    applied_now: bool
    comment: str


@dataclass(frozen=True)
class Position:
    ticket: int
    login: int
    symbol: str
    side: Side
    volume_lots: Decimal
    price_open: Decimal
    price_current: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    profit: Decimal
    swap: Decimal
    time_create: datetime
    comment: str


@dataclass(frozen=True)
class Deal:
    """One deal. `side` is None for non-trade deals (balance, credit, commission...)."""

    ticket: int
    login: int
    time: datetime
    symbol: str
    side: Side | None
    volume_lots: Decimal
    price: Decimal
    profit: Decimal
    commission: Decimal
    swap: Decimal
    action: int
    entry: int
    comment: str
    order: int
    position_id: int

    @property
    def is_trade(self) -> bool:
        return self.action in (DealAction.BUY, DealAction.SELL)


@dataclass(frozen=True)
class DealCursor:
    """Where incremental deal reading stands: deals with ticket ≤ `ticket` were delivered; the next read
    starts at `time` (server clock, epoch seconds). Opaque to callers: get the first one by passing
    `from_time` to `list_deals_since`, store `token`, rebuild with `from_token`."""

    time: int
    ticket: int = 0

    @property
    def token(self) -> str:
        return f"{self.time}:{self.ticket}"

    @classmethod
    def from_token(cls, token: str) -> DealCursor:
        time_part, _, ticket_part = token.partition(":")
        return cls(time=int(time_part), ticket=int(ticket_part or 0))


@dataclass(frozen=True)
class DealPage:
    """Deals in ticket order, the cursor to store after ingesting them, and whether to call again now."""

    deals: tuple[Deal, ...]
    cursor: DealCursor
    has_more: bool


class DealRow(NamedTuple):
    """One deal in wire units, for bulk reads that store deals without building a `Deal` each: `time` in UTC
    epoch seconds, `volume` in 1/10 000 lots, money and prices as plain decimal strings ("-12.5": digits, at
    most one point, an optional leading minus — validated by the adapter). `deal_from_row` gives the `Deal`.
    Adapters may hand out any object with these attributes instead (the MT5 adapter's decoded `WireDeal`)."""

    ticket: int
    login: int
    time: int
    symbol: str
    action: int
    entry: int
    volume: int
    price: str
    profit: str
    commission: str
    swap: str
    position_id: int
    comment: str
    order: int


VOLUME_PER_LOT = 10_000


def deal_from_row(row: DealRow) -> Deal:
    action = row.action
    return Deal(
        ticket=row.ticket, login=row.login, time=utc_from_epoch(row.time), symbol=row.symbol,
        side=Side.BUY if action == DealAction.BUY else Side.SELL if action == DealAction.SELL else None,
        volume_lots=Decimal(row.volume) / VOLUME_PER_LOT, price=Decimal(row.price), profit=Decimal(row.profit),
        commission=Decimal(row.commission), swap=Decimal(row.swap), action=action, entry=row.entry,
        comment=row.comment, order=row.order, position_id=row.position_id,
    )


def deal_to_row(deal: Deal) -> DealRow:
    return DealRow(
        ticket=deal.ticket, login=deal.login, time=int(deal.time.timestamp()), symbol=deal.symbol,
        action=int(deal.action), entry=int(deal.entry), volume=int(deal.volume_lots * VOLUME_PER_LOT),
        price=format(deal.price, "f"), profit=format(deal.profit, "f"), commission=format(deal.commission, "f"),
        swap=format(deal.swap, "f"), position_id=deal.position_id, comment=deal.comment, order=deal.order,
    )


@dataclass(frozen=True)
class DealRowPage:
    """`DealPage` with `DealRow`s (same order, cursor and `has_more` rules)."""

    rows: list[DealRow]
    cursor: DealCursor
    has_more: bool


@dataclass(frozen=True)
class GroupSymbol:
    path: str
    volume_min_lots: Decimal
    volume_max_lots: Decimal
    volume_step_lots: Decimal


@dataclass(frozen=True)
class GroupInfo:
    name: str
    currency: str
    currency_digits: int
    margin_call: Decimal
    margin_stop_out: Decimal
    margin_mode: int
    margin_so_mode: int
    symbols: tuple[GroupSymbol, ...]


def utc_from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


# --- the interface --------------------------------------------------------------------------------------


class TradingPlatformAdapter(abc.ABC):
    """One manager connection to one trading server.

    Implementations hold a session and are safe to share between threads (commands are serialised);
    callers should keep one instance per server per worker process and `close()` it on shutdown.
    Every method raises the `TradingPlatformError` family only.
    """

    @abc.abstractmethod
    def connect(self) -> SessionInfo:
        """Authenticate now (otherwise the first command does). Raises AuthFailed, ServerNotAuthentic, Unavailable."""

    @abc.abstractmethod
    def close(self) -> None:
        """End the session politely; never raises."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Keep the session alive and prove the server answers. Raises Unavailable when it does not."""

    @abc.abstractmethod
    def create_account(
        self, *, group: str, leverage: int, name: str, email: str, password_main: str, password_investor: str,
        currency: str | None = None, login: int | None = None, comment: str = "",
    ) -> AccountInfo:
        """Create a trading account. `currency`, when given, must be the group's currency (checked first).
        `login=None` lets the server allocate one. Not idempotent unless `login` is given (a repeat then
        fails with Rejected retcode 3004)."""

    @abc.abstractmethod
    def get_account(self, login: int) -> AccountInfo:
        """The account's record. Raises NotFound."""

    @abc.abstractmethod
    def change_leverage(self, login: int, leverage: int) -> AccountInfo:
        """Set the leverage (1:leverage). Raises Rejected when the server does not take the value."""

    @abc.abstractmethod
    def change_group(self, login: int, group: str) -> AccountInfo:
        """Move the account to another group. Raises Rejected when the server does not take it."""

    @abc.abstractmethod
    def set_trading_blocked(self, login: int, blocked: bool) -> AccountInfo:
        """Set or clear the trade-disabled right, leaving every other right as it is on the server."""

    @abc.abstractmethod
    def set_login_enabled(self, login: int, enabled: bool) -> AccountInfo:
        """Set or clear the right to connect at all (archiving, closing), leaving the other rights alone."""

    @abc.abstractmethod
    def balance_operation(
        self, *, login: int, amount: Decimal, kind: BalanceKind, reference: str, first_attempt: bool = False,
    ) -> BalanceResult:
        """Move money on the account exactly once per `reference` (see the implementation for the rule).
        `amount` is positive; `kind` gives the direction. Raises Rejected (e.g. retcode 10019 not enough
        money), NotFound, BalanceOutcomeUnknown (retry later with the same reference)."""

    @abc.abstractmethod
    def get_account_state(self, login: int) -> AccountState:
        """Balance, equity, margin... of one account. Raises NotFound."""

    @abc.abstractmethod
    def list_account_states(self, logins: Sequence[int]) -> dict[int, AccountState]:
        """States of many accounts by login; logins unknown to the server are absent from the result."""

    @abc.abstractmethod
    def list_positions(self, *, logins: Sequence[int] | None = None, group: str | None = None) -> tuple[Position, ...]:
        """Open positions of the given accounts, or of every account in a group (mask)."""

    @abc.abstractmethod
    def list_deals_since(
        self, *, cursor: DealCursor | None = None, from_time: datetime | None = None,
        logins: Sequence[int] | None = None, group: str | None = None, limit: int = 1000,
    ) -> DealPage:
        """The next page of deals after `cursor` (or from `from_time` when there is no cursor yet), for the
        given accounts or group. Call again with the returned cursor while `has_more` is True."""

    def list_accounts(self, logins: Sequence[int]) -> dict[int, AccountInfo]:
        """User records of many accounts by login; logins unknown to the server are absent. Adapters with a
        batch read override this; the default reads them one by one."""
        found: dict[int, AccountInfo] = {}
        for login in logins:
            try:
                found[int(login)] = self.get_account(int(login))
            except NotFound:
                continue
        return found

    def list_deal_rows_since(
        self, *, cursor: DealCursor | None = None, from_time: datetime | None = None,
        logins: Sequence[int] | None = None, group: str | None = None, limit: int = 1000,
    ) -> DealRowPage:
        """`list_deals_since` as `DealRow`s, for bulk ingestion. Adapters that can parse the wire straight into
        rows override this; the default converts the typed page."""
        page = self.list_deals_since(cursor=cursor, from_time=from_time, logins=logins, group=group, limit=limit)
        return DealRowPage(rows=[deal_to_row(d) for d in page.deals], cursor=page.cursor, has_more=page.has_more)

    @abc.abstractmethod
    def get_group(self, name: str) -> GroupInfo:
        """One group's configuration. Raises NotFound."""

    @abc.abstractmethod
    def list_groups(self, mask: str = "*") -> tuple[GroupInfo, ...]:
        """Groups matching a mask (`*` wildcards, `!` exclusions, comma-separated)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
