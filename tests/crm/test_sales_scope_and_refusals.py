"""Seed scenario of issue 3 / scenario 15: Sales sees only its own and its team's clients, never money figures
or other restricted data, in pages and the API alike — and every refusal is logged and audited."""
import logging

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, mfa_enrol


@pytest.fixture
def office(db, tenants):
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import Team, User, UserKind
    from tenant_apps.identity.services import staff_user_create

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        latam, europe = Team.objects.create(name="Sales LATAM"), Team.objects.create(name="Sales Europe")
        sales = staff_user_create(email="rosa.sales@alpha.test", password=PASSWORD, role_codes=["sales"])[0]
        sales.team = latam
        sales.save(update_fields=["team"])
        teammate = staff_user_create(email="juan.sales@alpha.test", password=PASSWORD, role_codes=["sales"])[0]
        teammate.team = latam
        teammate.save(update_fields=["team"])
        finance = staff_user_create(email="fin.officer@alpha.test", password=PASSWORD, role_codes=["finance"])[0]

        def client(email, owner, team):
            user = User.objects.create_user(email=email, kind=UserKind.CLIENT, full_name=email.split("@")[0].title())
            ClientRecord.objects.create(user=user, owner=owner, team=team, country="MX")
            return user

        mine = client("mine@example.test", sales, latam)
        teams = client("teams@example.test", teammate, latam)
        other = client("other@example.test", None, europe)
    mfa_enrol(alpha, finance.email)
    return {"sales": sales, "finance": finance, "mine": mine, "teams": teams, "other": other}


def sales_client(tenants, tenant_client):
    client = tenant_client(tenants["alpha"])
    response = client.post("/accounts/login/", {"login": "rosa.sales@alpha.test", "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def test_sales_lists_only_its_own_and_its_teams_clients(office, tenants, tenant_client):
    page = sales_client(tenants, tenant_client).get("/backoffice/clients/").content.decode()
    assert "mine@example.test" in page and "teams@example.test" in page
    assert "other@example.test" not in page
    assert "Showing your and your team" in page


def test_another_teams_client_is_a_404_for_sales_in_pages_and_api(office, tenants, tenant_client):
    client = sales_client(tenants, tenant_client)
    other = office["other"].pk
    assert client.get(f"/backoffice/clients/{other}/").status_code == 404
    assert client.get(f"/api/v1/clients/{other}/").status_code == 404
    listed = client.get("/api/v1/clients/").json()
    assert {c["id"] for c in listed["results"]} == {office["mine"].pk, office["teams"].pk}


def test_sales_never_receives_money_figures_and_the_refusals_are_logged_and_audited(office, tenants, tenant_client,
                                                                                   caplog):
    from tenant_apps.audit.models import AuditEntry

    client = sales_client(tenants, tenant_client)
    mine = office["mine"].pk
    page = client.get(f"/backoffice/clients/{mine}/")
    assert page.status_code == 200
    assert b'data-block="finance"' not in page.content and b"All balances" not in page.content
    detail = client.get(f"/api/v1/clients/{mine}/").json()
    assert "balance" not in str(detail).lower() and detail["email"] == "mine@example.test"

    with caplog.at_level(logging.WARNING, logger="brokeros.access"):
        assert client.get(f"/backoffice/clients/{mine}/finance/").status_code == 403
        assert client.get(f"/api/v1/clients/{mine}/finance/").status_code == 403
        assert client.get("/backoffice/audit/").status_code == 403
    refused = [r.getMessage() for r in caplog.records if "denied" in r.getMessage()]
    assert len(refused) == 3 and all("rosa.sales@alpha.test" in m for m in refused)
    with tenant_context(tenants["alpha"]):
        entries = list(AuditEntry.objects.filter(action="access.denied", actor_label="rosa.sales@alpha.test")
                       .order_by("seq").values_list("object_id", "reason"))
    assert [e[0] for e in entries] == ["clients.finance:view", "clients.finance:view", "audit:view"]
    assert entries[1][1] == f"GET /api/v1/clients/{mine}/finance/"


def test_finance_sees_the_money_block_that_sales_does_not(office, tenants, tenant_client):
    client = tenant_client(tenants["alpha"], "fin.officer@alpha.test")
    page = client.get(f"/backoffice/clients/{office['mine'].pk}/")
    assert page.status_code == 200 and b'data-block="finance"' in page.content
    assert client.get(f"/api/v1/clients/{office['other'].pk}/finance/").status_code == 200
