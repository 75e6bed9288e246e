"""Typed errors of compliance; the API returns {"code", "message"}."""


class ComplianceError(Exception):
    code = "compliance_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class KycTransitionNotAllowed(ComplianceError):
    code = "kyc_transition_not_allowed"


class ActionNotAllowed(ComplianceError):
    """A client action refused by the KYC capability table (e.g. a live account while KYC is pending)."""

    code = "kyc_pending"
