"""Scenarios 7 and 8 through HTTP on alpha and beta: a withdrawal holds funds from its first second, moves
through Support → Compliance → Finance (each by its role, maker ≠ checker, dual control), is paid out through
the sandbox PSP and received on its callback; small requests by trusted clients are approved automatically,
risk signals stop them with the reason shown to staff; 50 concurrent requests for the full balance: one wins."""
from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.audit.models import AuditEntry
from tenant_apps.payments.models import Deposit, Withdrawal
from tests.payments.money.conftest import fund, post_webhook, process_inbox, psp_events

SLUGS = ["alpha", "beta"]
IBAN = "CY17002001280000001200527600"


def wallet(ctx):
    from tenant_apps.payments.services._flow import wallet_of

    with tenant_context(ctx.brokerage):
        return wallet_of(client_id=ctx.client.pk, currency="USD")


def request_withdrawal(ctx, amount: str, method: str = "card") -> Withdrawal:
    response = ctx.http.post("/money/withdraw/", {"method": method, "amount": amount, "currency": "USD",
                                                  "account": IBAN})
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(ctx.brokerage):
        return Withdrawal.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


def refreshed(ctx, w) -> Withdrawal:
    with tenant_context(ctx.brokerage):
        return Withdrawal.objects.get(pk=w.pk)


def act(ctx, role: str, w, action: str, **extra):
    return ctx.staff_http(role).post(f"/backoffice/money/withdrawals/{w.pk}/", {"action": action, **extra})


def trusted(ctx):
    """A client who already received a withdrawal (not the first one) through the card they deposited with."""
    with tenant_context(ctx.brokerage):
        Withdrawal.objects.create(client=ctx.client, method=ctx.card, provider_code="sandbox", amount=Decimal("1"),
                                  currency="USD", reference=f"WD-OLD{uuid.uuid4().hex[:6]}", status="received")


def send_and_settle(ctx, w) -> Withdrawal:
    """What the worker does after approval (send the payout), then the PSP's callback over HTTP."""
    from tenant_apps.payments.services.withdrawals import withdrawal_payout_send

    with tenant_context(ctx.brokerage):
        withdrawal_payout_send(withdrawal_id=w.pk)
    w = refreshed(ctx, w)
    assert w.status == "sent" and w.provider_payout_id
    assert ctx.psp.deliverer.wait_idle(5)
    import json
    for event in psp_events(ctx, w.provider_payout_id):
        post_webhook(ctx, json.dumps(event).encode())
    process_inbox(ctx)
    return refreshed(ctx, w)


@pytest.mark.parametrize("slug", SLUGS)
def test_a_withdrawal_moves_through_each_stage_by_its_role_with_a_hold_from_the_first_second(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("2000.00"))
    w = request_withdrawal(ctx, "1200.00")
    account = wallet(ctx)
    assert (account.balance, account.available) == (Decimal("2000.00"), Decimal("800.00"))  # held at once
    assert (w.status, w.stage) == ("under_review", "support")
    assert "first withdrawal" in w.review_reasons
    queue = ctx.staff_http("support").get("/backoffice/money/withdrawals/?stage=support").content.decode()
    assert w.reference in queue and "first withdrawal" in queue
    # only the stage's role moves it
    assert act(ctx, "finance", w, "approve").status_code == 403
    assert act(ctx, "support", w, "approve").status_code == 302
    assert refreshed(ctx, w).stage == "compliance"
    assert act(ctx, "support", w, "approve").status_code == 403
    assert act(ctx, "compliance", w, "approve").status_code == 302
    assert refreshed(ctx, w).stage == "finance"
    assert act(ctx, "finance", w, "approve").status_code == 302
    w = refreshed(ctx, w)
    assert w.status == "approved" and wallet(ctx).available == Decimal("800.00")
    w = send_and_settle(ctx, w)
    assert w.status == "received"
    account = wallet(ctx)
    assert (account.balance, account.available) == (Decimal("800.00"), Decimal("800.00"))
    page = ctx.http.get(f"/money/withdrawals/{w.pk}/").content.decode()
    for text in ("Requested", "account check by Support", "compliance check", "final approval by Finance",
                 "Approved", "Sent to your payment method", "Paid out", "Instant"):
        assert text in page, text
    with tenant_context(ctx.brokerage):
        assert list(w.approvals.order_by("pk").values_list("stage", "actor__email")) == [
            ("support", f"support.money@{slug}.test"), ("compliance", f"compliance.money@{slug}.test"),
            ("finance", f"finance.money@{slug}.test")]
        actions = set(AuditEntry.objects.filter(object_id=str(w.pk), object_type="payments.withdrawal")
                      .values_list("action", flat=True))
    assert {"withdrawal.requested", "withdrawal.approved_stage", "withdrawal.sent", "withdrawal.received"} <= actions


@pytest.mark.parametrize("slug", SLUGS)
def test_nobody_approves_two_stages_and_large_amounts_need_two_finance_people(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("9000.00"))
    w = request_withdrawal(ctx, "6000.00")
    assert act(ctx, "manager", w, "approve").status_code == 302  # support stage, by a manager
    response = act(ctx, "manager", w, "approve")  # the same person again, at compliance
    assert response.status_code == 409 and "maker" in response.content.decode()
    act(ctx, "compliance", w, "approve")
    act(ctx, "finance", w, "approve")
    w = refreshed(ctx, w)
    assert (w.status, w.stage) == ("under_review", "finance")  # dual control: one more finance approval
    assert act(ctx, "finance", w, "approve").status_code == 409
    assert act(ctx, "finance2", w, "approve").status_code == 302
    assert refreshed(ctx, w).status == "approved"


@pytest.mark.parametrize("slug", SLUGS)
def test_a_rejection_releases_the_hold_and_the_client_reads_the_reason(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("1000.00"))
    w = request_withdrawal(ctx, "700.00")
    assert act(ctx, "support", w, "reject", reason="").status_code == 409  # a reason is mandatory
    assert act(ctx, "support", w, "reject", reason="The bank account is not in your name.").status_code == 302
    assert refreshed(ctx, w).status == "rejected" and wallet(ctx).available == Decimal("1000.00")
    page = ctx.http.get(f"/money/withdrawals/{w.pk}/").content.decode()
    assert "The bank account is not in your name." in page


@pytest.mark.parametrize("slug", SLUGS)
def test_a_returned_payout_puts_the_money_back_once(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("300.00"))
    trusted(ctx)
    response = ctx.http.post("/money/withdraw/", {"method": "card", "amount": "100", "currency": "USD",
                                                  "account": "CY17002001280000001200520002"})  # the bank returns it
    with tenant_context(ctx.brokerage):
        w = Withdrawal.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert w.status == "approved"
    w = send_and_settle(ctx, w)
    assert w.status == "returned"
    assert wallet(ctx).balance == Decimal("300.00") and wallet(ctx).available == Decimal("300.00")
    assert "back in your wallet" in ctx.http.get(f"/money/withdrawals/{w.pk}/").content.decode()


@pytest.mark.parametrize("slug", SLUGS)
def test_a_small_withdrawal_by_a_trusted_verified_client_is_approved_automatically(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("500.00"))
    trusted(ctx)
    w = request_withdrawal(ctx, "100.00")
    assert (w.status, w.review_reasons) == ("approved", [])
    assert send_and_settle(ctx, w).status == "received"


def _device_change(ctx):
    from tenant_apps.identity.models import User

    User.objects.filter(pk=ctx.client.pk).update(last_device_change_at=timezone.now())


def _old_kyc(ctx):
    from tenant_apps.compliance.models import KycCase

    KycCase.objects.filter(client=ctx.client).update(approved_at=timezone.now() - timezone.timedelta(days=365 * 4))


def _chargeback(ctx):
    Deposit.objects.filter(client=ctx.client).update(disputed_at=timezone.now())


RISKS = {"device change": (_device_change, "new device"), "old kyc": (_old_kyc, "older than the jurisdiction"),
         "chargeback": (_chargeback, "chargeback on record")}


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("risk", RISKS, ids=list(RISKS))
def test_the_same_small_request_stops_for_review_on_a_risk_signal_with_the_reason_shown_to_staff(money, slug, risk):
    ctx = money[slug]
    fund(ctx, Decimal("500.00"))
    trusted(ctx)
    make, words = RISKS[risk]
    with tenant_context(ctx.brokerage):
        make(ctx)
    w = request_withdrawal(ctx, "100.00")
    assert w.status == "under_review"
    assert any(words in reason for reason in w.review_reasons)
    staff_page = ctx.staff_http("support").get(f"/backoffice/money/withdrawals/{w.pk}/").content.decode()
    assert words in staff_page
    client_page = ctx.http.get(f"/money/withdrawals/{w.pk}/").content.decode()
    assert words not in client_page  # the client reads the stage, not the risk signal


@pytest.mark.parametrize("slug", SLUGS)
def test_a_different_method_than_the_deposit_and_unverified_clients_are_handled(money, slug):
    from tests.payments.money.conftest import make_client

    ctx = money[slug]
    fund(ctx, Decimal("500.00"))
    trusted(ctx)
    w = request_withdrawal(ctx, "100.00", method="wire")
    assert "method differs from the method used to deposit" in w.review_reasons
    with tenant_context(ctx.brokerage):
        pending = make_client(slug, kyc="pending_review")
    from django.test import Client

    from tests.conftest import host_of
    http = Client(HTTP_HOST=host_of(ctx.brokerage))
    with tenant_context(ctx.brokerage):
        http.force_login(pending)
    response = http.post("/money/withdraw/", {"method": "card", "amount": "50", "currency": "USD", "account": IBAN})
    assert response.status_code == 400
    assert "verified identity" in response.content.decode()


def test_withdrawal_statuses_and_history_are_invisible_to_other_clients(money):
    ctx = money["alpha"]
    fund(ctx, Decimal("100.00"))
    w = request_withdrawal(ctx, "50.00")
    from django.test import Client

    from tests.conftest import host_of
    from tests.payments.money.conftest import make_client
    with tenant_context(ctx.brokerage):
        other = make_client("alpha")
    http = Client(HTTP_HOST=host_of(ctx.brokerage))
    with tenant_context(ctx.brokerage):
        http.force_login(other)
    assert http.get(f"/money/withdrawals/{w.pk}/").status_code == 404
    assert http.post(f"/money/withdrawals/{w.pk}/", {"action": "cancel"}).status_code == 404
    assert ctx.http.post(f"/money/withdrawals/{w.pk}/", {"action": "cancel"}).status_code == 302
    assert refreshed(ctx, w).status == "cancelled" and wallet(ctx).available == Decimal("100.00")


# --- the race: a committed scratch brokerage, 50 real connections ---------------------------------------------

SCRATCH_SLUG, SCRATCH_SCHEMA = "money-scratch", "money_scratch"


def _drop_scratch():
    from provisioning import schemas
    from tenancy.models import Brokerage, Domain

    connection.set_schema_to_public()
    schemas.drop_schema(SCRATCH_SCHEMA)
    Domain.objects.filter(tenant__slug=SCRATCH_SLUG).delete()
    Brokerage.objects.filter(slug=SCRATCH_SLUG).delete()


@pytest.fixture
def scratch(committed_db, tenants, settings):
    from provisioning.services import provision_brokerage

    _drop_scratch()
    job = provision_brokerage(name="Money Scratch", slug=SCRATCH_SLUG, admin_email="admin@money-scratch.test",
                              method="blueprint")
    assert job.status == "succeeded", job.error
    connection.set_schema_to_public()
    yield job.brokerage
    _drop_scratch()


def test_fifty_concurrent_withdrawals_for_the_full_balance_accept_exactly_one(scratch):
    from tenant_apps.ledger.selectors import ledger_integrity_problems
    from tenant_apps.payments.services._flow import InsufficientBalance, money_rules
    from tenant_apps.payments.services.withdrawals import withdrawal_request
    from tests.payments.money.conftest import make_client, methods_create

    with tenant_context(scratch):
        money_rules().__class__.objects.update(review_first_deposit=False)
        card, _ = methods_create()
        client = make_client(SCRATCH_SLUG)
        ctx = type("Ctx", (), {"brokerage": scratch, "client": client, "card": card})
        fund(ctx, Decimal("1000.00"))
    n = 50
    results: list = [None] * n
    barrier = threading.Barrier(n, timeout=60)

    def one(i):
        try:
            with tenant_context(scratch):
                connection.ensure_connection()
                barrier.wait()
                results[i] = withdrawal_request(client=client, method=card, amount=Decimal("1000.00"),
                                                currency="USD", destination_account=IBAN)
        except Exception as exc:  # noqa: BLE001 - every outcome is inspected
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    accepted = [r for r in results if isinstance(r, Withdrawal)]
    refused = [r for r in results if isinstance(r, InsufficientBalance)]
    assert len(accepted) == 1, [type(r).__name__ + str(r) for r in results if not isinstance(r, Withdrawal)][:3]
    assert len(refused) == n - 1
    assert all("insufficient available balance" in r.message.lower() for r in refused)
    with tenant_context(scratch):
        assert Withdrawal.objects.count() == 1  # refused requests leave nothing behind
        from tenant_apps.payments.services._flow import wallet_of
        account = wallet_of(client_id=client.pk, currency="USD")
        assert (account.balance, account.held) == (Decimal("1000.00"), Decimal("1000.00"))
        assert ledger_integrity_problems() == []
    connection.set_schema_to_public()
