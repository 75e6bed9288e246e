"""The Stripe webhook scheme (PROTOCOLS §2), shared by the Stripe adapter and the bundled sandbox PSP, which
signs and shapes its callbacks the same way: one verification path and one event mapping serve both.

Verification is the official SDK's (`stripe.WebhookSignature.verify_header`, the check inside
`stripe.Webhook.construct_event`): `t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256
over "<t>.<raw body>" keyed with the whole `whsec_…` secret, any v1 may match, other schemes (v0) ignored,
timestamps older than the tolerance refused. Secret rotation: every configured secret is tried in turn.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import stripe
from django.utils.datastructures import CaseInsensitiveMapping

from tenant_apps.payments.adapters.base import (
    EventType,
    InvalidPayload,
    InvalidSignature,
    VerifiedEvent,
    decline_reason,
)
from tenant_apps.payments.money import AmountError, currency_code, from_minor

SIGNATURE_HEADER = "Stripe-Signature"
DEFAULT_TOLERANCE_S = stripe.Webhook.DEFAULT_TOLERANCE  # 300 s
_NO_MATCH = "No signatures found matching"


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header from Django's case-insensitive request.headers or from a plain dict of any case."""
    value = headers.get(name)
    if value is None and not isinstance(headers, CaseInsensitiveMapping):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def verify(raw_body: bytes, signature_header: str | None, secrets: Sequence[str], *,
           tolerance: int | None = DEFAULT_TOLERANCE_S) -> dict:
    """The event (plain data) of a genuine body, or raise InvalidSignature / InvalidPayload.

    The check is the SDK's `WebhookSignature.verify_header`, exactly what `Webhook.construct_event` runs before
    building its object graph; the SDK points inboxes that verify, store and parse later at it. We parse the
    JSON ourselves (into plain dicts, which is all the mapping and the inbox need).
    """
    if not secrets:
        raise InvalidSignature("No webhook signing secret is configured for this provider.")
    if not signature_header:
        raise InvalidSignature(f"No {SIGNATURE_HEADER} header.")
    try:
        payload = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The scheme signs the UTF-8 text of the body; bytes that are not UTF-8 cannot be checked at all.
        raise InvalidSignature("The body is not UTF-8, so its signature cannot be checked.") from exc
    failure: stripe.SignatureVerificationError | None = None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, signature_header, secret, tolerance)
            failure = None
            break
        except stripe.SignatureVerificationError as exc:
            failure = exc
            if not str(exc).startswith(_NO_MATCH):
                break  # a garbled header or a stale timestamp reads the same whichever secret is tried
    if failure is not None:
        raise InvalidSignature(str(failure))
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise InvalidPayload(f"The signed body is not JSON: {exc.__class__.__name__}") from exc


def parse(raw_body: bytes) -> VerifiedEvent:
    """Map a body already verified (an inbox row) without the SDK's object layer."""
    try:
        event = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidPayload("The body is not JSON.") from exc
    return to_verified_event(event)


def _minor_amount(obj: Mapping, field: str, currency: str):
    value = obj.get(field)
    if value is None or not currency:
        return None
    try:
        return from_minor(value, currency)
    except AmountError as exc:
        raise InvalidPayload(f"{field} is not an amount: {exc}") from exc


def _text(value) -> str:
    return "" if value is None else str(value)[:255]


def _metadata(obj: Mapping) -> dict[str, str]:
    raw = obj.get("metadata") or {}
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): str(v) for k, v in raw.items()}


def to_verified_event(event) -> VerifiedEvent:
    """Stripe's event envelope (PROTOCOLS §2) → VerifiedEvent. Raises InvalidPayload for anything else."""
    if not isinstance(event, Mapping):
        raise InvalidPayload("The body is not an event object.")
    event_id, provider_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > 255:
        raise InvalidPayload("The event has no usable id.")
    if not isinstance(provider_type, str) or not provider_type or len(provider_type) > 100:
        raise InvalidPayload("The event has no usable type.")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        raise InvalidPayload("The event has no data.object.")
    created = event.get("created")
    occurred_at = datetime.fromtimestamp(created, tz=UTC) if isinstance(created, int) else None
    try:
        currency = currency_code(obj["currency"]) if obj.get("currency") else ""
    except AmountError as exc:
        raise InvalidPayload(str(exc)) from exc
    metadata = _metadata(obj)
    common = {
        "event_id": event_id, "provider_type": provider_type, "occurred_at": occurred_at,
        "livemode": bool(event.get("livemode")), "currency": currency, "metadata": metadata,
        "reference": metadata.get("reference") or str(obj.get("client_reference_id") or ""),
    }

    if provider_type == "payment_intent.succeeded":
        amount = _minor_amount(obj, "amount_received", currency) or _minor_amount(obj, "amount", currency)
        return VerifiedEvent(type=EventType.PAYMENT_SUCCEEDED, provider_payment_id=_text(obj.get("id")),
                             amount=amount, status="succeeded", **common)
    if provider_type == "payment_intent.payment_failed":
        error = obj.get("last_payment_error") or {}
        code = str(error.get("decline_code") or error.get("code") or "") if isinstance(error, Mapping) else ""
        reason = decline_reason(code)
        return VerifiedEvent(type=EventType.PAYMENT_FAILED, provider_payment_id=_text(obj.get("id")),
                             amount=_minor_amount(obj, "amount", currency), status="failed",
                             failure_code=code, failure_reason=reason.reason,
                             failure_message_for_client=str(reason.message), failure_next_step=str(reason.next_step),
                             **common)
    if provider_type == "charge.refunded":
        # amount_refunded is cumulative; `refunded` is true only once the whole charge is refunded.
        return VerifiedEvent(type=EventType.PAYMENT_REFUNDED,
                             provider_payment_id=_text(obj.get("payment_intent") or obj.get("id")),
                             amount=_minor_amount(obj, "amount_refunded", currency),
                             status="refunded" if obj.get("refunded") else "partially_refunded", **common)
    if provider_type == "charge.dispute.created":
        return VerifiedEvent(type=EventType.PAYMENT_DISPUTED,
                             provider_payment_id=_text(obj.get("payment_intent") or obj.get("charge")),
                             amount=_minor_amount(obj, "amount", currency), status="disputed",
                             failure_code=str(obj.get("reason") or ""), **common)
    if provider_type in ("payout.paid", "payout.failed"):
        failed = provider_type == "payout.failed"
        return VerifiedEvent(type=EventType.PAYOUT_FAILED if failed else EventType.PAYOUT_PAID,
                             provider_payment_id=_text(obj.get("id")), amount=_minor_amount(obj, "amount", currency),
                             status="failed" if failed else "paid",
                             failure_code=str(obj.get("failure_code") or "") if failed else "", **common)
    # A type we do not act on: kept under the PSP's own name (the inbox marks it ignored unless a handler wants it).
    return VerifiedEvent(type=provider_type, provider_payment_id=_text(obj.get("id")),
                         amount=_minor_amount(obj, "amount", currency), status=str(obj.get("status") or ""), **common)
