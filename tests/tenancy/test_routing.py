"""Host → brokerage routing fails closed: unknown, template and spare hosts get the platform's 404,
each brokerage serves only itself, non-serving brokerages answer 503/410, and cookies stay on their host."""
from __future__ import annotations

import pytest
from django.test import Client

from tenancy.models import Brokerage, BrokerageKind, BrokerageStatus, Domain
from tenancy.services import brokerage_change_status
from tests.conftest import PASSWORD, TENANT_SPECS, sign_in

NAMES = {slug: spec["name"].encode() for slug, spec in TENANT_SPECS.items()}
OTHER = {"alpha": "beta", "beta": "alpha"}
NOTHING_HERE = b"There is nothing here"


def _assert_no_tenant_leaks(response):
    for name in NAMES.values():
        assert name not in response.content, name


# --- unknown hosts ----------------------------------------------------------------------------

UNKNOWN_HOSTS = [
    "nope.localhost",
    "nope.localhost:8000",
    "10.1.2.3",
    "alpha",  # a slug without the platform domain
    "alpha.localhost.attacker.test",  # a brokerage's host as a prefix of someone else's domain
    "beta-alpha.localhost",
]


@pytest.mark.parametrize("host", UNKNOWN_HOSTS)
def test_an_unknown_host_gets_the_platform_404_page_and_no_tenant_data(db, tenants, host):
    response = Client(HTTP_HOST=host).get("/")
    assert response.status_code == 404
    assert NOTHING_HERE in response.content
    assert host.split(":")[0].encode() in response.content
    _assert_no_tenant_leaks(response)


@pytest.mark.parametrize("host", UNKNOWN_HOSTS)
@pytest.mark.parametrize("path, headers", [("/api/v1/brokerage/", {}), ("/", {"HTTP_ACCEPT": "application/json"})],
                         ids=["api-path", "accepts-json"])
def test_an_unknown_host_gets_a_json_404_for_api_requests(db, tenants, host, path, headers):
    response = Client(HTTP_HOST=host).get(path, **headers)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_host"
    _assert_no_tenant_leaks(response)


# Ways a request might try to name a brokerage other than by its host: none of them is listened to.
SPOOFS = {
    "X-Forwarded-Host header": ({"HTTP_X_FORWARDED_HOST": "alpha.localhost"}, ""),
    "X-Tenant header": ({"HTTP_X_TENANT": "alpha"}, ""),
    "query parameter": ({}, "?tenant=alpha&schema=alpha"),
}


@pytest.mark.parametrize("headers, query", SPOOFS.values(), ids=SPOOFS.keys())
def test_the_brokerage_comes_from_the_host_never_from_headers_or_parameters(db, tenants, headers, query):
    unknown = Client(HTTP_HOST="nope.localhost").get(f"/{query}", **headers)
    assert unknown.status_code == 404 and NAMES["alpha"] not in unknown.content
    beta = Client(HTTP_HOST="beta.localhost").get(f"/api/v1/brokerage/{query}", **headers)
    assert beta.status_code == 200 and beta.json()["slug"] == "beta"


# --- brokerage hosts ------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["{slug}.localhost", "{slug}.localhost:8000", "{upper}.LocalHost"])
@pytest.mark.parametrize("slug", ["alpha", "beta"])
def test_each_brokerage_host_serves_its_own_portal_and_never_the_others(db, tenants, slug, host):
    response = Client(HTTP_HOST=host.format(slug=slug, upper=slug.upper())).get("/")
    assert response.status_code == 200
    assert b"Trade with " + NAMES[slug] in response.content
    assert NAMES[OTHER[slug]] not in response.content


def test_a_custom_domain_serves_its_brokerage(db, tenants):
    Domain.objects.create(domain="trade.alpha-fx.test", tenant=tenants["alpha"], is_primary=False, is_custom=True)
    response = Client(HTTP_HOST="trade.alpha-fx.test").get("/api/v1/brokerage/")
    assert response.status_code == 200 and response.json()["slug"] == "alpha"


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "LocalHost"])
def test_the_platform_host_serves_the_operator_console(db, tenants, host):
    client = Client(HTTP_HOST=host)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    login = client.get(response["Location"])
    assert login.status_code == 200 and b"Operator sign-in" in login.content
    _assert_no_tenant_leaks(login)


# --- brokerages that are not serving --------------------------------------------------------

def _set_status(brokerage, steps):
    for step in steps:
        if step == "provisioning":  # no transition leads back here; a job in flight looks like this
            Brokerage.objects.filter(pk=brokerage.pk).update(status=BrokerageStatus.PROVISIONING)
        else:
            brokerage_change_status(brokerage_id=brokerage.pk, action=step, reason="routing test")


# How the brokerage got there → (HTTP status, API error code, words on the page).
LIFECYCLE = {
    "suspended": (["suspend"], 503, "brokerage_unavailable", b"temporarily unavailable"),
    "still provisioning": (["provisioning"], 503, "brokerage_unavailable", b"temporarily unavailable"),
    "archived": (["archive"], 410, "brokerage_closed", b"no longer operates this portal"),
    "suspended, then archived": (["suspend", "archive"], 410, "brokerage_closed", b"no longer operates this portal"),
    "suspended, then resumed": (["suspend", "resume"], 200, None, b"Trade with "),
}
PORTAL_PATHS = ["/", "/accounts/login/", "/backoffice/"]


@pytest.mark.parametrize("steps, status, code, words", LIFECYCLE.values(), ids=LIFECYCLE.keys())
def test_a_brokerage_answers_according_to_its_status(db, tenants, tenant_client, steps, status, code, words):
    alpha = tenants["alpha"]
    _set_status(alpha, steps)
    client = tenant_client(alpha)

    page = client.get("/")
    assert page.status_code == status
    assert words in page.content
    assert NAMES["alpha"] in page.content, "the page carries the brokerage's own portal name"
    assert NAMES["beta"] not in page.content
    assert page.get("Retry-After") == ("300" if status == 503 else None)

    api = client.get("/api/v1/brokerage/")
    assert api.status_code == status
    if code:
        assert api.json()["code"] == code
        assert api.get("Retry-After") == ("300" if status == 503 else None)
        for path in PORTAL_PATHS:  # every page, not only the home page
            assert client.get(path).status_code == status, path
        login = client.post("/accounts/login/", {"login": "admin@alpha.test", "password": PASSWORD})
        assert login.status_code == status and "sessionid" not in login.cookies
    else:
        assert api.json()["slug"] == "alpha"

    assert tenant_client(tenants["beta"]).get("/").status_code == 200, "other brokerages are unaffected"


# --- schemas that are not brokerages ------------------------------------------------------

def _template(_):
    return Brokerage.objects.get(kind=BrokerageKind.TEMPLATE)


def _spare(_):
    return Brokerage.objects.create(name="Spare", slug="spare-routing", schema_name="spare_routing",
                                    kind=BrokerageKind.SPARE, status=BrokerageStatus.ACTIVE)


@pytest.mark.parametrize("row", [_template, _spare], ids=["template", "spare"])
@pytest.mark.parametrize("path, json", [("/", False), ("/api/v1/brokerage/", True)], ids=["page", "api"])
def test_template_and_spare_schemas_are_never_routable_even_with_a_domain(db, tenants, row, path, json):
    tenant = row(tenants)
    Domain.objects.create(domain="internal.localhost", tenant=tenant, is_primary=True)
    response = Client(HTTP_HOST="internal.localhost").get(path)
    assert response.status_code == 404
    if json:
        assert response.json()["code"] == "unknown_host"
    else:
        assert NOTHING_HERE in response.content
    assert tenant.name.encode() not in response.content


# --- health probe ---------------------------------------------------------------------------

@pytest.mark.parametrize("host, alpha_steps", [
    ("alpha.localhost", []), ("beta.localhost", []), ("localhost", []), ("nope.localhost", []),
    ("10.1.2.3", []), ("alpha.localhost", ["suspend"]), ("alpha.localhost", ["archive"]),
], ids=["alpha", "beta", "platform", "unknown", "ip", "suspended", "archived"])
def test_healthz_answers_on_every_host(db, tenants, host, alpha_steps):
    _set_status(tenants["alpha"], alpha_steps)
    response = Client(HTTP_HOST=host).get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["checks"] == {"database": "ok", "redis": "ok"}


# --- cookies --------------------------------------------------------------------------------

def _login(client, slug):
    # Password, then the admin's TOTP code: the response that completes the sign-in sets the cookies.
    response = sign_in(client, Brokerage.objects.get(slug=slug), f"admin@{slug}.test")
    assert response.status_code == 302, response.content[:300]
    return response


@pytest.mark.parametrize("slug", ["alpha", "beta"])
def test_login_cookies_are_host_only(db, tenants, tenant_client, slug):
    response = _login(tenant_client(tenants[slug]), slug)
    for name in ("sessionid", "csrftoken"):
        assert name in response.cookies, name
        morsel = response.cookies[name]
        assert morsel["domain"] == "", f"{name} is sent to every host under {morsel['domain']}"
        assert "domain=" not in morsel.output().lower()
    assert response.cookies["sessionid"]["httponly"] is True
    assert response.cookies["sessionid"]["samesite"] == "Lax"


# Another host a stolen or leaked alpha session cookie is presented to → where its login page is.
ELSEWHERE = {
    "beta's back office": ("beta.localhost", "/backoffice/", "/accounts/login/"),
    "the operator console": ("localhost", "/", "/login/"),
}


@pytest.mark.parametrize("host, path, login_path", ELSEWHERE.values(), ids=ELSEWHERE.keys())
def test_an_alpha_session_cookie_is_not_a_session_anywhere_else(db, tenants, tenant_client, host, path, login_path):
    alpha = tenant_client(tenants["alpha"])
    _login(alpha, "alpha")
    assert alpha.get("/backoffice/").status_code == 200

    elsewhere = Client(HTTP_HOST=host)
    elsewhere.cookies["sessionid"] = alpha.cookies["sessionid"].value
    response = elsewhere.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(login_path)
