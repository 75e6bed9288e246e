"""Finance resolves a transfer stuck in needs_attention (/backoffice/money/transfers/<pk>/), on alpha and beta
against the MT5 simulator: "retry now" completes it once, "mark failed and return the money" gives it back once
(books and platform), a leg the platform shows as applied is never undone, Support reads, Sales is refused, the
other brokerage's Finance gets 404. Every action needs a note and is audited."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.payments.money.conftest import books_balance, fund, money  # noqa: F401 (fixtures)
from tests.payments.test_trading_transfers import (  # noqa: F401 (fixtures)
    SLUGS,
    books,
    deals,
    last_transfer,
    on_sim,
    post,
    run_worker,
    sim_config,
    sims,
    t,
    trading,
    wallet,
    wallet_key,
)
from tests.trading.conftest import sim  # noqa: F401


def stuck_transfer(ctx, source: str, destination: str, amount: str, monkeypatch):
    """A transfer the worker cannot finish (the server is down), flagged by the sweep after an hour."""
    from tenant_apps.payments.models import Transfer
    from tenant_apps.payments.services import trading_transfers
    from tenant_apps.payments.services.trading_transfers import TransferStepRetry

    assert post(ctx, source, destination, amount).status_code == 302
    moved = last_transfer(ctx)
    ctx.control({"mode": "down", "http_status": 503})
    with pytest.raises(TransferStepRetry):
        run_worker(ctx, moved)
    monkeypatch.setattr("tenancy.workers.send_to_tenant", lambda actor, schema, pk: None)
    with tenant_context(ctx.brokerage):
        Transfer.objects.filter(pk=moved.pk).update(created_at=timezone.now() - timedelta(hours=1),
                                                    last_attempt_at=timezone.now() - timedelta(hours=1))
        trading_transfers.transfers_sweep()
        moved.refresh_from_db()
    assert moved.status == "needs_attention"
    return moved


def page_of(transfer) -> str:
    return f"/backoffice/money/transfers/{transfer.pk}/"


def audit_actions(ctx, transfer) -> list[tuple[str, str]]:
    from tenant_apps.audit.models import AuditEntry

    with tenant_context(ctx.brokerage):
        return [(e.action, e.reason) for e in AuditEntry.objects.filter(object_id=str(transfer.pk),
                                                                         action__startswith="transfer.").order_by("seq")]


@pytest.mark.parametrize("slug", SLUGS)
def test_retry_now_completes_a_stuck_transfer_once(trading, slug, monkeypatch):  # noqa: F811
    ctx = trading[slug]
    one = ctx.accounts[0]
    fund(ctx, Decimal("90.00"), currency=ctx.currency)
    stuck = stuck_transfer(ctx, wallet_key(ctx), t(one), "90.00", monkeypatch)
    finance = ctx.staff_http("finance")

    page = finance.get(page_of(stuck))
    assert page.status_code == 200
    html = page.content.decode()
    assert f"transfer:{stuck.pk}:credit" in html and "not readable" in html  # the server is still down
    assert f"transfer:{stuck.pk}:ledger" in html  # the wallet → mirror entry

    no_note = finance.post(page_of(stuck), {"action": "retry", "note": ""})
    assert no_note.status_code == 409 and "Write a note" in no_note.content.decode()
    still_down = finance.post(page_of(stuck), {"action": "retry", "note": "server back?"})
    assert still_down.status_code == 409 and "did not finish" in still_down.content.decode()

    ctx.control({"mode": "normal"})
    done = finance.post(page_of(stuck), {"action": "retry", "note": "server is back, finishing"})
    assert done.status_code == 302
    again = finance.post(page_of(stuck), {"action": "retry", "note": "second click"})
    assert again.status_code == 409 and "is completed" in again.content.decode()
    run_worker(ctx, stuck)  # and the sweep's message that was still queued

    assert stuck.status == "completed"
    assert len(deals(ctx, one, f"transfer:{stuck.pk}:credit")) == 1
    assert (on_sim(ctx, one), books(ctx, one), wallet(ctx)) == (Decimal("90.00"), Decimal("90.00"), Decimal("0"))
    actions = audit_actions(ctx, stuck)
    assert ("transfer.retry_requested", "server is back, finishing") in actions
    assert [a for a, _ in actions].count("transfer.completed") == 1


@pytest.mark.parametrize("slug", SLUGS)
def test_mark_failed_returns_the_money_once(trading, slug, monkeypatch):  # noqa: F811
    ctx = trading[slug]
    one = ctx.accounts[0]
    fund(ctx, Decimal("70.00"), currency=ctx.currency)
    stuck = stuck_transfer(ctx, wallet_key(ctx), t(one), "70.00", monkeypatch)
    assert wallet(ctx) == Decimal("0.00") and books(ctx, one) == Decimal("70.00")
    finance = ctx.staff_http("finance")

    unreadable = finance.post(page_of(stuck), {"action": "fail_return", "note": "client asked to cancel"})
    assert unreadable.status_code == 409 and "cannot be read now" in unreadable.content.decode()
    assert wallet(ctx) == Decimal("0.00")  # nothing moved while the platform could not be checked

    ctx.control({"mode": "normal"})
    returned = finance.post(page_of(stuck), {"action": "fail_return", "note": "client asked to cancel"})
    assert returned.status_code == 302, returned.content.decode()[:2000]
    twice = finance.post(page_of(stuck), {"action": "fail_return", "note": "client asked to cancel"})
    assert twice.status_code == 409 and "is failed" in twice.content.decode()
    run_worker(ctx, stuck)  # a queued message does nothing more

    assert stuck.status == "failed" and stuck.refund_entry_id
    assert "Stopped by our finance team: client asked to cancel" in stuck.failure_reason
    assert (wallet(ctx), books(ctx, one), on_sim(ctx, one)) == (Decimal("70.00"), Decimal("0.00"), Decimal("0.00"))
    assert deals(ctx, one, f"transfer:{stuck.pk}:credit") == []
    actions = audit_actions(ctx, stuck)
    assert ("transfer.return_requested", "client asked to cancel") in actions
    assert [a for a, _ in actions].count("transfer.failed") == 1
    assert "client asked to cancel" in ctx.http.get("/money/transfer/").content.decode()  # the client reads why


@pytest.mark.parametrize("slug", SLUGS)
def test_a_trading_source_is_refunded_on_the_platform_once(trading, slug, monkeypatch):  # noqa: F811
    from tenant_apps.payments.services import trading_transfers

    ctx = trading[slug]
    one, two = ctx.accounts
    fund(ctx, Decimal("200.00"), currency=ctx.currency)
    assert post(ctx, wallet_key(ctx), t(one), "200.00").status_code == 302
    run_worker(ctx, last_transfer(ctx))
    # trading → trading: the withdrawal goes through, then the server goes down before the deposit
    assert post(ctx, t(one), t(two), "80.00").status_code == 302
    moved = last_transfer(ctx)
    monkeypatch.setattr(trading_transfers, "before_platform_credit",
                        lambda transfer: ctx.control({"mode": "down", "http_status": 503}))
    with pytest.raises(trading_transfers.TransferStepRetry):
        run_worker(ctx, moved)
    monkeypatch.undo()
    monkeypatch.setattr("tenancy.workers.send_to_tenant", lambda actor, schema, pk: None)
    from tenant_apps.payments.models import Transfer

    with tenant_context(ctx.brokerage):
        Transfer.objects.filter(pk=moved.pk).update(created_at=timezone.now() - timedelta(hours=1),
                                                    last_attempt_at=timezone.now() - timedelta(hours=1))
        trading_transfers.transfers_sweep()
        moved.refresh_from_db()
    assert moved.status == "needs_attention" and on_sim(ctx, one) == Decimal("120.00")
    ctx.control({"mode": "normal"})

    finance = ctx.staff_http("manager")
    html = finance.get(page_of(moved)).content.decode()
    assert f"#{moved.platform_debit_ticket}" in html and "not applied" in html
    assert finance.post(page_of(moved), {"action": "fail_return", "note": "destination frozen"}).status_code == 302
    assert finance.post(page_of(moved), {"action": "fail_return", "note": "destination frozen"}).status_code == 409
    run_worker(ctx, moved)

    assert moved.status == "failed" and moved.platform_refund_ticket
    assert len(deals(ctx, one, f"transfer:{moved.pk}:refund")) == 1
    assert (on_sim(ctx, one), on_sim(ctx, two)) == (Decimal("200.00"), Decimal("0.00"))
    assert (books(ctx, one), books(ctx, two)) == (Decimal("200.00"), Decimal("0.00"))


@pytest.mark.parametrize("slug", SLUGS)
def test_a_credit_the_platform_shows_as_applied_is_never_returned(trading, slug, monkeypatch):  # noqa: F811
    """The deposit reached the server but the worker died before recording it: returning would pay twice."""
    from tenant_apps.payments.services import trading_transfers

    ctx = trading[slug]
    one = ctx.accounts[0]
    fund(ctx, Decimal("50.00"), currency=ctx.currency)
    stuck = stuck_transfer(ctx, wallet_key(ctx), t(one), "50.00", monkeypatch)
    ctx.control({"mode": "normal"})
    with tenant_context(ctx.brokerage):  # the credit is applied on the server, its answer lost to us
        trading_transfers._platform(stuck, one, kind="deposit", leg="credit")
    finance = ctx.staff_http("finance")
    refused = finance.post(page_of(stuck), {"action": "fail_return", "note": "client asked to cancel"})
    assert refused.status_code == 409 and "retry now" in refused.content.decode()
    assert wallet(ctx) == Decimal("0.00")
    assert finance.post(page_of(stuck), {"action": "retry", "note": "credit applied, book it"}).status_code == 302
    run_worker(ctx, stuck)
    assert stuck.status == "completed" and len(deals(ctx, one, f"transfer:{stuck.pk}:credit")) == 1
    assert on_sim(ctx, one) == Decimal("50.00")


def test_support_reads_sales_is_refused_and_the_other_brokerage_sees_nothing(trading, monkeypatch, tenant_client):  # noqa: F811
    from tenant_apps.identity.services import staff_user_create
    from tests.conftest import PASSWORD, mfa_enrol

    ctx, beta = trading["alpha"], trading["beta"]
    fund(ctx, Decimal("30.00"), currency=ctx.currency)
    stuck = stuck_transfer(ctx, wallet_key(ctx), t(ctx.accounts[0]), "30.00", monkeypatch)
    ctx.control({"mode": "normal"})

    support = ctx.staff_http("support")
    html = support.get(page_of(stuck)).content.decode()
    assert stuck.reference in html and 'data-role="resolve"' not in html
    assert support.post(page_of(stuck), {"action": "retry", "note": "let me try"}).status_code == 403
    with tenant_context(ctx.brokerage):
        sales = staff_user_create(email="sales.tf@alpha.test", password=PASSWORD, role_codes=["sales"])[0]
    mfa_enrol(ctx.brokerage, sales.email)
    sales_http = tenant_client(ctx.brokerage, sales.email)
    assert sales_http.get(page_of(stuck)).status_code == 403
    assert sales_http.post(page_of(stuck), {"action": "retry", "note": "let me try"}).status_code == 403
    other = beta.staff_http("finance")
    assert other.get(page_of(stuck)).status_code == 404
    assert other.post(page_of(stuck), {"action": "fail_return", "note": "not mine"}).status_code == 404

    with tenant_context(ctx.brokerage):
        stuck.refresh_from_db()
    assert stuck.status == "needs_attention" and wallet(ctx) == Decimal("0.00")
    finance = ctx.staff_http("finance")
    assert 'data-role="resolve"' in finance.get(page_of(stuck)).content.decode()


# --- client idempotency: the form's one-time token and the API's Idempotency-Key header --------------------------

def client_transfers(ctx) -> int:
    from tenant_apps.payments.models import Transfer

    with tenant_context(ctx.brokerage):
        return Transfer.objects.filter(client=ctx.client).count()


@pytest.mark.parametrize("slug", SLUGS)
def test_a_double_submitted_transfer_form_makes_one_transfer(trading, slug):  # noqa: F811
    import re

    ctx = trading[slug]
    one = ctx.accounts[0]
    fund(ctx, Decimal("100.00"), currency=ctx.currency)
    form = ctx.http.get("/money/transfer/").content.decode()
    token = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', form).group(1)
    assert token not in ctx.http.get("/money/transfer/").content.decode()  # one token per rendered form
    body = {"source": wallet_key(ctx), "destination": t(one), "amount": "60.00", "idempotency_key": token}

    first, second = ctx.http.post("/money/transfer/", body), ctx.http.post("/money/transfer/", body)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]  # both land on the first transfer's result
    assert client_transfers(ctx) == 1 and wallet(ctx) == Decimal("40.00")
    other = ctx.http.post("/money/transfer/", {**body, "amount": "10.00"})
    assert other.status_code == 409 and "already used for transfer" in other.content.decode()
    run_worker(ctx, last_transfer(ctx))
    assert (client_transfers(ctx), wallet(ctx), on_sim(ctx, one)) == (1, Decimal("40.00"), Decimal("60.00"))


@pytest.mark.parametrize("slug", SLUGS)
def test_an_api_replay_with_the_same_key_returns_the_first_transfer(trading, slug):  # noqa: F811
    ctx = trading[slug]
    one, two = ctx.accounts
    fund(ctx, Decimal("100.00"), currency=ctx.currency)
    body = {"source": wallet_key(ctx), "destination": t(one), "amount": "25"}
    headers = {"HTTP_IDEMPOTENCY_KEY": f"order-{slug}-0001"}

    made = ctx.http.post("/api/v1/money/transfers/", body, content_type="application/json", **headers)
    assert made.status_code == 201, made.content
    replayed = [ctx.http.post("/api/v1/money/transfers/", {**body, "amount": "25.00"}, content_type="application/json",
                              **headers) for _ in range(3)]
    assert {r.status_code for r in replayed} == {200}
    assert {r.json()["id"] for r in replayed} == {made.json()["id"]}
    assert replayed[0]["Idempotent-Replayed"] == "true"
    assert client_transfers(ctx) == 1 and wallet(ctx) == Decimal("75.00")

    conflict = ctx.http.post("/api/v1/money/transfers/", {**body, "destination": t(two)},
                             content_type="application/json", **headers)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_key_reused"
    assert "already used for transfer" in conflict.json()["message"]
    bad = ctx.http.post("/api/v1/money/transfers/", body, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="bad key!")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_idempotency_key"
    fresh = ctx.http.post("/api/v1/money/transfers/", body, content_type="application/json",
                          HTTP_IDEMPOTENCY_KEY=f"order-{slug}-0002")
    assert fresh.status_code == 201 and fresh.json()["id"] != made.json()["id"]
    assert client_transfers(ctx) == 2 and wallet(ctx) == Decimal("50.00")


def test_the_same_key_is_per_client(trading):  # noqa: F811
    """Alpha's and Beta's clients, and two clients of one brokerage, use the same key independently."""
    from tenant_apps.payments.services import trading_transfers
    from tests.payments.money.conftest import make_client

    for slug in SLUGS:
        ctx = trading[slug]
        fund(ctx, Decimal("5.00"), currency=ctx.currency)
        made = ctx.http.post("/api/v1/money/transfers/",
                             {"source": wallet_key(ctx), "destination": t(ctx.accounts[0]), "amount": "5"},
                             content_type="application/json", HTTP_IDEMPOTENCY_KEY="shared-key-1")
        assert made.status_code == 201, made.content
    ctx = trading["alpha"]
    with tenant_context(ctx.brokerage):
        other = make_client("alpha")
        assert trading_transfers.transfer_for_key(client=other, idempotency_key="shared-key-1",
                                                  source=ctx.accounts[0], destination=ctx.accounts[1],
                                                  amount="5") is None
