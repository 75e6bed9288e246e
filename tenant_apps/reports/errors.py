"""Report errors with codes the API and forms show (`{"code": ..., "message": ..., "field": ...}`)."""
from __future__ import annotations


class ReportsError(Exception):
    code = "reports_error"

    def __init__(self, message: str, *, code: str | None = None, field: str = ""):
        super().__init__(message)
        self.message = str(message)
        self.code = code or self.code
        self.field = field

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


class DefinitionError(ReportsError):
    """A report builder definition that cannot run (unknown dataset, dimension, measure or filter; bad dates)."""

    code = "invalid_definition"


class ReportForbidden(ReportsError):
    """The user may not see what the definition asks for (money figures without clients.finance)."""

    code = "forbidden"
