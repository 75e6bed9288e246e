"""Typed errors of the tenancy capability; the API returns {"code", "message"}."""


class TenancyError(Exception):
    code = "tenancy_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class TransitionNotAllowed(TenancyError):
    code = "transition_not_allowed"


class ReasonRequired(TenancyError):
    code = "reason_required"
