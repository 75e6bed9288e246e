"""Typed errors of the support capability (code + message, as the API and the forms show them)."""
from __future__ import annotations


class SupportError(Exception):
    code = "support_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class TransitionRefused(SupportError):
    """The ticket's status cannot move that way (or not by that kind of actor)."""

    code = "transition_refused"


class InboundEmailError(SupportError):
    """A raw e-mail that cannot be turned into a ticket message: garbled, empty, or from nobody."""

    code = "inbound_email_invalid"
