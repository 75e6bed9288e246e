"""Scenarios 5 and 6 through HTTP on alpha and beta: the client starts a deposit in the Trader's Room, pays on
the sandbox PSP's hosted page, the PSP's signed callbacks arrive at the webhook endpoint; the client sees an
honest status and every step; declines show the specific reason and a next step; money moves exactly once."""
from __future__ import annotations

import random
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.audit.models import AuditEntry
from tenant_apps.ledger.selectors import entries_for_object
from tenant_apps.payments.models import Deposit, WebhookEvent
from tests.payments.conftest import event_body
from tests.payments.money.conftest import deliver_all, event_bodies, post_webhook, process_inbox
from tests.payments.test_sandbox_psp import pay

SLUGS = ["alpha", "beta"]
SUCCESS = "4242424242424242"


def start_deposit(ctx, amount="100.00") -> Deposit:
    response = ctx.http.post("/money/deposit/", {"method": "card", "amount": amount, "currency": "USD"})
    assert response.status_code == 302, response.content[:500]
    hosted = response["Location"]
    assert urlsplit(hosted).netloc == urlsplit(ctx.psp.url).netloc  # sent to the PSP's hosted page
    with tenant_context(ctx.brokerage):
        return Deposit.objects.get(hosted_url=hosted)


def wallet_balance(ctx) -> Decimal:
    from tenant_apps.payments.services._flow import wallet_of

    with tenant_context(ctx.brokerage):
        return wallet_of(client_id=ctx.client.pk, currency="USD").balance


def credits(ctx, deposit) -> int:
    with tenant_context(ctx.brokerage):
        return len(entries_for_object(reference=deposit))


def refreshed(ctx, deposit) -> Deposit:
    with tenant_context(ctx.brokerage):
        return Deposit.objects.get(pk=deposit.pk)


def client_page(ctx, deposit) -> str:
    response = ctx.http.get(f"/money/deposit/{deposit.pk}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("slug", SLUGS)
def test_a_paid_deposit_is_credited_once_and_the_client_sees_every_step(money, slug):
    ctx = money[slug]
    deposit = start_deposit(ctx)
    assert refreshed(ctx, deposit).status == "pending_psp"
    assert pay(deposit.hosted_url, SUCCESS).status == 303
    deliver_all(ctx, deposit.provider_payment_id)
    deposit = refreshed(ctx, deposit)
    assert deposit.status == "credited" and wallet_balance(ctx) == Decimal("100.00") and credits(ctx, deposit) == 1
    page = client_page(ctx, deposit)
    assert "Credited to your wallet" in page
    for step in ("Started", "Waiting for the payment provider", "Payment confirmed", "Credited"):
        assert step in page
    with tenant_context(ctx.brokerage):
        assert AuditEntry.objects.filter(action="deposit.credited", object_id=str(deposit.pk)).exists()
    other = money["beta" if slug == "alpha" else "alpha"]
    assert other.http.get(f"/money/deposit/{deposit.pk}/").status_code == 404  # never another brokerage's


@pytest.mark.parametrize("slug", SLUGS)
def test_a_deposit_whose_callback_never_comes_shows_an_honest_status_and_the_poll_settles_it_once(money, slug):
    from tenant_apps.payments.services.deposits import deposits_poll_pending

    ctx = money[slug]
    deposit = start_deposit(ctx)
    assert pay(deposit.hosted_url, SUCCESS).status == 303  # the PSP took the money; its callback is lost
    page = client_page(ctx, deposit)
    assert "Waiting for the payment provider&#x27;s confirmation since" in page
    assert refreshed(ctx, deposit).status == "pending_psp" and wallet_balance(ctx) == 0
    with tenant_context(ctx.brokerage):
        assert deposits_poll_pending() == 0  # not silent long enough yet
        Deposit.objects.filter(pk=deposit.pk).update(status_changed_at=timezone.now() - timezone.timedelta(hours=1))
        assert deposits_poll_pending() == 1
    assert refreshed(ctx, deposit).status == "credited" and wallet_balance(ctx) == Decimal("100.00")
    # the late callback, then a duplicate of it: recorded, nothing moves again
    deliver_all(ctx, deposit.provider_payment_id)
    deliver_all(ctx, deposit.provider_payment_id)
    assert credits(ctx, deposit) == 1 and wallet_balance(ctx) == Decimal("100.00")
    with tenant_context(ctx.brokerage):
        sources = list(deposit.events.values_list("source", flat=True))
    assert sources == ["client", "client", "poll", "poll"]


@pytest.mark.parametrize("slug", SLUGS)
def test_a_failure_after_a_success_never_overwrites_it(money, slug):
    from tests.payments.money.conftest import control

    ctx = money[slug]
    control(ctx.psp, ctx.api_key, "POST", "/_control/faults", {"drop": True, "reorder": True})
    deposit = start_deposit(ctx)
    pay(deposit.hosted_url, SUCCESS)
    bodies = event_bodies(ctx, deposit.provider_payment_id)
    types = [b'"payment_intent.succeeded"' in b for b in bodies]
    assert types == [True, False]  # the PSP's order: success, then a stale failure
    for body in bodies:
        post_webhook(ctx, body)
    process_inbox(ctx)
    deposit = refreshed(ctx, deposit)
    assert deposit.status == "credited" and deposit.failure_reason == "" and credits(ctx, deposit) == 1
    assert "declined" not in client_page(ctx, deposit)
    with tenant_context(ctx.brokerage):
        assert AuditEntry.objects.filter(action="deposit.stale_failure_ignored", object_id=str(deposit.pk)).exists()


DECLINES = {
    "4000000000000002": ("declined by the issuer", "Contact your card issuer"),
    "4000000000006975": ("exceeded your card&#x27;s daily limit", "raise the limit"),
    "4000000000007601": ("geographic restriction", "allow international payments"),
    "4100000000000019": ("declined by the issuer", "Contact your card issuer"),  # fraud: never disclosed
}


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize(("card", "expected"), DECLINES.items(), ids=["issuer", "limit", "geo", "fraud"])
def test_a_declined_card_shows_the_specific_reason_and_a_next_step(money, slug, card, expected):
    ctx = money[slug]
    deposit = start_deposit(ctx)
    assert pay(deposit.hosted_url, card).status == 402
    deliver_all(ctx, deposit.provider_payment_id)
    deposit = refreshed(ctx, deposit)
    assert deposit.status == "failed" and wallet_balance(ctx) == 0
    page = client_page(ctx, deposit)
    reason, next_step = expected
    assert reason in page and next_step in page and "Try again" in page
    assert "fraudulent" not in page


@pytest.mark.parametrize("slug", SLUGS)
def test_the_client_retries_on_the_same_page_after_a_decline_and_is_credited(money, slug):
    ctx = money[slug]
    deposit = start_deposit(ctx)
    pay(deposit.hosted_url, "4000000000009995")
    pay(deposit.hosted_url, SUCCESS)
    deliver_all(ctx, deposit.provider_payment_id)
    deposit = refreshed(ctx, deposit)
    assert deposit.status == "credited" and credits(ctx, deposit) == 1
    with tenant_context(ctx.brokerage):
        assert [e.to_status for e in deposit.events.all()] == ["initiated", "pending_psp", "failed", "succeeded",
                                                                "credited"]


def test_the_same_webhook_a_thousand_times_and_shuffled_with_its_failure_moves_money_once(money):
    ctx = money["alpha"]
    deposit = start_deposit(ctx, amount="250.00")
    success = event_body(event_type="payment_intent.succeeded", amount=25000, reference=deposit.reference,
                         payment_id=deposit.provider_payment_id)
    for _ in range(1000):
        assert post_webhook(ctx, success).status_code == 200
    # the PSP also re-sends the outcome under new event ids, mixed with failures of the same payment
    bodies = [event_body(event_type=t, amount=25000, reference=deposit.reference,
                         payment_id=deposit.provider_payment_id,
                         last_payment_error={"type": "card_error", "code": "card_declined",
                                             "decline_code": "generic_decline"} if t.endswith("failed") else None)
              for t in ["payment_intent.succeeded"] * 50 + ["payment_intent.payment_failed"] * 50]
    random.Random(6).shuffle(bodies)
    for body in bodies:
        post_webhook(ctx, body)
    process_inbox(ctx)
    deposit = refreshed(ctx, deposit)
    assert deposit.status == "credited" and credits(ctx, deposit) == 1 and wallet_balance(ctx) == Decimal("250.00")
    with tenant_context(ctx.brokerage):
        assert WebhookEvent.objects.filter(provider_payment_id=deposit.provider_payment_id).count() == 101
        assert not WebhookEvent.objects.filter(status="received").exists()


def test_a_worker_crash_right_after_the_ledger_credit_rolls_back_and_the_retry_completes_once(money, monkeypatch):
    from tenant_apps.payments import services
    from tenant_apps.payments.services import deposits

    ctx = money["alpha"]
    deposit = start_deposit(ctx)
    body = event_body(event_type="payment_intent.succeeded", amount=10000, reference=deposit.reference,
                      payment_id=deposit.provider_payment_id)
    post_webhook(ctx, body)

    def crash(deposit):
        raise RuntimeError("worker killed after the ledger credit")

    monkeypatch.setattr(deposits, "after_credit", crash)
    process_inbox(ctx)
    with tenant_context(ctx.brokerage):
        event = WebhookEvent.objects.get(provider_payment_id=deposit.provider_payment_id)
        assert event.status == "received" and "worker killed" in event.last_error
    assert refreshed(ctx, deposit).status == "pending_psp"
    assert credits(ctx, deposit) == 0 and wallet_balance(ctx) == 0  # the credit rolled back with the crash
    monkeypatch.undo()
    with tenant_context(ctx.brokerage):
        assert services.webhook_event_process(event_pk=event.pk) == "processed"
        assert services.webhook_event_process(event_pk=event.pk) == "skipped:processed"
    assert refreshed(ctx, deposit).status == "credited" and credits(ctx, deposit) == 1
    assert wallet_balance(ctx) == Decimal("100.00")


@pytest.mark.parametrize("slug", SLUGS)
def test_review_triggers_stop_a_deposit_and_finance_credits_it_from_the_queue(money, slug):
    from tenant_apps.payments.services._flow import money_rules

    ctx = money[slug]
    with tenant_context(ctx.brokerage):
        rules = money_rules()
        rules.review_first_deposit, rules.deposit_review_over = True, Decimal("5000")
        rules.save()
    deposit = start_deposit(ctx, amount="6000.00")
    body = event_body(event_type="payment_intent.succeeded", amount=600000, reference=deposit.reference,
                      payment_id=deposit.provider_payment_id, metadata={"reference": deposit.reference,
                                                                        "payer_name": "John Smith"})
    post_webhook(ctx, body)
    process_inbox(ctx)
    deposit = refreshed(ctx, deposit)
    assert deposit.status == "under_review" and wallet_balance(ctx) == 0
    assert "first deposit" in deposit.review_reasons
    assert any("threshold" in r for r in deposit.review_reasons)
    assert any("John Smith" in r for r in deposit.review_reasons)
    assert "being checked by our team" in client_page(ctx, deposit)
    queue = ctx.staff_http("finance").get("/backoffice/money/deposits/").content.decode()
    assert deposit.reference in queue and "first deposit" in queue
    assert ctx.staff_http("support").post(f"/backoffice/money/deposits/{deposit.pk}/",
                                          {"action": "approve"}).status_code == 403
    response = ctx.staff_http("finance").post(f"/backoffice/money/deposits/{deposit.pk}/", {"action": "approve"})
    assert response.status_code == 302
    assert refreshed(ctx, deposit).status == "credited" and wallet_balance(ctx) == Decimal("6000.00")
