"""The staff money API over HTTP with personal API tokens (Bearer), on alpha and beta: withdrawals approved and
rejected at their current stage by the stage's role (maker ≠ checker, dual control), deposits under review credited
or rejected, manual adjustments made by Finance and decided by a Manager — the same services and refusals as the
back office, errors in the API's {"code", "message"} shape, and a token of one brokerage is nothing at the other."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.audit.models import AuditEntry
from tenant_apps.payments.models import Adjustment, Deposit, Withdrawal
from tests.identity.staff_helpers import bearer, mint
from tests.payments.money.conftest import fund
from tests.payments.money.test_withdrawals import request_withdrawal, wallet

SLUGS = ["alpha", "beta"]
SCOPES = {
    "support": ["payments:view", "payments:review"],
    "compliance": ["payments:review"],
    "finance": ["payments:view", "payments:review", "payments:approve", "payments:adjust"],
    "finance2": ["payments:review"],
    "manager": ["payments:view", "payments:review", "payments:approve", "payments:adjust"],
}


def api(ctx, role: str):
    _token, secret = mint(ctx.brokerage, ctx.staff[role].email, SCOPES[role], name=f"{role} api")
    return bearer(ctx.brokerage, secret)


def post(http, path: str, body: dict | None = None):
    return http.post(path, body or {}, content_type="application/json")


@pytest.mark.parametrize("slug", SLUGS)
def test_a_withdrawal_is_approved_stage_by_stage_over_the_api_by_each_stages_role(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("9000.00"))
    w = request_withdrawal(ctx, "6000.00")
    http = {role: api(ctx, role) for role in SCOPES}

    queue = http["support"].get("/api/v1/payments/withdrawals/?stage=support")
    assert queue.status_code == 200 and [row["reference"] for row in queue.json()] == [w.reference]
    detail = http["support"].get(f"/api/v1/payments/withdrawals/{w.pk}/").json()
    assert (detail["status"], detail["stage"], detail["amount"]) == ("under_review", "support", "6000.00000000")
    assert "first withdrawal" in detail["review_reasons"] and detail["events"][0]["to_status"] == "requested"

    # not the stage's role: refused with the API's error shape, nothing moves
    refused = post(http["finance"], f"/api/v1/payments/withdrawals/{w.pk}/approve/")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert post(http["support"], f"/api/v1/payments/withdrawals/{w.pk}/approve/").json()["stage"] == "compliance"
    assert post(http["compliance"], f"/api/v1/payments/withdrawals/{w.pk}/approve/").json()["stage"] == "finance"
    one = post(http["finance"], f"/api/v1/payments/withdrawals/{w.pk}/approve/")
    assert one.status_code == 200 and (one.json()["status"], one.json()["stage"]) == ("under_review", "finance")
    again = post(http["finance"], f"/api/v1/payments/withdrawals/{w.pk}/approve/")  # dual control: not twice
    assert again.status_code == 409 and again.json()["code"] == "maker_checker"
    done = post(http["finance2"], f"/api/v1/payments/withdrawals/{w.pk}/approve/").json()
    assert done["status"] == "approved" and [a["stage"] for a in done["approvals"]] == [
        "support", "compliance", "finance", "finance"]
    late = post(http["manager"], f"/api/v1/payments/withdrawals/{w.pk}/approve/")
    assert late.status_code == 409 and late.json()["code"] == "not_under_review"
    with tenant_context(ctx.brokerage):
        approvals = AuditEntry.objects.filter(action="withdrawal.approved_stage", object_id=str(w.pk))
        assert approvals.count() == 4


@pytest.mark.parametrize("slug", SLUGS)
def test_a_rejection_over_the_api_needs_a_reason_and_releases_the_hold(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("1000.00"))
    w = request_withdrawal(ctx, "700.00")
    http = api(ctx, "support")
    missing = post(http, f"/api/v1/payments/withdrawals/{w.pk}/reject/", {"reason": "  "})
    assert missing.status_code == 400 and missing.json()["code"] == "reason_required"
    assert wallet(ctx).available == Decimal("300.00")
    done = post(http, f"/api/v1/payments/withdrawals/{w.pk}/reject/", {"reason": "The account is not in your name."})
    assert done.status_code == 200 and done.json()["status"] == "rejected"
    assert done.json()["client_reason"] == "The account is not in your name."
    assert wallet(ctx).available == Decimal("1000.00")
    assert post(http, "/api/v1/payments/withdrawals/999999/approve/").json()["code"] == "not_found"


def _deposit_under_review(ctx, amount: str) -> Deposit:
    from tenant_apps.payments.services import deposits

    with tenant_context(ctx.brokerage):
        deposit = Deposit.objects.create(client=ctx.client, method=ctx.card, provider_code="sandbox",
                                         reference=f"DEP-R{uuid.uuid4().hex[:8]}", amount=Decimal(amount),
                                         currency="USD", status="pending_psp",
                                         provider_payment_id=f"pi_rev_{uuid.uuid4().hex[:10]}")
        deposits.deposit_payment_succeeded(provider_code="sandbox", reference=deposit.reference)
        deposit.refresh_from_db()
    assert deposit.status == "under_review"  # over the brokerage's review threshold
    return deposit


@pytest.mark.parametrize("slug", SLUGS)
def test_deposits_under_review_are_credited_or_rejected_over_the_api(money, slug):
    ctx = money[slug]
    big, other = _deposit_under_review(ctx, "20000.00"), _deposit_under_review(ctx, "15000.00")
    support, finance = api(ctx, "support"), api(ctx, "finance")
    queue = support.get("/api/v1/payments/deposits/review/").json()
    assert {row["reference"] for row in queue} == {big.reference, other.reference}
    assert support.get(f"/api/v1/payments/deposits/{big.pk}/").json()["status"] == "under_review"
    refused = post(support, f"/api/v1/payments/deposits/{big.pk}/approve/")  # support reads, never credits
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"

    credited = post(finance, f"/api/v1/payments/deposits/{big.pk}/approve/")
    assert credited.status_code == 200 and credited.json()["status"] == "credited"
    assert wallet(ctx).balance == Decimal("20000.00")
    twice = post(finance, f"/api/v1/payments/deposits/{big.pk}/approve/")
    assert twice.status_code == 409 and wallet(ctx).balance == Decimal("20000.00")  # never credited twice

    no_reason = post(finance, f"/api/v1/payments/deposits/{other.pk}/reject/")
    assert no_reason.status_code == 400 and no_reason.json()["code"] == "reason_required"
    rejected = post(finance, f"/api/v1/payments/deposits/{other.pk}/reject/", {"reason": "Payer name differs."})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert wallet(ctx).balance == Decimal("20000.00")


@pytest.mark.parametrize("slug", SLUGS)
def test_finance_adjusts_over_the_api_and_a_manager_not_the_maker_approves_large_ones(money, slug):
    ctx = money[slug]
    finance, manager, support = api(ctx, "finance"), api(ctx, "manager"), api(ctx, "support")
    body = {"client_id": ctx.client.pk, "amount": "50.00", "currency": "USD", "category": "goodwill",
            "note": "Compensation for the outage on 3 March"}
    small = post(finance, "/api/v1/payments/adjustments/", body)
    assert small.status_code == 201 and small.json()["status"] == "applied"
    assert wallet(ctx).balance == Decimal("50.00")

    large = post(finance, "/api/v1/payments/adjustments/", {**body, "amount": "2500.00"})
    assert large.status_code == 201 and large.json()["status"] == "pending_approval"
    assert wallet(ctx).balance == Decimal("50.00")  # waits for a Manager
    pk = large.json()["id"]
    by_finance = post(finance, f"/api/v1/payments/adjustments/{pk}/decide/", {"decision": "approve"})
    assert by_finance.status_code == 403 and by_finance.json()["code"] == "permission_denied"
    bad = post(manager, f"/api/v1/payments/adjustments/{pk}/decide/", {"decision": "maybe"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input" and "decision" in bad.json()["fields"]
    approved = post(manager, f"/api/v1/payments/adjustments/{pk}/decide/", {"decision": "approve"})
    assert approved.status_code == 200 and approved.json()["status"] == "applied"
    assert approved.json()["decided_by_id"] == ctx.staff["manager"].pk
    assert wallet(ctx).balance == Decimal("2550.00")
    again = post(manager, f"/api/v1/payments/adjustments/{pk}/decide/", {"decision": "approve"})
    assert again.status_code == 409 and again.json()["code"] == "already_decided"
    assert wallet(ctx).balance == Decimal("2550.00")

    # a Manager's own large adjustment waits for another person
    own = post(manager, "/api/v1/payments/adjustments/", {**body, "amount": "-2000.00", "category": "correction"})
    maker = post(manager, f"/api/v1/payments/adjustments/{own.json()['id']}/decide/", {"decision": "approve"})
    assert maker.status_code == 409 and maker.json()["code"] == "maker_checker"

    listing = support.get("/api/v1/payments/adjustments/")
    assert listing.status_code == 200 and len(listing.json()) == 3
    assert post(support, "/api/v1/payments/adjustments/", body).status_code == 403  # support reads only
    with tenant_context(ctx.brokerage):
        assert Adjustment.objects.filter(client=ctx.client).count() == 3


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": "abc"}, "amount"), ({"amount": "0"}, "amount"), ({"category": "whim"}, "category"),
    ({"note": ""}, "note"), ({"client_id": 999999}, "client_id"),
])
def test_bad_adjustment_input_is_named_and_moves_nothing(money, change, field):
    ctx = money["alpha"]
    body = {"client_id": ctx.client.pk, "amount": "50.00", "currency": "USD", "category": "goodwill",
            "note": "Compensation"}
    response = post(api(ctx, "finance"), "/api/v1/payments/adjustments/", {**body, **change})
    assert response.status_code == 400 and response.json()["code"] == "invalid_input"
    assert field in response.json()["fields"]
    with tenant_context(ctx.brokerage):
        assert not Adjustment.objects.exists()


def test_an_amount_finer_than_the_currency_is_refused_not_rounded(money):
    ctx = money["alpha"]
    response = post(api(ctx, "finance"), "/api/v1/payments/adjustments/", {
        "client_id": ctx.client.pk, "amount": "10.005", "currency": "USD", "category": "goodwill", "note": "x"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_amount"
    assert wallet(ctx).balance == Decimal("0")


def test_a_token_of_one_brokerage_is_refused_at_the_other_and_ids_do_not_leak(money):
    alpha, beta = money["alpha"], money["beta"]
    fund(beta, Decimal("1000.00"))
    w = request_withdrawal(beta, "700.00")
    _token, secret = mint(alpha.brokerage, alpha.staff["support"].email, SCOPES["support"])
    at_beta = bearer(beta.brokerage, secret)
    response = post(at_beta, f"/api/v1/payments/withdrawals/{w.pk}/approve/")
    assert response.status_code == 401 and response.json()["code"] == "token_invalid"
    at_alpha = bearer(alpha.brokerage, secret)
    assert at_alpha.get(f"/api/v1/payments/withdrawals/{w.pk}/").status_code == 404  # alpha has no withdrawals
    with tenant_context(beta.brokerage):
        assert Withdrawal.objects.get(pk=w.pk).stage == "support"


def test_a_token_without_the_scope_cannot_approve(money):
    ctx = money["alpha"]
    fund(ctx, Decimal("1000.00"))
    w = request_withdrawal(ctx, "700.00")
    _token, secret = mint(ctx.brokerage, ctx.staff["support"].email, ["payments:view"])
    response = post(bearer(ctx.brokerage, secret), f"/api/v1/payments/withdrawals/{w.pk}/approve/")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    with tenant_context(ctx.brokerage):
        assert Withdrawal.objects.get(pk=w.pk).stage == "support"


def test_the_withdrawal_queue_reads_in_a_bounded_number_of_queries(money, django_assert_max_num_queries):
    ctx = money["alpha"]
    fund(ctx, Decimal("5000.00"))
    for _ in range(8):
        request_withdrawal(ctx, "600.00")
    http = api(ctx, "support")
    with django_assert_max_num_queries(15):
        response = http.get("/api/v1/payments/withdrawals/")
    assert response.status_code == 200 and len(response.json()) == 8
