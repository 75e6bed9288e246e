"""The Stripe adapter's outgoing calls, against a local stub of Stripe's API (there is no network here): what it
sends (form-encoded params, the secret key, an idempotency key derived from OUR reference) and how it reads
the answers and errors."""
from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from tenant_apps.payments.adapters.base import (
    Credentials,
    Customer,
    NotSupported,
    PayoutDestination,
    PspNotConfigured,
    PspRejected,
)
from tenant_apps.payments.adapters.stripe import StripeAdapter


class StubStripe:
    """Records each request; answers from a queue of (status, body)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                stub.requests.append({"path": self.path, "headers": dict(self.headers), "form": parse_qs(body)})
                status, payload = stub.answers.pop(0)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def stub():
    s = StubStripe()
    yield s
    s.server.shutdown()
    s.server.server_close()


def adapter(stub, key: str = "sk_test_123") -> StripeAdapter:
    return StripeAdapter(provider_code="stripe", settings={"api_base": stub.url, "statement_label": "Alpha deposit"},
                         credentials=Credentials(api_key=key))


CLIENT = Customer(client_id="42", email="trader@alpha.test", name="Maria Garcia", country="CY")


def test_a_checkout_session_is_created_with_an_idempotency_key_from_our_reference(stub):
    stub.answers.append((200, {"id": "cs_test_1", "object": "checkout.session", "url": "https://checkout.stripe.test/c/1",
                               "payment_intent": None, "expires_at": 1_900_000_000}))
    session = adapter(stub).create_payment(amount=Decimal("10.50"), currency="USD", reference="DEP-1", customer=CLIENT,
                                           return_url="https://alpha.example/deposits/DEP-1")
    assert (session.provider_payment_id, session.hosted_url) == ("cs_test_1", "https://checkout.stripe.test/c/1")
    [sent] = stub.requests
    assert sent["path"] == "/v1/checkout/sessions"
    assert sent["headers"]["Idempotency-Key"] == "brokeros:payment:DEP-1"
    assert sent["headers"]["Authorization"] == "Bearer sk_test_123"
    form = sent["form"]
    assert form["line_items[0][price_data][unit_amount]"] == ["1050"]
    assert form["line_items[0][price_data][currency]"] == ["usd"]
    assert form["metadata[reference]"] == ["DEP-1"] and form["payment_intent_data[metadata][reference]"] == ["DEP-1"]
    assert form["client_reference_id"] == ["DEP-1"] and form["mode"] == ["payment"]


def test_a_payout_is_a_refund_of_the_original_card_payment_with_its_own_key(stub):
    stub.answers.append((200, {"id": "re_1", "object": "refund", "status": "succeeded"}))
    result = adapter(stub).create_payout(amount=Decimal("5.00"), currency="EUR", reference="WD-9", destination=PayoutDestination(
        kind="original_payment", original_payment_id="pi_1"))
    assert (result.provider_payout_id, result.status) == ("re_1", "paid")
    [sent] = stub.requests
    assert (sent["path"], sent["headers"]["Idempotency-Key"]) == ("/v1/refunds", "brokeros:payout:WD-9")
    assert sent["form"]["payment_intent"] == ["pi_1"] and sent["form"]["amount"] == ["500"]


def test_a_bank_payout_is_not_something_stripe_does_for_us(stub):
    with pytest.raises(NotSupported):
        adapter(stub).create_payout(amount=Decimal("5"), currency="EUR", reference="WD-1",
                                    destination=PayoutDestination(kind="bank_account", account="DE89"))
    assert stub.requests == []


def test_a_refused_request_is_a_typed_rejection(stub):
    stub.answers.append((400, {"error": {"type": "invalid_request_error", "code": "amount_too_small",
                                         "message": "Amount must be at least $0.50 usd"}}))
    with pytest.raises(PspRejected) as caught:
        adapter(stub).create_payment(amount=Decimal("0.10"), currency="USD", reference="DEP-2", customer=CLIENT,
                                     return_url="https://alpha.example/")
    assert caught.value.code == "stripe_amount_too_small" and not caught.value.retryable


def test_without_a_secret_key_nothing_is_sent(stub):
    with pytest.raises(PspNotConfigured):
        adapter(stub, key="").create_payment(amount=Decimal("1"), currency="USD", reference="DEP-3", customer=CLIENT,
                                             return_url="https://alpha.example/")
    assert stub.requests == []
