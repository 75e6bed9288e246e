"""Typed errors of the ledger. Each carries a stable `code` the API returns and the facts behind it."""
from __future__ import annotations

from enum import StrEnum


class LedgerErrorCode(StrEnum):
    INSUFFICIENT_AVAILABLE_BALANCE = "insufficient_available_balance"
    CURRENCY_MISMATCH = "currency_mismatch"
    UNKNOWN_CURRENCY = "unknown_currency"
    INVALID_AMOUNT = "invalid_amount"
    UNBALANCED_ENTRY = "unbalanced_entry"
    INVALID_ENTRY = "invalid_entry"
    INVALID_ACCOUNT = "invalid_account"
    DUPLICATE_IDEMPOTENCY_KEY_CONFLICT = "duplicate_idempotency_key_conflict"
    HOLD_NOT_ALLOWED = "hold_not_allowed"
    HOLD_NOT_ACTIVE = "hold_not_active"
    HOLD_CAPTURE_INVALID = "hold_capture_invalid"


class LedgerError(Exception):
    code: LedgerErrorCode

    def __init__(self, message: str, **context):
        super().__init__(message)
        self.message = message
        self.context = context

    def as_dict(self) -> dict:
        return {"code": str(self.code), "message": self.message}


class InsufficientAvailableBalance(LedgerError):
    code = LedgerErrorCode.INSUFFICIENT_AVAILABLE_BALANCE


class CurrencyMismatch(LedgerError):
    code = LedgerErrorCode.CURRENCY_MISMATCH


class UnknownCurrency(LedgerError):
    code = LedgerErrorCode.UNKNOWN_CURRENCY


class InvalidAmount(LedgerError):
    code = LedgerErrorCode.INVALID_AMOUNT


class UnbalancedEntry(LedgerError):
    code = LedgerErrorCode.UNBALANCED_ENTRY


class InvalidEntry(LedgerError):
    code = LedgerErrorCode.INVALID_ENTRY


class InvalidAccount(LedgerError):
    code = LedgerErrorCode.INVALID_ACCOUNT


class IdempotencyConflict(LedgerError):
    """The key was used before for a different effect: the caller has a bug or a key collision."""

    code = LedgerErrorCode.DUPLICATE_IDEMPOTENCY_KEY_CONFLICT


class HoldNotAllowed(LedgerError):
    code = LedgerErrorCode.HOLD_NOT_ALLOWED


class HoldNotActive(LedgerError):
    code = LedgerErrorCode.HOLD_NOT_ACTIVE


class HoldCaptureInvalid(LedgerError):
    code = LedgerErrorCode.HOLD_CAPTURE_INVALID
