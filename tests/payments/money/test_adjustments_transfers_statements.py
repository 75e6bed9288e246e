"""Scenario 10 (manual adjustments), transfers at wallet level (scenario 9's refusals), payment method rules and
the client's statement with filters and CSV — through HTTP on alpha and beta."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.audit.models import AuditEntry
from tenant_apps.payments.models import Adjustment
from tests.payments.money.conftest import fund, make_client

SLUGS = ["alpha", "beta"]


def balance(ctx) -> Decimal:
    from tenant_apps.payments.services._flow import wallet_of

    with tenant_context(ctx.brokerage):
        return wallet_of(client_id=ctx.client.pk, currency="USD").balance


def adjust(ctx, role: str, amount: str, category="goodwill", note="Compensation for the outage on 3 March"):
    return ctx.staff_http(role).post("/backoffice/money/adjustments/", {
        "client_email": ctx.client.email, "amount": amount, "currency": "USD", "category": category, "note": note})


@pytest.mark.parametrize("slug", SLUGS)
def test_finance_adjusts_with_a_reason_support_sees_it_and_cannot_edit_and_the_audit_trail_shows_it(money, slug):
    ctx = money[slug]
    assert adjust(ctx, "finance", "50.00").status_code == 302
    assert balance(ctx) == Decimal("50.00")
    with tenant_context(ctx.brokerage):
        adjustment = Adjustment.objects.get(client=ctx.client)
        entry = AuditEntry.objects.get(action="adjustment.created", object_id=str(adjustment.pk))
    assert adjustment.status == "applied" and "Compensation for the outage" in entry.reason
    assert entry.actor_id == ctx.staff["finance"].pk
    page = ctx.staff_http("support").get("/backoffice/money/adjustments/").content.decode()
    assert "Compensation for the outage on 3 March" in page and "Goodwill credit" in page and "50.00" in page
    assert 'data-role="adjust-form"' not in page  # no form to make or change one
    assert adjust(ctx, "support", "10.00").status_code == 403
    assert ctx.staff_http("support").post(f"/backoffice/money/adjustments/{adjustment.pk}/decide/",
                                          {"action": "reject"}).status_code == 403
    assert balance(ctx) == Decimal("50.00")


@pytest.mark.parametrize("slug", SLUGS)
def test_an_adjustment_needs_a_category_and_a_note(money, slug):
    ctx = money[slug]
    assert adjust(ctx, "finance", "20.00", category="").status_code == 400
    assert adjust(ctx, "finance", "20.00", note="   ").status_code == 400
    with tenant_context(ctx.brokerage):
        assert not Adjustment.objects.exists()


@pytest.mark.parametrize("slug", SLUGS)
def test_a_large_adjustment_waits_for_a_manager_who_is_not_its_maker(money, slug):
    ctx = money[slug]
    adjust(ctx, "finance", "2500.00", category="correction", note="Deposit credited short")
    with tenant_context(ctx.brokerage):
        adjustment = Adjustment.objects.get(client=ctx.client)
    assert adjustment.status == "pending_approval" and balance(ctx) == 0
    ctx.staff_http("finance").post(f"/backoffice/money/adjustments/{adjustment.pk}/decide/", {"action": "approve"})
    with tenant_context(ctx.brokerage):
        assert Adjustment.objects.get(pk=adjustment.pk).status == "pending_approval"  # finance is not a manager
    manager_made = adjust(ctx, "manager", "3000.00", category="correction", note="Second correction")
    assert manager_made.status_code == 302
    with tenant_context(ctx.brokerage):
        own = Adjustment.objects.get(amount=Decimal("3000.00"))
    ctx.staff_http("manager").post(f"/backoffice/money/adjustments/{own.pk}/decide/", {"action": "approve"})
    with tenant_context(ctx.brokerage):
        assert Adjustment.objects.get(pk=own.pk).status == "pending_approval"  # maker ≠ checker
    ctx.staff_http("manager").post(f"/backoffice/money/adjustments/{adjustment.pk}/decide/", {"action": "approve"})
    with tenant_context(ctx.brokerage):
        decided = Adjustment.objects.get(pk=adjustment.pk)
        assert AuditEntry.objects.filter(action="adjustment.approved", object_id=str(decided.pk)).exists()
    assert (decided.status, decided.decided_by_id) == ("applied", ctx.staff["manager"].pk)
    assert balance(ctx) == Decimal("2500.00")


@pytest.mark.parametrize("slug", SLUGS)
def test_a_debit_adjustment_cannot_take_a_wallet_below_zero(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("30.00"))
    response = adjust(ctx, "finance", "-40.00", category="chargeback", note="Chargeback on DEP-1")
    assert response.status_code == 400 and "Insufficient available balance" in response.content.decode()
    assert balance(ctx) == Decimal("30.00")


@pytest.mark.parametrize("slug", SLUGS)
def test_a_transfer_from_a_restricted_client_is_blocked_with_the_reason(money, slug):
    from django.test import Client

    from tenant_apps.payments.services._flow import wallet_of
    from tests.conftest import host_of

    ctx = money[slug]
    with tenant_context(ctx.brokerage):
        restricted = make_client(slug, kyc="pending_review")
        usd = wallet_of(client_id=restricted.pk, currency="USD")
        eur = wallet_of(client_id=restricted.pk, currency="EUR")
        someone_else = wallet_of(client_id=ctx.client.pk, currency="USD")
    http = Client(HTTP_HOST=host_of(ctx.brokerage))
    with tenant_context(ctx.brokerage):
        http.force_login(restricted)
    response = http.post("/money/transfer/", {"source": usd.pk, "destination": eur.pk, "amount": "5"})
    assert response.status_code == 400
    assert "Transfers need a verified identity." in response.content.decode()
    # someone else's wallet is not even offered: the same answer as a wallet that does not exist
    response = http.post("/money/transfer/", {"source": someone_else.pk, "destination": usd.pk, "amount": "5"})
    assert response.status_code == 400 and "Choose two of your wallets" in response.content.decode()


@pytest.mark.parametrize("slug", SLUGS)
def test_a_transfer_between_wallets_of_different_currencies_is_refused(money, slug):
    from tenant_apps.payments.services._flow import wallet_of

    ctx = money[slug]
    fund(ctx, Decimal("40.00"))
    with tenant_context(ctx.brokerage):
        usd = wallet_of(client_id=ctx.client.pk, currency="USD")
        eur = wallet_of(client_id=ctx.client.pk, currency="EUR")
    response = ctx.http.post("/money/transfer/", {"source": usd.pk, "destination": eur.pk, "amount": "5"})
    assert response.status_code == 400 and "Transfers stay in one currency." in response.content.decode()
    assert balance(ctx) == Decimal("40.00")


@pytest.mark.parametrize("slug", SLUGS)
def test_the_client_sees_only_methods_for_their_country_currency_and_kyc_sorted_by_speed(money, slug):
    from tenant_apps.payments.models import PaymentMethod

    ctx = money[slug]
    with tenant_context(ctx.brokerage):
        PaymentMethod.objects.create(code="skrill", display_name="E-wallet", provider=ctx.card.provider,
                                     currencies=["USD"], processing_time="Within 1 hour", processing_minutes=60,
                                     direction="deposit")
        PaymentMethod.objects.create(code="local", display_name="Local bank (DE only)", provider=ctx.card.provider,
                                     currencies=["USD"], countries=["DE"], processing_time="1 day",
                                     processing_minutes=1440, direction="deposit")
        PaymentMethod.objects.create(code="crypto", display_name="Crypto (verified only)", provider=ctx.card.provider,
                                     currencies=["USD"], kyc_states=["approved"], processing_time="30 minutes",
                                     processing_minutes=30, direction="deposit")
        unverified = make_client(slug, kyc="not_started")
    page = ctx.http.get("/money/deposit/").content.decode()
    shown = [code for code in ("card", "crypto", "skrill", "local", "wire") if f'data-method="{code}"' in page]
    assert shown == ["card", "crypto", "skrill"]
    assert page.index('data-method="card"') < page.index('data-method="crypto"') < page.index('data-method="skrill"')
    from django.test import Client

    from tests.conftest import host_of
    http = Client(HTTP_HOST=host_of(ctx.brokerage))
    with tenant_context(ctx.brokerage):
        http.force_login(unverified)
    page = http.get("/money/deposit/").content.decode()
    assert 'data-method="crypto"' not in page and 'data-method="card"' in page


@pytest.mark.parametrize("slug", SLUGS)
def test_the_statement_filters_and_exports_csv(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("120.00"))
    fund(ctx, Decimal("30.00"), currency="EUR")
    page = ctx.http.get("/money/statement/").content.decode()
    assert "$120.00" in page and "€30.00" in page  # money in the reader's locale (themes/l10n.py)
    page = ctx.http.get("/money/statement/?currency=EUR").content.decode()
    assert "€30.00" in page and "$120.00" not in page
    response = ctx.http.get("/money/statement/?currency=USD&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode().strip().splitlines()
    assert lines[0] == "date,type,description,amount,balance_after,currency"
    assert len(lines) == 2 and lines[1].endswith("deposit.credited,Deposit " + lines[1].split("Deposit ")[1])
    assert ",120.00,120.00,USD" in lines[1]
    other = money["beta" if slug == "alpha" else "alpha"]
    assert "120.00" not in other.http.get("/money/statement/").content.decode()
