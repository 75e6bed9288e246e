"""Typed errors of the automation capability (code + message, as forms and the API show them)."""
from __future__ import annotations


class AutomationError(Exception):
    code = "automation_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class DefinitionError(AutomationError):
    """A segment definition or rule parameters that do not validate; `problems` lists every one of them."""

    code = "invalid_definition"

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems
