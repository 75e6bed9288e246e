"""The PSP adapter interface: what every payment provider offers us, its value types, its typed errors, and
the decline reasons a client is shown (PROTOCOLS §2: specific where it helps, generic where it must be).

An adapter is built per PSP connection (brokerage.PaymentProviderConfig + decrypted credentials) and never
touches the database: services decide, adapters talk to the PSP.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

# --- typed errors ---------------------------------------------------------------------------------------


class PspError(Exception):
    """Something went wrong talking to (or hearing from) a PSP. `retryable`: the same call may work later."""

    code = "psp_error"
    retryable = False

    def __init__(self, message: str, *, code: str | None = None, retryable: bool | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if retryable is not None:
            self.retryable = retryable


class PspUnavailable(PspError):
    """Network error, timeout or a 5xx: the PSP may have acted, so retry with the SAME idempotency key."""

    code = "psp_unavailable"
    retryable = True


class PspRejected(PspError):
    """The PSP refused the request (4xx): fix the request, retrying the same one will not help."""

    code = "psp_rejected"


class PspAuthFailed(PspError):
    code = "psp_auth_failed"


class PspNotConfigured(PspError):
    """The connection lacks what the operation needs (credentials, bank details)."""

    code = "psp_not_configured"


class NotSupported(PspError):
    """This PSP does not offer the operation (bank wire has no webhooks; Stripe pays out only as refunds)."""

    code = "psp_operation_not_supported"


class InvalidSignature(PspError):
    """The webhook is not provably from the PSP: missing/garbled header, no matching signature, too old."""

    code = "invalid_signature"


class InvalidPayload(PspError):
    """The signature is fine but the body is not an event we can read (not UTF-8 / JSON, no event id)."""

    code = "invalid_payload"


# --- value types ------------------------------------------------------------------------------------------


class EventType(StrEnum):
    """Our PSP-neutral event types: handlers register for these. Types we do not map keep the PSP's name."""

    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_DISPUTED = "payment.disputed"  # a chargeback was opened
    PAYOUT_PAID = "payout.paid"
    PAYOUT_FAILED = "payout.failed"


@dataclass(frozen=True)
class Customer:
    client_id: str           # our user id, echoed back in metadata
    email: str
    name: str = ""
    country: str = ""        # ISO 3166-1 alpha-2


@dataclass(frozen=True)
class PaymentSession:
    """What the client is sent to (hosted_url) or told (instructions) to pay."""

    provider_payment_id: str
    hosted_url: str | None = None
    instructions: Mapping[str, str] | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class PayoutDestination:
    kind: str                                  # "card" | "bank_account" | "original_payment"
    holder_name: str = ""
    account: str = ""                          # IBAN / account number / card token
    bank_code: str = ""                        # BIC / sort code
    country: str = ""
    original_payment_id: str = ""              # refund-to-source: the deposit's provider_payment_id


@dataclass(frozen=True)
class PayoutResult:
    provider_payout_id: str
    status: str                                # "pending" | "paid" | "manual" (bank wire: finance sends it)
    instructions: Mapping[str, str] | None = None


@dataclass(frozen=True)
class SettlementLine:
    """One settled movement in the PSP's report, amounts in major units; negative for money leaving."""

    provider_line_id: str
    type: str                                  # "payment" | "refund" | "payout" | "fee" | "adjustment"
    provider_payment_id: str
    reference: str
    amount: Decimal
    fee: Decimal
    net: Decimal
    currency: str
    settled_at: datetime | None = None


@dataclass(frozen=True)
class VerifiedEvent:
    """A webhook whose signature checked out, mapped to our terms. Amounts are Decimal in major units.

    `failure_code` is the PSP's own code (for staff); `failure_reason`/`failure_message_for_client`/
    `failure_next_step` are what the client may see (decline_reason()): fraud-related codes are generic.
    """

    event_id: str
    type: str                                  # EventType value, or the PSP's type when unmapped
    provider_type: str
    provider_payment_id: str = ""
    reference: str = ""
    amount: Decimal | None = None
    currency: str = ""
    status: str = ""                           # succeeded | failed | refunded | partially_refunded | disputed | paid
    failure_code: str = ""
    failure_reason: str = ""
    failure_message_for_client: str = ""
    failure_next_step: str = ""
    occurred_at: datetime | None = None
    livemode: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)


# --- decline reasons ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclineReason:
    reason: str          # our canonical reason (stable; store it, render it in the client's language)
    message: str         # what the client is told
    next_step: str       # what the client can do about it
    disclosed: bool = True   # False: the real code must never reach the client (fraud, lost, stolen)


ISSUER_DECLINED = DeclineReason(
    "issuer_declined", _("Your card was declined by the issuer."),
    _("Contact your card issuer to allow the payment, or use another card."))
_DECLINE_REASONS = {
    "insufficient_funds": DeclineReason(
        "insufficient_funds", _("Your card was declined: insufficient funds."),
        _("Use another card or payment method, or deposit a smaller amount.")),
    "limit_exceeded": DeclineReason(
        "limit_exceeded", _("Your card was declined: you have exceeded your card's daily limit."),
        _("Ask your card issuer to raise the limit, try again tomorrow, or use another card.")),
    "geographic_restriction": DeclineReason(
        "geographic_restriction",
        _("Your card was declined because of a geographic restriction: it cannot be used for payments to "
          "this merchant's country."),
        _("Ask your card issuer to allow international payments, or use another card or payment method.")),
    "card_expired": DeclineReason(
        "card_expired", _("Your card has expired."), _("Use a card that is still valid.")),
    "incorrect_details": DeclineReason(
        "incorrect_details", _("The card details were not accepted."),
        _("Check the card number, expiry date and security code, then try again.")),
    "authentication_required": DeclineReason(
        "authentication_required", _("Your bank asked to confirm this payment and it was not confirmed."),
        _("Try again and complete your bank's confirmation step.")),
    "card_not_supported": DeclineReason(
        "card_not_supported", _("This card cannot be used for this payment or currency."),
        _("Use another card or payment method.")),
    "processing_error": DeclineReason(
        "processing_error", _("The payment could not be processed because of a temporary problem."),
        _("Please try again in a few minutes.")),
    "issuer_declined": ISSUER_DECLINED,
}
_UNDISCLOSED = DeclineReason(ISSUER_DECLINED.reason, ISSUER_DECLINED.message, ISSUER_DECLINED.next_step,
                             disclosed=False)

# PSP decline / error codes (Stripe's names; the sandbox PSP uses the same) → our reason.
DECLINE_CODES: dict[str, str] = {
    "insufficient_funds": "insufficient_funds",
    "card_velocity_exceeded": "limit_exceeded",
    "withdrawal_count_limit_exceeded": "limit_exceeded",
    "geographic_restriction": "geographic_restriction",
    "do_not_honor": "issuer_declined",
    "generic_decline": "issuer_declined",
    "card_declined": "issuer_declined",
    "call_issuer": "issuer_declined",
    "no_action_taken": "issuer_declined",
    "not_permitted": "issuer_declined",
    "transaction_not_allowed": "issuer_declined",
    "revocation_of_authorization": "issuer_declined",
    "expired_card": "card_expired",
    "incorrect_cvc": "incorrect_details",
    "invalid_cvc": "incorrect_details",
    "incorrect_number": "incorrect_details",
    "invalid_number": "incorrect_details",
    "invalid_expiry_month": "incorrect_details",
    "invalid_expiry_year": "incorrect_details",
    "incorrect_zip": "incorrect_details",
    "authentication_required": "authentication_required",
    "card_not_supported": "card_not_supported",
    "currency_not_supported": "card_not_supported",
    "processing_error": "processing_error",
    "issuer_not_available": "processing_error",
    "try_again_later": "processing_error",
    "reenter_transaction": "processing_error",
}
# Never disclosed (PROTOCOLS §2): shown exactly like a generic issuer decline.
UNDISCLOSED_CODES = frozenset({
    "fraudulent", "lost_card", "stolen_card", "pickup_card", "restricted_card", "merchant_blacklist",
    "security_violation", "highest_risk_level", "elevated_risk_level",
})


def decline_reason(code: str | None) -> DeclineReason:
    """The client-facing reason for a PSP decline code; unknown codes read as a generic issuer decline."""
    code = (code or "").strip().lower()
    if code in UNDISCLOSED_CODES:
        return _UNDISCLOSED
    return _DECLINE_REASONS.get(DECLINE_CODES.get(code, code), ISSUER_DECLINED)


# --- the interface ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    api_key: str = ""
    webhook_secrets: tuple[str, ...] = ()    # newest first; any of them verifies


class PspAdapter(ABC):
    """One PSP connection. Outgoing calls that move money carry an idempotency key derived from OUR reference,
    so a retried call (after a timeout) never creates a second payment or payout."""

    kind: str = ""

    def __init__(self, *, provider_code: str, settings: Mapping | None = None,
                 credentials: Credentials | None = None):
        self.provider_code = provider_code
        self.settings = dict(settings or {})
        self.credentials = credentials or Credentials()

    @abstractmethod
    def create_payment(self, *, amount: Decimal, currency: str, reference: str, customer: Customer,
                       return_url: str, notify_url: str = "") -> PaymentSession:
        """Start a deposit: a hosted page to send the client to, or instructions (bank wire)."""

    @abstractmethod
    def verify_webhook(self, *, raw_body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        """Check the signature over the raw bytes, then map. Raises InvalidSignature or InvalidPayload."""

    @abstractmethod
    def parse_event(self, raw_body: bytes) -> VerifiedEvent:
        """Map a body whose signature was already checked (the inbox row); no verification here."""

    @abstractmethod
    def create_payout(self, *, amount: Decimal, currency: str, reference: str, destination: PayoutDestination,
                      notify_url: str = "") -> PayoutResult:
        """Send money to a client (withdrawal)."""

    @abstractmethod
    def fetch_settlement_report(self, *, day: date) -> list[SettlementLine]:
        """Everything the PSP settled on `day` (UTC), for reconciliation against the ledger."""

    @staticmethod
    def idempotency_key(operation: str, reference: str) -> str:
        return f"brokeros:{operation}:{reference}"
