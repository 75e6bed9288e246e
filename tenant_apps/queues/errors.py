"""Typed refusals of the queues' services (views turn them into messages; the API would return the code)."""
from __future__ import annotations


class QueueError(Exception):
    code = "queue_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
