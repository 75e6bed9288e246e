"""Trader's Room registration (issue 4, item 1): a phone-sized sign-up with country, language and phone,
consents with versions, first-touch attribution kept across pages, the CRM record routed, and refusals by field."""
import pytest
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD

PHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/18.0 Mobile/15E148 Safari/604.1")


def signup_data(email, **overrides):
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD, "country": "CY", "language": "es",
            "phone": "+357 22 123456", "accept_terms": "on", "accept_risk": "on"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def phone_client(tenant_client, brokerage):
    client = tenant_client(brokerage)
    client.defaults["HTTP_USER_AGENT"] = PHONE_UA
    return client


@pytest.fixture
def sales_team(db, tenants):
    from tenant_apps.crm.models import RoutingRule
    from tenant_apps.identity.models import Team
    from tenant_apps.identity.services import staff_user_create

    with tenant_context(tenants["alpha"]):
        team = Team.objects.create(name="Desk Cyprus")
        owner = staff_user_create(email="desk.cy@alpha.test", password=PASSWORD, role_codes=["sales"])[0]
        owner.team = team
        owner.save(update_fields=["team"])
        rule = RoutingRule.objects.create(name="Cyprus desk", priority=10, countries=["CY"], team=team)
    return {"team": team, "owner": owner, "rule": rule}


def test_a_phone_sized_signup_creates_the_client_record_consents_and_routing_decision(sales_team, tenants,
                                                                                      tenant_client):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.crm.models import ClientRecord, ConsentRecord, StageTransition
    from tenant_apps.identity.models import User, UserKind

    client = phone_client(tenant_client, tenants["alpha"])
    page = client.get("/accounts/signup/").content.decode()
    for label in ("Country of residence", "Preferred language", "Phone number (with country code)",
                  "I accept the terms and conditions", "risk disclosure"):
        assert label in page
    assert 'id="calling-codes"' in page and 'type="tel"' in page

    response = client.post("/accounts/signup/", signup_data("ana@example.test", phone="+357 22 12 34 56"))
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(tenants["alpha"]):
        user = User.objects.get(email="ana@example.test")
        record = ClientRecord.objects.get(user=user)
        assert user.kind == UserKind.CLIENT and user.language == "es"
        assert (record.country, record.phone, record.language) == ("CY", "+35722123456", "es")
        consents = {(c.document, c.version) for c in ConsentRecord.objects.filter(client=user)}
        assert consents == {("terms", "2026-11"), ("risk_disclosure", "2026-11")}
        assert all(c.accepted_at for c in ConsentRecord.objects.filter(client=user))
        assert record.team == sales_team["team"] and record.owner == sales_team["owner"]
        assert record.routing_rule == sales_team["rule"] and record.routed_at is not None
        assert "Cyprus desk" in record.routing_reason
        assert record.stage == "registered"
        assert list(StageTransition.objects.filter(client=user).values_list("from_stage", "to_stage")) == [
            ("lead", "registered")]
        actions = set(AuditEntry.objects.filter(subject_id=user.pk).values_list("action", flat=True))
        assert {"crm.client_registered", "crm.client_routed"} <= actions


@pytest.mark.parametrize("overrides, field, message", [
    ({"phone": "+1 555"}, "phone", "not a valid phone number"),
    ({"phone": "call me"}, "phone", "country code"),
    ({"country": "US"}, "country", "cannot open accounts for residents of United States"),
    ({"country": "BE"}, "country", "cannot open accounts for residents of Belgium"),
    ({"accept_terms": None}, "accept_terms", "must accept the terms"),
    ({"accept_risk": None}, "accept_risk", "risk disclosure"),
    ({"country": "XX"}, "country", "Select a valid choice"),
])
def test_bad_registration_input_is_refused_on_its_field_and_nothing_is_created(overrides, field, message, tenants,
                                                                               tenant_client, db):
    from tenant_apps.crm.models import ClientRecord, ConsentRecord
    from tenant_apps.identity.models import User

    client = phone_client(tenant_client, tenants["alpha"])
    response = client.post("/accounts/signup/", signup_data("refused@example.test", **overrides))
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors and message.lower() in " ".join(form.errors[field]).lower(), form.errors
    assert f'id="id_{field}_error"' in response.content.decode()
    with tenant_context(tenants["alpha"]):
        assert not User.objects.filter(email="refused@example.test").exists()
        assert not ClientRecord.objects.filter(user__email="refused@example.test").exists()
        assert not ConsentRecord.objects.exists() or not ConsentRecord.objects.filter(
            client__email="refused@example.test").exists()


def test_restricted_countries_follow_each_brokerages_own_jurisdiction(tenants, tenant_client, db):
    from tenant_apps.identity.models import User

    # Great Britain: accepted under CySEC (alpha), refused under FSA Seychelles (beta); Cyprus refused at beta too.
    gb = signup_data("gb@example.test", country="GB", phone="+44 20 7946 0958")
    alpha_gb = phone_client(tenant_client, tenants["alpha"]).post("/accounts/signup/", gb)
    beta_gb = phone_client(tenant_client, tenants["beta"]).post("/accounts/signup/", gb)
    beta_cy = phone_client(tenant_client, tenants["beta"]).post("/accounts/signup/", signup_data("cy@example.test"))
    assert alpha_gb.status_code == 302, alpha_gb.context["form"].errors
    assert beta_gb.status_code == 200 and "residents of United Kingdom" in beta_gb.context["form"].errors["country"][0]
    assert beta_cy.status_code == 200 and "residents of Cyprus" in beta_cy.context["form"].errors["country"][0]
    with tenant_context(tenants["alpha"]):
        assert User.objects.get(email="gb@example.test").client_record.phone == "+442079460958"
    with tenant_context(tenants["beta"]):
        assert not User.objects.filter(email__in=["gb@example.test", "cy@example.test"]).exists()


def test_a_national_phone_number_is_read_in_the_chosen_country_and_stored_as_e164(tenants, tenant_client, db):
    from tenant_apps.crm.models import ClientRecord

    response = phone_client(tenant_client, tenants["beta"]).post(
        "/accounts/signup/", signup_data("ae@example.test", country="AE", phone="050 123 4567", language="ar"))
    assert response.status_code == 302, response.context["form"].errors
    with tenant_context(tenants["beta"]):
        record = ClientRecord.objects.get(user__email="ae@example.test")
    assert (record.phone, record.language) == ("+971501234567", "ar")


def test_first_touch_ref_and_utm_are_kept_across_pages_and_copied_to_the_record(tenants, tenant_client, db):
    from tenant_apps.crm.attribution import COOKIE
    from tenant_apps.crm.models import ClientRecord

    client = phone_client(tenant_client, tenants["alpha"])
    first = client.get("/?ref=IB-7788&utm_source=google&utm_medium=cpc&utm_campaign=spring&utm_content=ad1"
                       "&utm_term=forex+broker")
    cookie = first.cookies[COOKIE]
    assert cookie["domain"] == "" and cookie["httponly"] and int(cookie["max-age"]) == 30 * 24 * 3600
    # A later visit with other parameters does not overwrite the first touch; a browsed page does not clear it.
    later = client.get("/accounts/login/?utm_source=facebook&ref=OTHER")
    assert COOKIE not in later.cookies
    client.get("/accounts/signup/")
    response = client.post("/accounts/signup/", signup_data("utm@example.test"))
    assert response.status_code == 302
    with tenant_context(tenants["alpha"]):
        record = ClientRecord.objects.get(user__email="utm@example.test")
    assert (record.ref_code, record.utm_source, record.utm_medium, record.utm_campaign, record.utm_content,
            record.utm_term) == ("IB-7788", "google", "cpc", "spring", "ad1", "forex broker")
    assert record.landing_page == "/" and record.first_touch_at is not None


def test_a_tampered_attribution_cookie_is_ignored(tenants, tenant_client, db):
    from tenant_apps.crm.attribution import COOKIE
    from tenant_apps.crm.models import ClientRecord

    client = phone_client(tenant_client, tenants["alpha"])
    client.cookies[COOKIE] = '{"ref":"FORGED","utm_source":"x"}'
    assert client.post("/accounts/signup/", signup_data("forged@example.test")).status_code == 302
    with tenant_context(tenants["alpha"]):
        record = ClientRecord.objects.get(user__email="forged@example.test")
    assert record.ref_code == "" and record.utm_source == ""


def test_after_signup_the_client_dashboard_shows_the_next_step_card(tenants, tenant_client, db):
    from tenant_apps.identity.models import User

    client = phone_client(tenant_client, tenants["alpha"])
    assert client.post("/accounts/signup/", signup_data("card@example.test")).status_code == 302
    with tenant_context(tenants["alpha"]):
        user = User.objects.get(email="card@example.test")
    client.force_login(user)
    page = client.get("/").content.decode()
    assert 'id="next-step"' in page and 'data-stage="registered"' in page
    assert "Verify your identity to open a live account." in page  # compliance's KYC headline
    assert "1 of 4 steps complete" in page and 'aria-valuenow="1"' in page
    assert 'href="/verify/"' in page
