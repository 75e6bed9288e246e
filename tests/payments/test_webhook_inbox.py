"""The durable webhook inbox over HTTP: POST /webhooks/psp/<code>/ on a brokerage's host verifies, stores raw in one
INSERT, queues processing after commit and answers at once; garbage is stored and refused, never a 500."""
from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, transaction
from django_tenants.utils import tenant_context

from tenant_apps.brokerage.models import LegalEntity, PaymentProviderConfig
from tenant_apps.payments import services
from tenant_apps.payments.models import WebhookEvent, WebhookStatus
from tenant_apps.payments.webhooks import handlers_overridden
from tests.payments.conftest import event_body, inbox, signature_header

URL = "/webhooks/psp/sandbox/"


@pytest.fixture
def post(tenant_client):
    def send(brokerage, body: bytes, header: str | None, url: str = URL, **extra):
        if header is not None:
            extra["HTTP_STRIPE_SIGNATURE"] = header
        return tenant_client(brokerage).post(url, data=body, content_type="application/json", **extra)

    return send


def test_a_genuine_event_is_answered_200_stored_raw_once_and_queued_after_commit(
        webhook_secrets, tenants, post, django_capture_on_commit_callbacks):
    alpha = tenants["alpha"]
    body = event_body(event_id="evt_genuine_1", reference="DEP-7", payment_id="pi_7")
    with django_capture_on_commit_callbacks() as queued:
        response = post(alpha, body, signature_header(body, webhook_secrets["alpha"]))
    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False}
    [row] = inbox(alpha)
    assert bytes(row.raw_body) == body  # the exact bytes, for re-verification and forensics
    assert (row.provider_code, row.provider_kind, row.event_id, row.event_type, row.provider_event_type) == (
        "sandbox", "sandbox", "evt_genuine_1", "payment.succeeded", "payment_intent.succeeded")
    assert (row.provider_payment_id, row.reference, row.status, row.signature_valid) == (
        "pi_7", "DEP-7", WebhookStatus.RECEIVED, True)
    assert row.processing_attempts == 0 and row.processed_at is None
    assert row.headers["Stripe-Signature"].startswith("t=") and "Cookie" not in row.headers
    assert len(queued) == 1  # one processing message, sent only once the row is committed


def test_a_redelivered_event_is_answered_200_and_absorbed_by_the_database(
        webhook_secrets, tenants, post, django_capture_on_commit_callbacks):
    alpha = tenants["alpha"]
    body = event_body(event_id="evt_twice")
    post(alpha, body, signature_header(body, webhook_secrets["alpha"]))
    with django_capture_on_commit_callbacks() as queued:
        # A redelivery is signed again (new timestamp) over the same body.
        again = post(alpha, body, signature_header(body, webhook_secrets["alpha"], timestamp=1_900_000_000))
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": True}
    assert len(inbox(alpha, event_id="evt_twice")) == 1
    assert queued == []


def test_an_invalid_signature_is_answered_400_kept_for_forensics_and_never_processed(
        webhook_secrets, tenants, post, django_capture_on_commit_callbacks):
    alpha = tenants["alpha"]
    body = event_body(event_id="evt_forged")
    calls = []
    with django_capture_on_commit_callbacks() as queued:
        response = post(alpha, body, signature_header(body, "whsec_attacker"), HTTP_USER_AGENT="curl/8")
    assert response.status_code == 400 and response.json()["code"] == "invalid_signature"
    [row] = inbox(alpha)
    assert (row.status, row.signature_valid, row.event_id) == (WebhookStatus.REJECTED, False, "evt_forged")
    assert "No signatures found matching" in row.signature_error
    assert bytes(row.raw_body) == body and row.headers["User-Agent"] == "curl/8"
    assert queued == []
    with tenant_context(alpha), handlers_overridden({"payment.succeeded": lambda **kw: calls.append(kw)}):
        assert services.webhook_event_process(event_pk=row.pk) == "skipped:rejected"
    assert calls == []


def test_a_forged_delivery_cannot_take_the_id_of_the_genuine_event(webhook_secrets, tenants, post):
    alpha = tenants["alpha"]
    body = event_body(event_id="evt_contested")
    assert post(alpha, body, signature_header(body, "whsec_attacker")).status_code == 400
    assert post(alpha, body, signature_header(body, webhook_secrets["alpha"])).status_code == 200
    assert sorted(r.status for r in inbox(alpha, event_id="evt_contested")) == ["received", "rejected"]


def test_the_database_refuses_to_mark_an_unsigned_delivery_processed(webhook_secrets, tenants, post):
    alpha = tenants["alpha"]
    body = event_body()
    post(alpha, body, None)
    with tenant_context(alpha):
        row = WebhookEvent.objects.get()
        with pytest.raises(IntegrityError), transaction.atomic():
            WebhookEvent.objects.filter(pk=row.pk).update(status=WebhookStatus.PROCESSED, processed_at=row.received_at)


def test_a_body_over_the_limit_is_refused_with_413_and_not_stored(webhook_secrets, tenants, post):
    alpha = tenants["alpha"]
    body = event_body(description="x" * services.WEBHOOK_MAX_BODY_BYTES)
    response = post(alpha, body, signature_header(body, webhook_secrets["alpha"]))
    assert response.status_code == 413 and response.json()["code"] == "request_too_large"
    assert inbox(alpha) == []


def test_a_body_just_under_the_limit_is_accepted(webhook_secrets, tenants, post):
    alpha = tenants["alpha"]
    body = event_body(description="")
    body = event_body(description="x" * (services.WEBHOOK_MAX_BODY_BYTES - len(body) - 10))
    assert len(body) <= services.WEBHOOK_MAX_BODY_BYTES
    assert post(alpha, body, signature_header(body, webhook_secrets["alpha"])).status_code == 200


GARBAGE = {
    "empty body, no header": (b"", None),
    "not JSON, no header": (b"\x00\xff\xfe garbage", None),
    "JSON, header garbled": (b'{"id": "evt_x"}', "t=soon,v1=nothing"),
    "header of another body": (b'{"id": "evt_x"}', signature_header(b"{}", "whsec_alpha_0123456789abcdef0123456789")),
    "not UTF-8, signed bytes": (b"\xff\xfe\xfd", "t=1,v1=" + "0" * 64),
    "huge header": (b"{}", "t=1," + "v1=ab," * 5000),
}


@pytest.mark.parametrize(("body", "header"), GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_is_refused_with_400_stored_as_rejected_and_never_a_500(webhook_secrets, tenants, post, body, header):
    alpha = tenants["alpha"]
    response = post(alpha, body, header)
    assert response.status_code == 400, response.content
    assert json.loads(response.content)["code"] == "invalid_signature"
    [row] = inbox(alpha)
    assert row.status == WebhookStatus.REJECTED and not row.signature_valid and row.signature_error


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"id": "evt_1", "type": "x"}', b"[" * 50_000 + b"]" * 50_000],
                         ids=["broken JSON", "array", "no data", "deeply nested"])
def test_a_correctly_signed_body_that_is_no_event_is_refused_and_kept_with_a_valid_signature(
        webhook_secrets, tenants, post, body):
    alpha = tenants["alpha"]
    response = post(alpha, body, signature_header(body, webhook_secrets["alpha"]))
    assert response.status_code == 400 and response.json()["code"] == "invalid_payload"
    [row] = inbox(alpha)
    assert (row.status, row.signature_valid) == (WebhookStatus.REJECTED, True)


def test_without_a_configured_secret_every_delivery_is_refused(db, tenants, post):
    body = event_body()
    response = post(tenants["alpha"], body, signature_header(body, "whsec_anything"))
    assert response.status_code == 400 and "No webhook signing secret" in response.json()["message"]


def test_an_unknown_provider_or_one_without_webhooks_is_404(webhook_secrets, tenants, post):
    alpha = tenants["alpha"]
    with tenant_context(alpha):
        PaymentProviderConfig.objects.create(code="wire", kind="bank_wire", display_name="Bank wire",
                                             legal_entity=LegalEntity.objects.get(is_default=True))
    body = event_body()
    for url in ("/webhooks/psp/nope/", "/webhooks/psp/wire/"):
        response = post(alpha, body, signature_header(body, webhook_secrets["alpha"]), url=url)
        assert response.status_code == 404 and response.json()["code"] == "unknown_provider"
    assert inbox(alpha) == []


def test_only_post_is_answered(webhook_secrets, tenants, tenant_client):
    response = tenant_client(tenants["alpha"]).get(URL)
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_a_webhook_sent_to_alphas_host_lands_in_alphas_schema_only(webhook_secrets, tenants, post):
    alpha, beta = tenants["alpha"], tenants["beta"]
    body = event_body(event_id="evt_for_alpha")
    assert post(alpha, body, signature_header(body, webhook_secrets["alpha"])).status_code == 200
    assert [r.event_id for r in inbox(alpha)] == ["evt_for_alpha"] and inbox(beta) == []
    # The same delivery aimed at beta's host is checked against beta's secret: refused, kept in beta only.
    assert post(beta, body, signature_header(body, webhook_secrets["alpha"])).status_code == 400
    assert [(r.event_id, r.status) for r in inbox(beta)] == [("evt_for_alpha", "rejected")]
    assert len(inbox(alpha)) == 1


def test_the_answer_never_waits_for_the_handler(webhook_secrets, tenants, post):
    def explode(**kwargs):
        raise AssertionError("handlers run in the worker, not in the request")

    body = event_body()
    with handlers_overridden({"payment.succeeded": explode}):
        assert post(tenants["alpha"], body, signature_header(body, webhook_secrets["alpha"])).status_code == 200
