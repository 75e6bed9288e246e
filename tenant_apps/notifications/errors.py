"""Typed errors of the notifications capability (code + message, as the API returns them)."""
from __future__ import annotations


class NotificationError(Exception):
    code = "notification_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
