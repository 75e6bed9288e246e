"""The MetaTrader 5 Manager Web API adapter (`MT5WebAPIAdapter`): protocol rules, session, records, commands."""
from tenant_apps.trading.adapters.mt5.adapter import MT5WebAPIAdapter, balance_comment
from tenant_apps.trading.adapters.mt5.session import MT5Session

__all__ = ["MT5Session", "MT5WebAPIAdapter", "balance_comment"]
