"""Stripe webhook verification (PROTOCOLS §2) through the official SDK, as the Stripe adapter does it; the sandbox
PSP's callbacks go through the very same path. No database: adapters never touch it."""
from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
import stripe

from tenant_apps.payments.adapters.base import Credentials, EventType, InvalidPayload, InvalidSignature
from tenant_apps.payments.adapters.sandbox import SandboxAdapter
from tenant_apps.payments.adapters.stripe import StripeAdapter
from tests.payments.conftest import event_body, signature_header, v1

SECRET = "whsec_test_current_0123456789abcdef"
OLD_SECRET = "whsec_test_previous_fedcba9876543210"


def adapter(*secrets: str, cls=StripeAdapter, **settings) -> StripeAdapter:
    return cls(provider_code="stripe", settings=settings, credentials=Credentials(webhook_secrets=secrets or (SECRET,)))


def verify(body: bytes, header: str | None, *secrets: str, **settings):
    headers = {} if header is None else {"Stripe-Signature": header}
    return adapter(*secrets, **settings).verify_webhook(raw_body=body, headers=headers)


def test_a_body_signed_with_the_endpoint_secret_is_verified_and_mapped():
    body = event_body(event_id="evt_ok_1", amount=1050, currency="usd", reference="DEP-42", payment_id="pi_42")
    # The header exactly as the SDK's own helper makes it.
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET)
    event = verify(body, header)
    assert (event.event_id, event.type, event.provider_payment_id, event.reference) == (
        "evt_ok_1", EventType.PAYMENT_SUCCEEDED, "pi_42", "DEP-42")
    assert event.amount == Decimal("10.50") and event.currency == "USD" and event.status == "succeeded"


def test_the_signature_header_is_found_whatever_its_case():
    body = event_body()
    event = adapter().verify_webhook(raw_body=body, headers={"stripe-signature": signature_header(body, SECRET)})
    assert event.type == EventType.PAYMENT_SUCCEEDED


def test_a_body_signed_with_another_secret_is_refused():
    body = event_body()
    with pytest.raises(InvalidSignature, match="No signatures found matching"):
        verify(body, signature_header(body, "whsec_someone_else"))


def test_a_body_changed_after_signing_is_refused():
    body = event_body(amount=1050)
    header = signature_header(body, SECRET)
    with pytest.raises(InvalidSignature):
        verify(body.replace(b'"amount": 1050', b'"amount": 9050'), header)


def test_a_timestamp_older_than_the_tolerance_is_refused_even_with_a_valid_signature():
    body = event_body()
    with pytest.raises(InvalidSignature, match="Timestamp outside the tolerance zone"):
        verify(body, signature_header(body, SECRET, timestamp=int(time.time()) - 301))


def test_a_timestamp_just_inside_the_tolerance_is_accepted():
    body = event_body()
    assert verify(body, signature_header(body, SECRET, timestamp=int(time.time()) - 290)).event_id


def test_the_tolerance_comes_from_the_connection_settings():
    body = event_body()
    header = signature_header(body, SECRET, timestamp=int(time.time()) - 120)
    assert verify(body, header).event_id  # default 300 s
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(body, header, SECRET, webhook_tolerance_s=60)


def test_one_valid_v1_among_several_is_enough():
    body = event_body()
    ts = int(time.time())
    header = f"t={ts},v1={'0' * 64},v1={v1(body, SECRET, ts)},v1={v1(body, 'whsec_other', ts)}"
    assert verify(body, header).event_id


def test_any_configured_secret_verifies_during_a_rotation_and_a_retired_one_does_not():
    body = event_body()
    rotating = (SECRET, OLD_SECRET)  # newest first
    assert verify(body, signature_header(body, OLD_SECRET), *rotating).event_id
    assert verify(body, signature_header(body, SECRET), *rotating).event_id
    # Stripe signs with both while a rolled secret is active: one header, two v1 values.
    assert verify(body, signature_header(body, SECRET, OLD_SECRET), *rotating).event_id
    with pytest.raises(InvalidSignature):
        verify(body, signature_header(body, OLD_SECRET), SECRET)  # rotation finished: old secret retired


def test_a_stale_timestamp_is_refused_whichever_rotated_secret_matches():
    body = event_body()
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(body, signature_header(body, OLD_SECRET, timestamp=int(time.time()) - 3600), SECRET, OLD_SECRET)


def test_a_v0_signature_is_ignored_even_when_it_is_correct():
    body = event_body()
    ts = int(time.time())
    with pytest.raises(InvalidSignature, match="No signatures found with expected scheme v1"):
        verify(body, f"t={ts},v0={v1(body, SECRET, ts)}")
    # Stripe's test mode adds a meaningless v0 next to the real v1: it must not get in the way.
    assert verify(body, f"t={ts},v1={v1(body, SECRET, ts)},v0={'f' * 64}").event_id


@pytest.mark.parametrize("header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=1", "t=,v1=", ",,,=,="])
def test_a_missing_or_garbled_header_is_refused(header):
    with pytest.raises(InvalidSignature):
        verify(event_body(), header or None)


def test_no_configured_secret_refuses_everything():
    body = event_body()
    with pytest.raises(InvalidSignature, match="No webhook signing secret"):
        StripeAdapter(provider_code="stripe").verify_webhook(
            raw_body=body, headers={"Stripe-Signature": signature_header(body, SECRET)})


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"null", b'{"id": "evt_1"}',
                                  b'{"id": "evt_1", "type": "payment_intent.succeeded", "data": {}}',
                                  b"[" * 100_000 + b"]" * 100_000],
                         ids=["broken", "array", "null", "no type", "no object", "deeply nested"])
def test_a_correctly_signed_body_that_is_not_an_event_is_an_invalid_payload(body):
    with pytest.raises(InvalidPayload):
        verify(body, signature_header(body, SECRET))


def test_bad_json_without_a_valid_signature_is_an_invalid_signature_not_a_payload_error():
    with pytest.raises(InvalidSignature):
        verify(b"{not json", signature_header(b"{other}", SECRET))


def test_a_body_that_is_not_utf8_cannot_be_verified():
    body = b'{"id": "evt_\xff\xfe"}'
    ts = int(time.time())
    header = f"t={ts},v1={v1(body, SECRET, ts)}"
    with pytest.raises(InvalidSignature, match="not UTF-8"):
        verify(body, header)


def test_the_sandbox_adapter_verifies_with_the_same_scheme():
    body = event_body()
    event = adapter(cls=SandboxAdapter).verify_webhook(raw_body=body, headers={"Stripe-Signature": signature_header(body, SECRET)})
    assert event.type == EventType.PAYMENT_SUCCEEDED


# --- mapping Stripe's events to ours ------------------------------------------------------------------------

def mapped(body: bytes):
    return verify(body, signature_header(body, SECRET))


def test_a_failed_payment_carries_the_decline_code_for_staff_and_the_reason_for_the_client():
    body = event_body(event_type="payment_intent.payment_failed", last_payment_error={
        "type": "card_error", "code": "card_declined", "decline_code": "card_velocity_exceeded",
        "message": "Your card was declined.", "charge": "ch_1"})
    event = mapped(body)
    assert event.type == EventType.PAYMENT_FAILED and event.status == "failed"
    assert event.failure_code == "card_velocity_exceeded" and event.failure_reason == "limit_exceeded"
    assert "exceeded your card's daily limit" in event.failure_message_for_client
    assert event.failure_next_step


def test_a_fraud_decline_reaches_the_client_as_a_generic_issuer_decline():
    body = event_body(event_type="payment_intent.payment_failed", last_payment_error={
        "type": "card_error", "code": "card_declined", "decline_code": "fraudulent"})
    event = mapped(body)
    assert event.failure_code == "fraudulent"  # staff may see it
    assert event.failure_reason == "issuer_declined"
    assert "fraud" not in event.failure_message_for_client.lower()


def test_an_error_without_a_decline_code_maps_its_code():
    body = event_body(event_type="payment_intent.payment_failed",
                      last_payment_error={"type": "card_error", "code": "expired_card"})
    assert mapped(body).failure_reason == "card_expired"


@pytest.mark.parametrize(("refunded", "amount_refunded", "status"),
                         [(False, 400, "partially_refunded"), (True, 1050, "refunded")])
def test_a_refund_maps_to_its_payment_with_the_cumulative_amount(refunded, amount_refunded, status):
    charge = {"id": "ch_9", "object": "charge", "amount": 1050, "amount_refunded": amount_refunded,
              "refunded": refunded, "payment_intent": "pi_9", "currency": "eur", "metadata": {"reference": "DEP-9"}}
    body = json.dumps({"id": "evt_r", "object": "event", "type": "charge.refunded", "created": 1,
                       "data": {"object": charge}}).encode()
    event = mapped(body)
    assert (event.type, event.provider_payment_id, event.reference, event.status) == (
        EventType.PAYMENT_REFUNDED, "pi_9", "DEP-9", status)
    assert event.amount == Decimal(amount_refunded) / 100 and event.currency == "EUR"


def test_zero_and_three_decimal_currencies_keep_their_precision():
    assert mapped(event_body(amount=1050, currency="jpy")).amount == Decimal("1050")
    assert mapped(event_body(amount=1050, currency="kwd")).amount == Decimal("1.050")


def test_a_type_we_do_not_map_keeps_the_psps_name():
    body = json.dumps({"id": "evt_c", "object": "event", "type": "customer.created", "created": 1,
                       "data": {"object": {"id": "cus_1", "object": "customer"}}}).encode()
    event = mapped(body)
    assert event.type == "customer.created" and event.provider_type == "customer.created"


# --- parity with the SDK's construct_event ------------------------------------------------------------------

def _cases():
    body, ts = event_body(), int(time.time())
    return {
        "valid": (body, signature_header(body, SECRET)),
        "wrong secret": (body, signature_header(body, "whsec_x")),
        "stale": (body, signature_header(body, SECRET, timestamp=ts - 400)),
        "two v1, second valid": (body, f"t={ts},v1={'a' * 64},v1={v1(body, SECRET, ts)}"),
        "only v0": (body, f"t={ts},v0={v1(body, SECRET, ts)}"),
        "no t": (body, f"v1={v1(body, SECRET, ts)}"),
        "bad JSON, signed": (b"{nope", signature_header(b"{nope", SECRET)),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_our_verdict_matches_the_sdks_construct_event(case):
    body, header = _cases()[case]
    try:
        stripe.Webhook.construct_event(body, header, SECRET)
        sdk = "ok"
    except stripe.SignatureVerificationError:
        sdk = "signature"
    except ValueError:
        sdk = "payload"
    try:
        verify(body, header)
        ours = "ok"
    except InvalidSignature:
        ours = "signature"
    except InvalidPayload:
        ours = "payload"
    assert ours == sdk
