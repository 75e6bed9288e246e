"""Adapters to trading platforms: the interface (`base`) and the MetaTrader 5 Web API client (`mt5`)."""
from tenant_apps.trading.adapters.base import (
    AccountInfo,
    AccountState,
    AuthFailed,
    BalanceKind,
    BalanceOutcomeUnknown,
    BalanceResult,
    Deal,
    DealAction,
    DealCursor,
    DealEntry,
    DealPage,
    GroupInfo,
    GroupSymbol,
    NotFound,
    NotPermitted,
    Position,
    Rejected,
    Rights,
    ServerNotAuthentic,
    SessionInfo,
    Side,
    TradingPlatformAdapter,
    TradingPlatformError,
    Unavailable,
)

__all__ = [
    "AccountInfo", "AccountState", "AuthFailed", "BalanceKind", "BalanceOutcomeUnknown", "BalanceResult", "Deal",
    "DealAction", "DealCursor", "DealEntry", "DealPage", "GroupInfo", "GroupSymbol", "NotFound", "NotPermitted",
    "Position", "Rejected", "Rights", "ServerNotAuthentic", "SessionInfo", "Side", "TradingPlatformAdapter",
    "TradingPlatformError", "Unavailable",
]
