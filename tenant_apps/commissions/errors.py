"""Typed errors of the commissions capability: pages show the message, the API answers {"code", "message"}."""
from __future__ import annotations


class CommissionsError(Exception):
    code = "commissions_error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class InvalidPlan(CommissionsError):
    code = "invalid_plan"


class NothingToPay(CommissionsError):
    code = "nothing_to_pay"
    http_status = 409
