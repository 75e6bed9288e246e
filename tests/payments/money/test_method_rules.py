"""Payment method rules (issue 6, item 3): which methods a client sees by legal entity, country, currency, KYC
state and risk level, fastest first; and the back-office editor (/backoffice/money/methods/) — validation that
names every problem and writes nothing, an audit entry of every change (old → new), Finance/Manager only."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.audit.models import AuditEntry
from tests.payments.money.conftest import make_client

SLUGS = ["alpha", "beta"]


def _method(ctx, code: str, minutes: int, **rules):
    from tenant_apps.payments.models import PaymentMethod

    entities = rules.pop("legal_entities", [])
    method = PaymentMethod.objects.create(code=code, display_name=code.title(), provider=ctx.card.provider,
                                          currencies=rules.pop("currencies", ["USD"]), processing_time=f"{minutes} min",
                                          processing_minutes=minutes, direction="deposit", **rules)
    method.legal_entities.set(entities)
    return method


def _assess(client, level: str):
    from tenant_apps.kyc_checks.models import RiskAssessment

    RiskAssessment.objects.create(client=client, score={"low": 10, "medium": 50, "high": 90}[level], level=level)


def _codes(client, **kwargs) -> list[str]:
    from tenant_apps.payments.services.methods import methods_for_client

    return [m.code for m in methods_for_client(user=client, direction="deposit", **kwargs)
            if m.code not in ("card", "wire")]


@pytest.mark.parametrize("slug", SLUGS)
def test_rules_filter_by_entity_country_currency_kyc_and_risk_and_sort_by_speed(money, slug):
    from tenant_apps.brokerage.models import LegalEntity
    from tenant_apps.compliance.selectors import client_legal_entity

    ctx = money[slug]
    with tenant_context(ctx.brokerage):
        own = client_legal_entity(ctx.client)
        other = LegalEntity.objects.create(name=f"Other entity of {slug}", jurisdiction="fsa_sc", regulator="FSA",
                                           country="SC", rules={})
        _method(ctx, "open", 120)
        _method(ctx, "own-entity", 60, legal_entities=[own])
        _method(ctx, "other-entity", 5, legal_entities=[other])
        _method(ctx, "cy-only", 30, countries=["CY"])
        _method(ctx, "de-only", 10, countries=["DE"])
        _method(ctx, "eur-only", 20, currencies=["EUR"])
        _method(ctx, "verified", 45, kyc_states=["approved"])
        _method(ctx, "low-risk", 90, risk_levels=["low"])
        _method(ctx, "high-risk-ok", 100, risk_levels=["low", "medium", "high"])

        # a verified, unassessed CY client is low risk (the KYC case's level) and served by the default entity
        assert _codes(ctx.client, country="CY", currency="USD") == [
            "cy-only", "verified", "own-entity", "low-risk", "high-risk-ok", "open"]
        assert _codes(ctx.client, country="DE") == ["de-only", "eur-only", "verified", "own-entity", "low-risk",
                                                    "high-risk-ok", "open"]
        assert _codes(ctx.client, country="CY", currency="EUR") == ["eur-only"]

        _assess(ctx.client, "high")  # the newest assessment decides
        assert "low-risk" not in _codes(ctx.client, country="CY", currency="USD")
        assert "high-risk-ok" in _codes(ctx.client, country="CY", currency="USD")
        _assess(ctx.client, "low")
        assert "low-risk" in _codes(ctx.client, country="CY", currency="USD")

        pending = make_client(slug, kyc="pending_review", country="CY")
        assert _codes(pending, country="CY", currency="USD") == ["cy-only", "own-entity", "low-risk", "high-risk-ok",
                                                                 "open"]

        # the brokerage moves its clients to the other entity: the entity-bound methods swap
        LegalEntity.objects.filter(pk=own.pk).update(is_default=False)
        LegalEntity.objects.filter(pk=other.pk).update(is_default=True)
        codes = _codes(ctx.client, country="CY", currency="USD")
        assert "other-entity" in codes and "own-entity" not in codes and codes[0] == "other-entity"


def _form(ctx, **over) -> dict:
    data = {"code": "skrill", "display_name": "Skrill", "provider": str(ctx.card.provider_id), "direction": "deposit",
            "countries": "cy, de", "currencies": "usd,EUR", "kyc_states": ["approved"], "risk_levels": ["low", "medium"],
            "min_amount": "20", "max_amount": "5000", "fee_percent": "1.5", "fee_fixed": "0.30",
            "processing_time": "Within 1 hour", "processing_minutes": "60", "is_enabled": "on"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("slug", SLUGS)
def test_finance_creates_and_edits_a_method_and_each_change_is_audited_old_to_new(money, slug):
    from tenant_apps.compliance.selectors import client_legal_entity
    from tenant_apps.payments.models import PaymentMethod

    ctx = money[slug]
    http = ctx.staff_http("finance")
    response = http.post("/backoffice/money/methods/", _form(ctx))
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(ctx.brokerage):
        method = PaymentMethod.objects.get(code="skrill")
        entity = client_legal_entity(ctx.client)
        created = AuditEntry.objects.get(action="payment_method.created", object_id=str(method.pk))
    assert method.countries == ["CY", "DE"] and method.currencies == ["USD", "EUR"]
    assert method.risk_levels == ["low", "medium"] and method.min_amount == Decimal("20")
    assert created.actor_id == ctx.staff["finance"].pk and created.changes["max_amount"] == [None, "5000"]

    response = ctx.staff_http("manager").post(f"/backoffice/money/methods/{method.pk}/", _form(
        ctx, max_amount="2500", legal_entities=[str(entity.pk)], risk_levels=["low"]))
    assert response.status_code == 302
    with tenant_context(ctx.brokerage):
        changed = AuditEntry.objects.get(action="payment_method.changed", object_id=str(method.pk))
        method.refresh_from_db()
    assert changed.actor_id == ctx.staff["manager"].pk
    assert changed.changes == {"max_amount": ["5000", "2500"], "risk_levels": [["low", "medium"], ["low"]],
                               "legal_entities": [[], [entity.pk]]}
    assert method.max_amount == Decimal("2500")

    # saving the same values again changes nothing and writes no entry
    ctx.staff_http("manager").post(f"/backoffice/money/methods/{method.pk}/", _form(
        ctx, max_amount="2500", legal_entities=[str(entity.pk)], risk_levels=["low"]))
    with tenant_context(ctx.brokerage):
        assert AuditEntry.objects.filter(object_type="payments.paymentmethod", object_id=str(method.pk)).count() == 2

    page = http.get("/backoffice/money/methods/").content.decode()
    assert 'data-method="skrill"' in page and "Within 1 hour" in page


@pytest.mark.parametrize(("over", "field", "text"), [
    ({"countries": "CY, XX, ZZ"}, "countries", "Unknown ISO 3166 country code(s): XX, ZZ."),
    ({"currencies": "USD, ABC"}, "currencies", "Currency code(s) the ledger does not book: ABC."),
    ({"currencies": ""}, "currencies", "Enter at least one ISO 4217 currency code."),
    ({"min_amount": "500", "max_amount": "100"}, "max_amount", "The maximum (100) is below the minimum (500)."),
    ({"min_amount": "-1"}, "min_amount", "Cannot be negative."),
    ({"min_amount": "ten"}, "min_amount", "is not a number."),
    ({"fee_percent": "25"}, "fee_percent", "A percentage between 0 and 20"),
    ({"fee_percent": "1.2345"}, "fee_percent", "at most 3 decimal places"),
    ({"fee_fixed": "-0.5"}, "fee_fixed", "Cannot be negative."),
    ({"kyc_states": ["approved", "bogus"]}, "kyc_states", "Unknown KYC state(s): bogus"),
    ({"risk_levels": ["extreme"]}, "risk_levels", "Unknown risk level(s): extreme"),
    ({"legal_entities": ["999999"]}, "legal_entities", "Choose legal entities of this brokerage."),
    ({"code": "card"}, "code", "Another method already has the code 'card'."),
    ({"code": "no spaces!"}, "code", "Use 1–40 letters, digits, hyphens or underscores."),
    ({"provider": "999999"}, "provider", "Choose one of the brokerage's payment provider connections."),
    ({"processing_minutes": "-5"}, "processing_minutes", "Whole minutes between 0 and 86400"),
])
def test_invalid_rules_are_refused_with_the_field_named_and_nothing_written(money, over, field, text):
    from tenant_apps.payments.models import PaymentMethod
    from tenant_apps.payments.services.methods import MethodRulesInvalid, payment_method_clean

    ctx = money["alpha"]
    response = ctx.staff_http("finance").post("/backoffice/money/methods/", _form(ctx, **over))
    assert response.status_code == 400
    assert text.replace("'", "&#x27;") in response.content.decode()
    with tenant_context(ctx.brokerage):
        assert not PaymentMethod.objects.filter(code=over.get("code", "skrill")).exclude(code="card").exists()
        assert not AuditEntry.objects.filter(action="payment_method.created").exists()
        with pytest.raises(MethodRulesInvalid) as refused:
            payment_method_clean(_form(ctx, **over))
    assert field in refused.value.fields


def test_an_edit_with_a_bad_value_keeps_the_old_rules(money):
    from tenant_apps.payments.models import PaymentMethod

    ctx = money["beta"]
    response = ctx.staff_http("finance").post(f"/backoffice/money/methods/{ctx.card.pk}/", _form(
        ctx, code="card", min_amount="100", max_amount="50"))
    assert response.status_code == 400
    with tenant_context(ctx.brokerage):
        card = PaymentMethod.objects.get(pk=ctx.card.pk)
        assert (card.min_amount, card.max_amount, card.display_name) == (Decimal("10"), Decimal("50000"), "Card")
        assert not AuditEntry.objects.filter(action="payment_method.changed").exists()


@pytest.mark.parametrize("role", ["support", "compliance"])
def test_only_finance_and_managers_reach_the_methods_editor(money, role):
    from tenant_apps.identity.permissions import PermissionDeniedError
    from tenant_apps.payments.services.methods import payment_method_save

    ctx = money["alpha"]
    assert ctx.staff_http(role).get("/backoffice/money/methods/").status_code == 403
    assert ctx.staff_http(role).post("/backoffice/money/methods/", _form(ctx)).status_code == 403
    with tenant_context(ctx.brokerage), pytest.raises(PermissionDeniedError):
        payment_method_save(actor=ctx.staff[role], data=_form(ctx))  # the service refuses too


def test_the_methods_page_reads_in_a_bounded_number_of_queries(money, django_assert_max_num_queries):
    ctx = money["alpha"]
    with tenant_context(ctx.brokerage):
        for i in range(15):
            _method(ctx, f"m{i}", i, countries=["CY"])
    http = ctx.staff_http("finance")
    with django_assert_max_num_queries(20):
        assert http.get("/backoffice/money/methods/").status_code == 200


def test_the_demo_seeds_an_e_wallet_with_rules_once_and_audited(money):
    from provisioning.demo import seed_demo_payment_methods
    from tenant_apps.payments.models import PaymentMethod

    ctx = money["beta"]
    with tenant_context(ctx.brokerage):
        for _ in range(2):  # `make run` twice adds nothing
            seed_demo_payment_methods(manager=ctx.staff["manager"])
        method = PaymentMethod.objects.get(code="e-wallet")
        assert AuditEntry.objects.filter(action="payment_method.created", object_id=str(method.pk)).count() == 1
        assert method.risk_levels == ["low", "medium"] and method.legal_entities.count() == 1
        assert "e-wallet" in _codes_all(ctx.client, country="CY")
        _assess(ctx.client, "high")
        assert "e-wallet" not in _codes_all(ctx.client, country="CY")


def _codes_all(client, **kwargs) -> list[str]:
    from tenant_apps.payments.services.methods import methods_for_client

    return [m.code for m in methods_for_client(user=client, direction="deposit", **kwargs)]
