"""The bundled sandbox PSP in-process on a free port, against the real web app on another: its hosted page's test
cards choose the outcome, its signed callbacks land verified in the right brokerage's inbox, and its faults (drop,
delay, duplicate, reorder) and retries are observable; its settlement report matches what happened."""
from __future__ import annotations

import html
import http.client
import json
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.audit.models import AuditEntry
from tenant_apps.payments import crypto, services
from tenant_apps.payments.adapters.base import (
    Credentials,
    Customer,
    EventType,
    PayoutDestination,
    PspRejected,
)
from tenant_apps.payments.adapters.sandbox import SandboxAdapter
from tenant_apps.payments.models import PspCredentials
from tenant_apps.payments.sandbox_psp.cards import CARDS
from tests.payments.conftest import credentials_write, inbox, wait_for

RETURN_URL = "http://alpha.localhost:8000/deposits/return?d=1"
CLIENT = Customer(client_id="7", email="trader@alpha.test", name="Maria Garcia", country="CY")


def control(psp, api_key: str, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(psp.url + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"{}")


def pay(hosted_url: str, card_number: str, name: str = "Maria Garcia") -> http.client.HTTPResponse:
    """Submit the hosted page as a browser would (without following the redirect back to the broker)."""
    parts = urlsplit(hosted_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("POST", parts.path, body=urlencode({"card_number": card_number, "name": name}),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.body = response.read().decode()
    conn.close()
    return response


def deliveries(psp, api_key: str, payment_id: str) -> list[dict]:
    return control(psp, api_key, "GET", f"/_control/deliveries?payment_id={payment_id}")["deliveries"]


# --- no brokerage needed: the PSP on its own ----------------------------------------------------------------

@pytest.fixture
def merchant(sandbox_psp):
    """A fresh merchant account whose callbacks are dropped (these tests read the PSP's own records)."""
    api_key = f"sk_sandbox_{uuid.uuid4().hex}"
    control(sandbox_psp, api_key, "POST", "/_control/faults", {"drop": True})
    adapter = SandboxAdapter(provider_code="sandbox", settings={"base_url": sandbox_psp.url},
                             credentials=Credentials(api_key=api_key))
    return SimpleNamespace(api_key=api_key, adapter=adapter, psp=sandbox_psp)


def new_payment(adapter, reference: str | None = None, amount: str = "25.00", notify_url: str = "http://x.localhost:1/"):
    return adapter.create_payment(amount=Decimal(amount), currency="USD", reference=reference or uuid.uuid4().hex[:12],
                                  customer=CLIENT, return_url=RETURN_URL, notify_url=notify_url)


@pytest.mark.parametrize("card", CARDS, ids=[c.label for c in CARDS])
def test_the_hosted_page_outcome_follows_the_test_card(merchant, card):
    session = new_payment(merchant.adapter)
    page = urllib.request.urlopen(session.hosted_url, timeout=5).read().decode()
    assert "25.00 USD" in page and 'name="card_number"' in page
    response = pay(session.hosted_url, card.number)
    state = merchant.adapter.payment_status(session.provider_payment_id)
    events = control(merchant.psp, merchant.api_key, "GET", f"/_control/events?payment_id={session.provider_payment_id}")
    [event] = events["events"]
    if card.succeeds:
        assert response.status == 303
        location = urlsplit(response.getheader("Location"))
        assert location.path == "/deposits/return"
        assert parse_qs(location.query) == {"d": ["1"], "payment_id": [session.provider_payment_id],
                                            "status": ["succeeded"]}
        assert state["status"] == "succeeded" and state["amount_received"] == 2500
        assert event["type"] == "payment_intent.succeeded"
    else:
        assert response.status == 402 and html.escape(card.message) in response.body  # the PSP's own page says why
        error = state["last_payment_error"]
        assert state["status"] == "requires_payment_method"
        assert card.decline_code in (error["decline_code"], error["code"])
        assert event["type"] == "payment_intent.payment_failed"


def test_a_declined_client_can_retry_with_another_card_on_the_same_page(merchant):
    session = new_payment(merchant.adapter)
    assert pay(session.hosted_url, "4000000000009995").status == 402
    assert pay(session.hosted_url, "4242424242424242").status == 303
    assert pay(session.hosted_url, "4242424242424242").status == 409  # never paid twice
    types = [e["type"] for e in control(merchant.psp, merchant.api_key, "GET",
                                        f"/_control/events?payment_id={session.provider_payment_id}")["events"]]
    assert types == ["payment_intent.payment_failed", "payment_intent.succeeded"]


def test_an_invalid_card_number_is_refused_by_the_page_without_any_event(merchant):
    session = new_payment(merchant.adapter)
    response = pay(session.hosted_url, "4242424242424241")
    assert response.status == 400 and "not a valid card number" in response.body
    assert control(merchant.psp, merchant.api_key, "GET",
                   f"/_control/events?payment_id={session.provider_payment_id}")["events"] == []


def test_creating_a_payment_again_with_the_same_reference_returns_the_same_payment(merchant):
    first, again = new_payment(merchant.adapter, "DEP-SAME"), new_payment(merchant.adapter, "DEP-SAME")
    assert first == again
    assert new_payment(merchant.adapter, "DEP-OTHER").provider_payment_id != first.provider_payment_id


def test_another_merchants_payments_and_a_bad_key_are_refused(merchant, sandbox_psp):
    session = new_payment(merchant.adapter)
    stranger = SandboxAdapter(provider_code="sandbox", settings={"base_url": sandbox_psp.url},
                              credentials=Credentials(api_key=f"sk_sandbox_{uuid.uuid4().hex}"))
    with pytest.raises(PspRejected):
        stranger.payment_status(session.provider_payment_id)
    bad = SandboxAdapter(provider_code="sandbox", settings={"base_url": sandbox_psp.url},
                         credentials=Credentials(api_key="not-a-key"))
    with pytest.raises(Exception, match="Bearer"):
        bad.payment_status(session.provider_payment_id)


def test_the_settlement_report_lists_what_settled_that_day(merchant):
    paid = new_payment(merchant.adapter, "DEP-S1", amount="25.00")
    declined = new_payment(merchant.adapter, "DEP-S2", amount="40.00")
    pay(paid.hosted_url, "4242424242424242")
    pay(declined.hosted_url, "4000000000000002")
    merchant.adapter.create_payout(amount=Decimal("5.00"), currency="USD", reference="WD-R1", destination=PayoutDestination(
        kind="original_payment", original_payment_id=paid.provider_payment_id))
    merchant.adapter.create_payout(amount=Decimal("10.00"), currency="USD", reference="WD-B1", destination=PayoutDestination(
        kind="bank_account", holder_name="Maria Garcia", account="CY17002001280000001200527600"))
    merchant.adapter.create_payout(amount=Decimal("3.00"), currency="USD", reference="WD-B2", destination=PayoutDestination(
        kind="bank_account", holder_name="Maria Garcia", account="CY17002001280000001200520002"))  # returned
    assert merchant.psp.deliverer.wait_idle(5)
    today = datetime.now(UTC).date()
    lines = {(line.type, line.reference): line for line in merchant.adapter.fetch_settlement_report(day=today)}
    assert set(lines) == {("payment", "DEP-S1"), ("refund", "WD-R1"), ("payout", "WD-B1")}
    payment = lines[("payment", "DEP-S1")]
    assert (payment.amount, payment.fee, payment.net, payment.currency) == (
        Decimal("25.00"), Decimal("0.38"), Decimal("24.62"), "USD")
    assert payment.provider_payment_id == paid.provider_payment_id
    assert lines[("refund", "WD-R1")].amount == Decimal("-5.00") and lines[("payout", "WD-B1")].net == Decimal("-10.00")
    as_json = control(merchant.psp, merchant.api_key, "GET", f"/v1/settlements?date={today.isoformat()}")
    assert sorted(line["amount"] for line in as_json["lines"]) == [-1000, -500, 2500]
    assert merchant.adapter.fetch_settlement_report(day=today - timedelta(days=1)) == []


# --- callbacks into the real web app -------------------------------------------------------------------------

@pytest.fixture
def alpha_on_sandbox(committed_payments, tenants, sandbox_psp, live_app, settings):
    """Alpha's sandbox connection pointed at this PSP with a fresh merchant key; callbacks go to the live app."""
    settings.SANDBOX_PSP_URL = sandbox_psp.url
    api_key = f"sk_sandbox_{uuid.uuid4().hex}"
    # The secret is the one the PSP signs this merchant's callbacks with (what a broker copies from a dashboard).
    credentials_write(tenants["alpha"], api_key=api_key, webhook_secrets=[sandbox_psp.webhook_secret(api_key)])
    with tenant_context(tenants["alpha"]):
        adapter = services.psp_adapter(provider="sandbox")
    yield SimpleNamespace(api_key=api_key, psp=sandbox_psp, adapter=adapter, alpha=tenants["alpha"],
                          beta=tenants["beta"], notify_url=f"http://alpha.localhost:{live_app}/webhooks/psp/sandbox/",
                          port=live_app)
    sandbox_psp.deliverer.wait_idle(10)  # no callback may land after the rows are cleaned up


def faults(ctx, **values):
    control(ctx.psp, ctx.api_key, "POST", "/_control/faults", values)


DECLINE_CASES = {"4242424242424242": (EventType.PAYMENT_SUCCEEDED, ""),
                 "4000000000000002": (EventType.PAYMENT_FAILED, "declined by the issuer"),
                 "4000000000006975": (EventType.PAYMENT_FAILED, "exceeded your card's daily limit"),
                 "4000000000007601": (EventType.PAYMENT_FAILED, "geographic restriction")}


@pytest.mark.parametrize(("card", "expected"), DECLINE_CASES.items(), ids=["success", "issuer", "limit", "geo"])
def test_a_card_payment_reaches_alphas_inbox_verified_and_only_alphas(alpha_on_sandbox, card, expected):
    ctx = alpha_on_sandbox
    session = new_payment(ctx.adapter, "DEP-IN-1", notify_url=ctx.notify_url)
    pay(session.hosted_url, card)
    [row] = wait_for(lambda: inbox(ctx.alpha, provider_payment_id=session.provider_payment_id))
    event_type, says = expected
    assert (row.event_type, row.signature_valid, row.status, row.reference) == (event_type, True, "received", "DEP-IN-1")
    data = ctx.adapter.parse_event(bytes(row.raw_body))
    assert says in data.failure_message_for_client
    assert inbox(ctx.beta) == []


def test_duplicated_callbacks_are_all_answered_and_stored_once(alpha_on_sandbox):
    ctx = alpha_on_sandbox
    faults(ctx, duplicate=3)
    session = new_payment(ctx.adapter, notify_url=ctx.notify_url)
    pay(session.hosted_url, "4242424242424242")
    assert ctx.psp.deliverer.wait_idle(10)
    sent = deliveries(ctx.psp, ctx.api_key, session.provider_payment_id)
    assert sorted((d["copy"], d["outcome"], d["status"]) for d in sent) == [
        (1, "delivered", 200), (2, "delivered", 200), (3, "delivered", 200)]
    assert len(inbox(ctx.alpha, provider_payment_id=session.provider_payment_id)) == 1


def test_reordered_callbacks_bring_a_stale_failure_after_the_success_and_both_are_kept(alpha_on_sandbox):
    ctx = alpha_on_sandbox
    faults(ctx, reorder=True)
    session = new_payment(ctx.adapter, notify_url=ctx.notify_url)
    pay(session.hosted_url, "4242424242424242")
    rows = wait_for(lambda: (r := inbox(ctx.alpha, provider_payment_id=session.provider_payment_id)) and len(r) == 2 and r)
    assert [r.event_type for r in rows] == [EventType.PAYMENT_SUCCEEDED, EventType.PAYMENT_FAILED]  # arrival order
    success, stale = (ctx.adapter.parse_event(bytes(r.raw_body)) for r in rows)
    assert stale.occurred_at < success.occurred_at  # the failure happened first: a workflow must not regress


def test_dropped_callbacks_never_arrive_until_the_psp_sends_them_late(alpha_on_sandbox):
    ctx = alpha_on_sandbox
    faults(ctx, drop=True)
    session = new_payment(ctx.adapter, notify_url=ctx.notify_url)
    pay(session.hosted_url, "4242424242424242")
    assert ctx.psp.deliverer.wait_idle(5)
    [dropped] = deliveries(ctx.psp, ctx.api_key, session.provider_payment_id)
    assert dropped["outcome"] == "dropped"
    time.sleep(0.3)
    assert inbox(ctx.alpha, provider_payment_id=session.provider_payment_id) == []
    # Pending at our end, paid at the PSP's: what a "pending PSP" deposit can ask the PSP.
    assert ctx.adapter.payment_status(session.provider_payment_id)["status"] == "succeeded"
    control(ctx.psp, ctx.api_key, "POST", f"/_control/events/{dropped['event_id']}/redeliver")
    [row] = wait_for(lambda: inbox(ctx.alpha, provider_payment_id=session.provider_payment_id))
    assert row.event_id == dropped["event_id"] and row.event_type == EventType.PAYMENT_SUCCEEDED


def test_delayed_callbacks_arrive_after_the_delay(alpha_on_sandbox):
    ctx = alpha_on_sandbox
    faults(ctx, delay_s=1.0)
    session = new_payment(ctx.adapter, notify_url=ctx.notify_url)
    started = time.monotonic()
    pay(session.hosted_url, "4242424242424242")
    time.sleep(0.5)
    assert inbox(ctx.alpha, provider_payment_id=session.provider_payment_id) == []
    wait_for(lambda: inbox(ctx.alpha, provider_payment_id=session.provider_payment_id))
    assert time.monotonic() - started >= 1.0


def test_a_refused_callback_is_retried_with_growing_backoff_then_given_up(alpha_on_sandbox):
    ctx = alpha_on_sandbox
    # Aimed at beta's host: beta checks it against beta's own secret and refuses it every time.
    beta_url = ctx.notify_url.replace("alpha.localhost", "beta.localhost")
    session = new_payment(ctx.adapter, notify_url=beta_url)
    pay(session.hosted_url, "4242424242424242")
    assert ctx.psp.deliverer.wait_idle(10)
    attempts = deliveries(ctx.psp, ctx.api_key, session.provider_payment_id)
    assert [(a["attempt"], a["status"], a["outcome"]) for a in attempts] == [
        (1, 400, "retry"), (2, 400, "retry"), (3, 400, "retry"), (4, 400, "gave_up")]
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert gaps == sorted(gaps) and gaps[0] >= 0.04  # 50 ms, 100 ms, 200 ms
    assert [r.status for r in inbox(ctx.beta)] == ["rejected"] * 4
    assert inbox(ctx.alpha) == []


def test_payouts_are_confirmed_or_returned_by_callback(alpha_on_sandbox):
    ctx = alpha_on_sandbox
    paid = ctx.adapter.create_payout(amount=Decimal("12.00"), currency="USD", reference="WD-1", notify_url=ctx.notify_url,
                                     destination=PayoutDestination(kind="bank_account", account="DE89370400440532013000"))
    returned = ctx.adapter.create_payout(amount=Decimal("8.00"), currency="USD", reference="WD-2",
                                         notify_url=ctx.notify_url,
                                         destination=PayoutDestination(kind="bank_account", account="DE8937040044053201"
                                                                                                   "0002"))
    assert paid.status == returned.status == "pending"
    [ok] = wait_for(lambda: inbox(ctx.alpha, provider_payment_id=paid.provider_payout_id))
    [bad] = wait_for(lambda: inbox(ctx.alpha, provider_payment_id=returned.provider_payout_id))
    assert (ok.event_type, ok.reference) == (EventType.PAYOUT_PAID, "WD-1")
    assert bad.event_type == EventType.PAYOUT_FAILED
    assert ctx.adapter.parse_event(bytes(bad.raw_body)).failure_code == "account_closed"


# --- connecting a brokerage to the sandbox -------------------------------------------------------------------

def test_connecting_fetches_the_signing_secret_and_stores_it_encrypted_and_audited(db, tenants, sandbox_psp, settings):
    settings.SANDBOX_PSP_URL = sandbox_psp.url
    with tenant_context(tenants["alpha"]):
        # psp_adapter connects a never-connected sandbox connection by itself.
        adapter = services.psp_adapter(provider="sandbox")
        stored = PspCredentials.objects.get(provider__code="sandbox")
        entry = AuditEntry.objects.filter(action="psp_credentials.updated").first()
    api_key, [secret] = adapter.credentials.api_key, adapter.credentials.webhook_secrets
    assert api_key.startswith("sk_sandbox_") and secret == sandbox_psp.webhook_secret(api_key)
    assert api_key not in stored.api_key_encrypted and secret not in stored.webhook_secrets_encrypted
    assert crypto.decrypt(stored.api_key_encrypted) == api_key
    assert stored.api_key_hint == f"sk_…{api_key[-4:]}" and stored.webhook_secret_hints == [f"whsec_…{secret[-4:]}"]
    assert entry is not None and api_key not in json.dumps(entry.changes) and secret not in json.dumps(entry.changes)
