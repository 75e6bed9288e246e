"""The simulated trading server's records and rules: symbols, groups, accounts, positions, deals, retcodes."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

RIGHT_ENABLED = 0x1
RIGHT_PASSWORD = 0x2
RIGHT_TRADE_DISABLED = 0x4
RIGHTS_DEFAULT = 0x1 | 0x2 | 0x20 | 0x40 | 0x100  # enabled, may change password, trailing, experts, reports

DEAL_BUY, DEAL_SELL, DEAL_BALANCE, DEAL_CREDIT = 0, 1, 2, 3
ENTRY_IN, ENTRY_OUT = 0, 1
REASON_CLIENT, REASON_DEALER, REASON_SO = 0, 2, 5
VOLUME_PER_LOT = 10_000
MAX_BALANCE_OPERATION = Decimal("1000000000")
LEVERAGE_RANGE = range(1, 501)
ZERO = Decimal(0)

RETCODE_TEXT = {
    0: "Done", 1: "OK, no data", 2: "Common error", 3: "Invalid parameters", 4: "Invalid data",
    7: "Network error", 8: "Not enough permissions", 9: "Operation timeout", 10: "No connection",
    11: "Service is not available", 12: "Too frequent requests", 13: "Not found", 14: "Partial error",
    15: "Server shutdown in progress", 17: "Duplicate data", 1001: "Invalid account", 1002: "Account disabled",
    1012: "IP address unallowed for manager", 3002: "Login range exhausted", 3004: "User already exists",
    3006: "Invalid password", 4005: "Money limit exceeded", 10017: "Trade disabled", 10019: "No money",
}


class SimError(Exception):
    """A command refused with an MT5 retcode."""

    def __init__(self, retcode: int, detail: str = ""):
        super().__init__(detail or RETCODE_TEXT.get(retcode, "Error"))
        self.retcode = retcode

    @property
    def retcode_text(self) -> str:
        return f"{self.retcode} {RETCODE_TEXT.get(self.retcode, 'Error')}"


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    name: str
    digits: int
    contract_size: Decimal
    quote: str  # currency profits are computed in
    start: Decimal
    volatility: float  # relative standard deviation of one price tick
    swap_per_lot_day: Decimal  # charged in the account currency per lot per rollover


SYMBOLS: dict[str, SymbolSpec] = {s.name: s for s in (
    SymbolSpec("EURUSD", 5, Decimal(100_000), "USD", Decimal("1.08500"), 0.00012, Decimal("6.50")),
    SymbolSpec("GBPUSD", 5, Decimal(100_000), "USD", Decimal("1.27000"), 0.00014, Decimal("5.80")),
    SymbolSpec("USDJPY", 3, Decimal(100_000), "JPY", Decimal("150.000"), 0.00012, Decimal("4.20")),
    SymbolSpec("XAUUSD", 2, Decimal(100), "USD", Decimal("2350.00"), 0.00020, Decimal("12.00")),
    SymbolSpec("US500", 2, Decimal(1), "USD", Decimal("5200.00"), 0.00018, Decimal("0.90")),
)}


def q_money(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class Group:
    name: str
    currency: str = "USD"
    currency_digits: int = 2
    margin_call: Decimal = Decimal(100)
    margin_stop_out: Decimal = Decimal(50)
    margin_mode: int = 2  # retail hedged
    margin_so_mode: int = 0  # levels in percent
    volume_min: int = 100  # 0.01 lot
    volume_max: int = 1_000_000  # 100 lots
    volume_step: int = 100


@dataclass(slots=True)
class Account:
    login: int
    group: str
    name: str
    leverage: int
    rights: int = RIGHTS_DEFAULT
    email: str = ""
    balance: Decimal = ZERO
    credit: Decimal = ZERO
    registration: int = 0
    last_access: int = 0
    comment: str = ""
    country: str = ""
    city: str = ""
    address: str = ""
    phone: str = ""
    id: str = ""
    status: str = ""
    agent: int = 0
    lead_source: str = ""
    lead_campaign: str = ""
    pass_main: str = ""  # sha256 hex: the simulator never keeps passwords
    pass_investor: str = ""


@dataclass(slots=True)
class PositionRec:
    ticket: int
    login: int
    symbol: str
    action: int  # 0 buy, 1 sell
    volume: int  # 1/10 000 lot
    price_open: Decimal
    time_create: int
    time_create_msc: int
    comment: str = ""


@dataclass(slots=True)
class DealRec:
    ticket: int
    login: int
    order: int
    position_id: int
    action: int
    entry: int
    time: int
    time_msc: int
    symbol: str
    price: Decimal
    volume: int
    profit: Decimal
    commission: Decimal
    storage: Decimal
    comment: str
    reason: int = REASON_CLIENT
    # The deal's JSON record as last sent, with the currency digits it was made for (deals never change, so a
    # big history is serialised once, not on every read). Not part of snapshots.
    wire: tuple[int, bytes] | None = field(default=None, repr=False, compare=False)

    def key(self) -> tuple[int, int]:
        return self.time, self.ticket


@dataclass
class AccountMoney:
    balance: Decimal
    credit: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    margin_level: Decimal
    profit: Decimal
    storage: Decimal
    floating: Decimal


_PASSWORD_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"), re.compile(r"[^A-Za-z0-9]"))


def password_strong(password: str) -> bool:
    return 8 <= len(password) <= 16 and all(rx.search(password) for rx in _PASSWORD_CLASSES)


def mask_matcher(mask: str):
    """MT5 group masks: comma-separated, `*` wildcard, `!` excludes; case-insensitive."""
    include, exclude = [], []
    for part in (p.strip() for p in mask.split(",")):
        if not part:
            continue
        target = exclude if part.startswith("!") else include
        pattern = re.escape(part.lstrip("!")).replace(r"\*", ".*")
        target.append(re.compile(f"^{pattern}$", re.IGNORECASE | re.DOTALL))

    def matches(name: str) -> bool:
        return any(rx.match(name) for rx in include) and not any(rx.match(name) for rx in exclude)

    return matches


def parse_decimal(value, what: str) -> Decimal:
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise SimError(3, f"{what}: not a number") from None
    if not result.is_finite():
        raise SimError(3, f"{what}: not a number")
    return result


def parse_int(value, what: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise SimError(3, f"{what}: not an integer") from None


@dataclass
class Stats:
    """What the simulator saw, for tests and the control endpoint."""

    connections: int = 0
    auth_sessions: int = 0
    commands: dict[str, int] = field(default_factory=dict)
    max_page_total: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, path: str) -> None:
        with self.lock:
            self.commands[path] = self.commands.get(path, 0) + 1

    def snapshot(self) -> dict:
        with self.lock:
            return {"connections": self.connections, "auth_sessions": self.auth_sessions,
                    "commands": dict(self.commands), "max_page_total": self.max_page_total}
