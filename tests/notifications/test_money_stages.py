"""Every money stage tells the client exactly once (a replayed webhook, a duplicate callback or the status poll
never notify again; a stage that rolls back never notifies), on alpha and on beta, each only its own clients."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.payments.models import Withdrawal
from tests.notifications.conftest import kinds_of, told
from tests.payments.money.conftest import deliver_all, fund, post_webhook, process_inbox, psp_events
from tests.payments.money.test_deposits import SUCCESS, refreshed, start_deposit
from tests.payments.money.test_withdrawals import act, request_withdrawal, send_and_settle
from tests.payments.test_sandbox_psp import pay

SLUGS = ["alpha", "beta"]


def other(money, slug):
    return money["beta" if slug == "alpha" else "alpha"]


@pytest.mark.parametrize("slug", SLUGS)
def test_a_paid_deposit_notifies_pending_then_credited_once_even_when_its_webhooks_are_replayed(money, slug):
    ctx = money[slug]
    deposit = start_deposit(ctx, "100.00")
    assert kinds_of(ctx.brokerage, ctx.client) == ["deposit.pending"]
    pay(deposit.hosted_url, SUCCESS)
    deliver_all(ctx, deposit.provider_payment_id)
    for _ in range(3):  # the same callbacks again: the inbox and the deposit's lock make these no-ops
        deliver_all(ctx, deposit.provider_payment_id)
    assert refreshed(ctx, deposit).status == "credited"
    assert kinds_of(ctx.brokerage, ctx.client) == ["deposit.pending", "deposit.credited"]
    credited = told(ctx.brokerage, ctx.client, "deposit.credited")[0]
    assert "100.00 USD" in credited.title and deposit.reference in credited.body
    assert credited.link == f"/money/deposit/{deposit.pk}/" and credited.read_at is None
    # the other brokerage's client heard nothing, and cannot open this one
    peer = other(money, slug)
    assert kinds_of(peer.brokerage, peer.client) == []
    assert peer.http.post(f"/notifications/{credited.pk}/open/").status_code == 404


@pytest.mark.parametrize("slug", SLUGS)
def test_a_declined_deposit_notifies_the_specific_reason_and_next_step_once(money, slug):
    ctx = money[slug]
    deposit = start_deposit(ctx)
    pay(deposit.hosted_url, "4000000000000002")  # declined by the issuer
    deliver_all(ctx, deposit.provider_payment_id)
    deliver_all(ctx, deposit.provider_payment_id)
    assert refreshed(ctx, deposit).status == "failed"
    failed = told(ctx.brokerage, ctx.client, "deposit.failed")
    assert len(failed) == 1
    assert failed[0].importance == 3  # action required: ranked first
    assert "declined by the issuer" in failed[0].body and "Contact your card issuer" in failed[0].body


@pytest.mark.parametrize("slug", SLUGS)
def test_a_deposit_stopped_for_review_notifies_under_review_then_credited_when_finance_approves(money, slug):
    from tenant_apps.payments.services._flow import money_rules
    from tenant_apps.payments.services.deposits import deposit_review_decide

    ctx = money[slug]
    with tenant_context(ctx.brokerage):
        rules = money_rules()
        rules.review_first_deposit = True
        rules.save()
    deposit = start_deposit(ctx)
    pay(deposit.hosted_url, SUCCESS)
    deliver_all(ctx, deposit.provider_payment_id)
    assert refreshed(ctx, deposit).status == "under_review"
    assert kinds_of(ctx.brokerage, ctx.client) == ["deposit.pending", "deposit.under_review"]
    with tenant_context(ctx.brokerage):
        deposit_review_decide(deposit=refreshed(ctx, deposit), actor=ctx.staff["finance"], approve=True)
    assert kinds_of(ctx.brokerage, ctx.client)[-1] == "deposit.credited"


@pytest.mark.parametrize("slug", SLUGS)
def test_a_withdrawal_notifies_each_stage_once_with_the_methods_eta(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("2000.00"))
    w = request_withdrawal(ctx, "1200.00", method="wire")
    assert kinds_of(ctx.brokerage, ctx.client) == ["deposit.credited", "withdrawal.requested",
                                                   "withdrawal.under_review"]
    requested = told(ctx.brokerage, ctx.client, "withdrawal.requested")[0]
    assert "1200.00 USD is reserved" in requested.body and "1–3 business days" in requested.body
    for role in ("support", "compliance", "finance"):
        assert act(ctx, role, w, "approve").status_code == 302
    assert kinds_of(ctx.brokerage, ctx.client)[-1] == "withdrawal.approved"
    w = send_and_settle(ctx, w)
    assert w.status == "received"
    for event in psp_events(ctx, w.provider_payout_id):  # the payout callback replayed
        post_webhook(ctx, json.dumps(event).encode())
    process_inbox(ctx)
    assert kinds_of(ctx.brokerage, ctx.client) == [
        "deposit.credited", "withdrawal.requested", "withdrawal.under_review", "withdrawal.approved",
        "withdrawal.sent", "withdrawal.received"]
    sent = told(ctx.brokerage, ctx.client, "withdrawal.sent")[0]
    assert "Processing time: 1–3 business days — expected by" in sent.body
    assert sent.link == f"/money/withdrawals/{w.pk}/"
    page = ctx.http.get(f"/money/withdrawals/{w.pk}/").content.decode()
    assert 'data-role="eta">1–3 business days' in page


@pytest.mark.parametrize("slug", SLUGS)
def test_a_rejected_withdrawal_notifies_the_reason_the_reviewer_gave(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("500.00"))
    w = request_withdrawal(ctx, "300.00")
    assert act(ctx, "support", w, "reject", reason="The bank account is not in your name").status_code == 302
    rejected = told(ctx.brokerage, ctx.client, "withdrawal.rejected")
    assert len(rejected) == 1 and "The bank account is not in your name" in rejected[0].body


@pytest.mark.parametrize("slug", SLUGS)
def test_a_cancelled_withdrawal_notifies_once_and_the_page_shows_the_expected_date_while_open(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("500.00"))
    w = request_withdrawal(ctx, "300.00", method="wire")
    page = ctx.http.get(f"/money/withdrawals/{w.pk}/").content.decode()
    assert 'data-role="expected-at"' in page and "if sent now, expected by" in page
    assert ctx.http.post(f"/money/withdrawals/{w.pk}/", {"action": "cancel"}).status_code == 302
    ctx.http.post(f"/money/withdrawals/{w.pk}/", {"action": "cancel"})  # a double click
    assert len(told(ctx.brokerage, ctx.client, "withdrawal.cancelled")) == 1
    assert 'data-role="expected-at"' not in ctx.http.get(f"/money/withdrawals/{w.pk}/").content.decode()


@pytest.mark.parametrize("slug", SLUGS)
def test_a_returned_payout_notifies_that_the_money_is_back(money, slug):
    from tenant_apps.payments.services.withdrawals import withdrawal_payout_send, withdrawal_payout_settled

    ctx = money[slug]
    fund(ctx, Decimal("500.00"))
    w = request_withdrawal(ctx, "300.00")
    for role in ("support", "compliance", "finance"):
        act(ctx, role, w, "approve")
    with tenant_context(ctx.brokerage):
        withdrawal_payout_send(withdrawal_id=w.pk)
        w = Withdrawal.objects.get(pk=w.pk)
        for _ in range(2):
            withdrawal_payout_settled(provider_code="sandbox", reference=w.reference,
                                      provider_payout_id=w.provider_payout_id, paid=False, failure_code="account_closed")
    returned = told(ctx.brokerage, ctx.client, "withdrawal.returned")
    assert len(returned) == 1 and "300.00 USD is available in your wallet" in returned[0].body


def test_a_withdrawal_refused_for_insufficient_balance_notifies_nothing(money):
    ctx = money["alpha"]
    before = kinds_of(ctx.brokerage, ctx.client)
    response = ctx.http.post("/money/withdraw/", {"method": "card", "amount": "50.00", "currency": "USD",
                                                  "account": "CY17002001280000001200527600"})
    assert response.status_code == 400
    assert kinds_of(ctx.brokerage, ctx.client) == before  # the step rolled back: nothing was said


@pytest.mark.parametrize("slug", SLUGS)
def test_kyc_decisions_notify_the_client_once_each_with_the_reason(db, tenants, slug):
    from tenant_apps.compliance.services import kyc_transition
    from tests.payments.money.conftest import make_client

    with tenant_context(tenants[slug]):
        client = make_client(slug, kyc="pending_review")
        kyc_transition(client=client, action="request_resubmission", actor_kind="system",
                       client_reason="The photo of your passport is blurred.")
        kyc_transition(client=client, action="submit", actor_kind="client")
        kyc_transition(client=client, action="approve", actor_kind="system")
    assert kinds_of(tenants[slug], client) == ["kyc.action_required", "kyc.approved"]
    assert "The photo of your passport is blurred." in told(tenants[slug], client)[0].body


def test_a_notification_that_cannot_be_made_never_blocks_the_money_step(money, monkeypatch, caplog):
    from tenant_apps.notifications import kinds

    broken = kinds.Kind(kinds.Category.MONEY, 2, "Credited %(no_such_value)s", "")
    monkeypatch.setitem(kinds.KINDS, "deposit.credited", broken)
    ctx = money["alpha"]
    deposit = fund(ctx, Decimal("75.00"))  # asserts the deposit is credited
    assert told(ctx.brokerage, ctx.client, "deposit.credited") == []
    assert f"notification of Deposit {deposit.pk} → credited failed" in caplog.text
