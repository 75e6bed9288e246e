"""PSP webhooks take the lean path (tenancy.lean): answered right after host → brokerage routing, past the
people-facing middleware, with the same routing, signature check and durable row as before; a brokerage that is not
serving answers exactly as every other path of it does; everything else still goes through the full stack."""
from __future__ import annotations

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from tenancy.services import brokerage_change_status
from tenant_apps.payments.models import WebhookEvent
from tests.payments.conftest import event_body, signature_header

URL = "/webhooks/psp/sandbox/"


def _post(tenant_client, brokerage, body, header, url=URL):
    return tenant_client(brokerage).post(url, data=body, content_type="application/json",
                                         HTTP_STRIPE_SIGNATURE=header)


def test_a_webhook_is_answered_without_the_people_facing_middleware_and_lands_in_its_brokerage(
        webhook_secrets, tenants, tenant_client):
    alpha, beta = tenants["alpha"], tenants["beta"]
    body = event_body(event_id="evt_lean_alpha")
    response = _post(tenant_client, alpha, body, signature_header(body, webhook_secrets["alpha"]))
    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False}
    assert response["Content-Length"] == str(len(response.content))  # keep-alive clients need it (not chunked)
    # no session, locale, clickjacking or allauth layer touched it
    assert "Vary" not in response and "X-Frame-Options" not in response and not response.cookies
    with tenant_context(alpha):
        assert WebhookEvent.objects.filter(event_id="evt_lean_alpha", status="received").exists()
    with tenant_context(beta):
        assert not WebhookEvent.objects.filter(event_id="evt_lean_alpha").exists()
    # a bad signature is still refused and kept for forensics, on the lean path too
    forged = _post(tenant_client, beta, body, signature_header(body, webhook_secrets["alpha"]))
    assert forged.status_code == 400
    with tenant_context(beta):
        assert WebhookEvent.objects.get(event_id="evt_lean_alpha").status == "rejected"


def test_consecutive_webhooks_to_two_brokerages_on_one_connection_each_land_in_their_own_schema(
        webhook_secrets, tenants, tenant_client):
    """The lean path keeps the search_path it already set for the same brokerage; switching brokerages between
    requests (and queries in between) must never leave a row in the wrong schema."""
    alpha, beta = tenants["alpha"], tenants["beta"]
    order = ["alpha", "alpha", "beta", "beta", "alpha", "beta"]
    for i, slug in enumerate(order):
        body = event_body(event_id=f"evt_lean_{i}_{slug}")
        assert _post(tenant_client, tenants[slug], body, signature_header(body, webhook_secrets[slug])).status_code \
            == 200
        if i == 3:
            with tenant_context(alpha):  # a query elsewhere between two requests
                WebhookEvent.objects.count()
    connection.set_schema_to_public()
    for slug, brokerage in (("alpha", alpha), ("beta", beta)):
        with tenant_context(brokerage):
            found = sorted(WebhookEvent.objects.filter(event_id__startswith="evt_lean_").values_list("event_id",
                                                                                                      flat=True))
        assert found == sorted(f"evt_lean_{i}_{s}" for i, s in enumerate(order) if s == slug)


@pytest.mark.parametrize(("steps", "status"), [(["suspend"], 503), (["archive"], 410)])
def test_a_brokerage_that_is_not_serving_answers_its_webhooks_as_it_answers_everything(
        webhook_secrets, tenants, tenant_client, steps, status):
    alpha = tenants["alpha"]
    for step in steps:
        brokerage_change_status(brokerage_id=alpha.pk, action=step, reason="lean path test")
    body = event_body(event_id="evt_lean_closed")
    response = _post(tenant_client, alpha, body, signature_header(body, webhook_secrets["alpha"]))
    assert response.status_code == status
    with tenant_context(alpha):
        assert not WebhookEvent.objects.filter(event_id="evt_lean_closed").exists()


def test_a_webhook_url_without_its_slash_still_gets_the_full_stacks_redirect(webhook_secrets, tenants, tenant_client):
    response = tenant_client(tenants["alpha"]).get(URL.rstrip("/"))
    assert response.status_code == 301 and response["Location"].endswith(URL)
