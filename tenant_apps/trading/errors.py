"""Typed errors of the trading capability: the API answers {"code": ..., "message": ...}."""
from __future__ import annotations


class TradingError(Exception):
    code = "trading_error"
    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotAllowed(TradingError):
    """Compliance refuses (KYC not approved...): the message says why and what to do."""

    code = "not_allowed"
    http_status = 403

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class LeverageNotAllowed(TradingError):
    code = "leverage_not_allowed"


class InvalidState(TradingError):
    code = "invalid_state"
    http_status = 409


class ServerUnavailable(TradingError):
    code = "platform_unavailable"
    http_status = 503
