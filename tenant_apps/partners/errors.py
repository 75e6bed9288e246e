"""Typed errors of the partners capability: pages show the message, the API answers {"code": ..., "message": ...}."""
from __future__ import annotations


class PartnersError(Exception):
    code = "partners_error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidState(PartnersError):
    code = "invalid_state"
    http_status = 409


class MakerChecker(PartnersError):
    """The person who asked for a change may not approve it."""

    code = "maker_checker"
    http_status = 403


class CycleRefused(PartnersError):
    code = "ib_cycle"


class BackdateTooFar(PartnersError):
    code = "backdate_limit"
