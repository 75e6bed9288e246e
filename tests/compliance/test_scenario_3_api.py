"""Scenario 3 through the API: while KYC is pending a client may open a demo account but neither a live account
nor a withdrawal, and the API says why."""
import pytest
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD


@pytest.fixture
def pending_client(db, tenants, tenant_client):
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.identity.models import User, UserKind

    with tenant_context(tenants["alpha"]):
        user = User.objects.create_user(email="pending.api@example.test", password=PASSWORD, kind=UserKind.CLIENT)
        KycCase.objects.create(client=user, state="pending_review")
    return tenant_client(tenants["alpha"], user.email)


def test_a_withdrawal_is_refused_with_the_kyc_reason_while_kyc_is_pending(pending_client):
    response = pending_client.post("/api/v1/money/withdrawals/",
                                   {"method": "card", "amount": "10.00", "currency": "USD"},
                                   content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"code": "kyc_pending",
                               "message": "Withdrawals need a verified identity. Complete verification first."}


@pytest.mark.parametrize("body,field", [({"method": "card", "amount": "-5", "currency": "USD"}, "amount"),
                                        ({"method": "card", "amount": "abc", "currency": "USD"}, "amount"),
                                        ({"amount": "5", "currency": "USD"}, "method")])
def test_bad_withdrawal_input_gets_field_errors(pending_client, body, field):
    response = pending_client.post("/api/v1/money/withdrawals/", body, content_type="application/json")
    assert response.status_code == 400 and field in response.json()["fields"]


def test_staff_cannot_use_the_client_withdrawal_api(db, tenants, tenant_client):
    assert tenant_client(tenants["alpha"], "admin@alpha.test").get("/api/v1/money/withdrawals/").status_code == 403
