"""Typed errors of the payments capability; the API returns {"code", "message"}. PSP-side errors are in
adapters/base.py (PspError and its subclasses)."""


class PaymentsError(Exception):
    code = "payments_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class UnknownProvider(PaymentsError):
    """No PSP connection with that code in this brokerage (or one that takes no webhooks, like bank wire)."""

    code = "unknown_provider"


class WebhookProcessingError(PaymentsError):
    """A webhook handler failed; the event stays `received` and dramatiq retries it with backoff."""

    code = "webhook_processing_failed"
