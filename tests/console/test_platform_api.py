"""The platform API (/api/v1/platform/ on the platform host): operators only, typed errors, never a 500."""
import json

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.test import APIRequestFactory

from tenancy.models import Brokerage, PlatformAuditEvent
from tenant_apps.identity.models import User, UserKind
from tests.conftest import PASSWORD, host_of
from tests.console.support import footprint, operator

API = "/api/v1/platform"


def post(client: Client, path: str, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def valid(**overrides) -> dict:
    return {"name": "Vega Markets", "slug": "vega-fx", "admin_email": "Boss@Vega.test", "jurisdiction": "asic",
            "theme_preset": "ocean", "timezone": "Australia/Sydney", "language": "es",
            "custom_domains": ["portal.vega-fx.com"], **overrides}


# --- who may call it ------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", f"{API}/brokerages/"), ("post", f"{API}/brokerages/"), ("get", f"{API}/brokerages/alpha/"),
    ("post", f"{API}/brokerages/alpha/suspend/"), ("post", f"{API}/brokerages/alpha/resume/"),
    ("post", f"{API}/brokerages/alpha/archive/"), ("get", f"{API}/jobs/00000000-0000-0000-0000-000000000000/"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_deactivated_operator_is_refused_like_anyone_else(db, tenants, platform_client, method, path):
    user = operator()
    platform_client.force_login(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = getattr(platform_client, method)(path, {"reason": "x"}, content_type="application/json") \
        if method == "post" else platform_client.get(path)
    assert response.status_code == 403
    assert response.json()["code"] in ("not_authenticated", "permission_denied")
    assert Brokerage.objects.get(slug="alpha").status == "active"


def test_an_operator_token_works_without_a_session_or_csrf_token(db, tenants):
    token = Token.objects.create(user=operator())
    client = Client(HTTP_HOST=settings.PLATFORM_DOMAIN, enforce_csrf_checks=True,
                    HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(f"{API}/brokerages/alpha/").json()["slug"] == "alpha"
    response = post(client, f"{API}/brokerages/alpha/suspend/", {"reason": "scripted maintenance"})
    assert response.status_code == 200 and response.json()["status"] == "suspended"


def test_a_token_of_a_public_user_who_is_not_an_operator_is_refused(db, tenants):
    visitor = User.objects.create_user(email="visitor@platform.test", password=PASSWORD, kind=UserKind.CLIENT)
    client = Client(HTTP_HOST=settings.PLATFORM_DOMAIN, HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=visitor).key}")
    response = client.get(f"{API}/brokerages/")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_an_operator_session_cannot_change_status_without_a_csrf_token(db, tenants):
    client = Client(HTTP_HOST=settings.PLATFORM_DOMAIN, enforce_csrf_checks=True)
    client.force_login(operator())
    response = post(client, f"{API}/brokerages/alpha/suspend/", {"reason": "forged from another site"})
    assert response.status_code == 403 and "CSRF" in response.json()["message"]
    assert Brokerage.objects.get(slug="alpha").status == "active"


def test_a_platform_token_signs_nobody_in_on_a_brokerage_host(db, tenants):
    """Tokens live only in the public schema; on a brokerage's host the lookup would fall through the search
    path and join that brokerage's users by id, turning the operator into the brokerage's first user."""
    token = Token.objects.create(user=operator())
    alpha = tenants["alpha"]
    with tenant_context(alpha):
        assert User.objects.filter(pk=token.user_id).exists()  # the same id exists there
        request = Request(APIRequestFactory().get("/api/v1/brokerage/", HTTP_AUTHORIZATION=f"Token {token.key}"))
        for authentication in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
            try:
                signed_in = authentication().authenticate(request)
            except AuthenticationFailed:
                signed_in = None
            assert signed_in is None, (authentication, signed_in)
    response = Client(HTTP_HOST=host_of(alpha), HTTP_AUTHORIZATION=f"Token {token.key}").get("/api/schema/?format=json")
    assert response.status_code == 403
    assert json.loads(response.content)["message"] == "Token authentication is only available on the platform host."


# --- provisioning through the API ---------------------------------------------------------------

BAD_INPUTS = [
    pytest.param({"slug": "www"}, {"slug": ["'www' is reserved by the platform; choose another slug."]}, id="reserved"),
    pytest.param({"slug": "alpha"}, {"slug": ["A brokerage with the slug 'alpha' already exists."]}, id="duplicate"),
    pytest.param({"slug": "Alpha"}, {"slug": ["Use lowercase letters, digits and hyphens only, starting with a letter "
                                              "and not ending with a hyphen."]}, id="uppercase"),
    pytest.param({"custom_domains": ["bad..domain"]}, {"custom_domains": [
        "'bad..domain' is not a valid domain name: label '' may hold only a-z, 0-9 and inner hyphens, 1-63 characters."]},
        id="bad-domain"),
    pytest.param({"custom_domains": ["alpha.localhost"]}, {"custom_domains": [
        "'alpha.localhost' is under the platform domain; custom domains must be the broker's own."]}, id="platform-domain"),
    pytest.param({"name": "N" * 121}, {"name": ["The name is 121 characters long; at most 120 are allowed."]}, id="long-name"),
    pytest.param({"timezone": "Mars/Olympus"}, {"timezone": [
        "Unknown time zone 'Mars/Olympus' (use an IANA name such as Europe/London)."]}, id="timezone"),
    pytest.param({"jurisdiction": "atlantis"}, {"jurisdiction": [
        "Unknown jurisdiction 'atlantis'. Choose one of: cysec, fca, asic, fsa_sc, vfsc."]}, id="jurisdiction"),
    pytest.param({"language": "xx"}, {"language": ["Unsupported language 'xx'. Choose one of: en, es, ar."]}, id="language"),
    pytest.param({"admin_email": ""}, {"admin_email": ["The first Super Admin's e-mail address is required."]},
                 id="no-email"),
    pytest.param({"name": "Tab\tName"}, {"name": ["The name contains control characters."]}, id="control-chars"),
]


@pytest.mark.parametrize(("overrides", "fields"), BAD_INPUTS)
def test_bad_input_is_400_with_the_specific_message_and_creates_nothing(operator_client, tenants, overrides, fields):
    before = footprint()
    response = post(operator_client, f"{API}/brokerages/", valid(**overrides))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"
    assert response.json()["fields"] == fields
    assert footprint() == before


def test_every_problem_with_the_input_is_reported_at_once(operator_client, tenants):
    before = footprint()
    response = post(operator_client, f"{API}/brokerages/", valid(name="", slug="www", admin_email="x",
                                                                 timezone="Nowhere", custom_domains=["a..b"]))
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"name", "slug", "admin_email", "timezone", "custom_domains"}
    assert footprint() == before


def test_valid_input_provisions_the_brokerage_and_returns_the_job_with_its_steps(operator_client, tenants, tenant_client):
    response = post(operator_client, f"{API}/brokerages/", valid())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "succeeded" and body["slug"] == "vega-fx" and body["method"] in ("pool", "blueprint")
    assert len(body["steps"]) == 10 and {s["status"] for s in body["steps"]} == {"succeeded"}
    assert [s["name"] for s in body["steps"]][:2] == ["reserve", "schema"]
    assert body["result"]["admin_email"] == "boss@vega.test"
    assert body["result"]["invite_url"].startswith("http://vega-fx.localhost:8000/accounts/password/reset/key/")
    brokerage = body["brokerage"]
    assert (brokerage["status"], brokerage["portal_url"], brokerage["timezone"], brokerage["default_language"]) == (
        "active", "http://vega-fx.localhost:8000/", "Australia/Sydney", "es")
    assert {(d["domain"], d["is_primary"], d["is_custom"]) for d in brokerage["domains"]} == {
        ("vega-fx.localhost", True, False), ("portal.vega-fx.com", False, True)}
    event = PlatformAuditEvent.objects.filter(action="provisioning.requested", brokerage_slug="vega-fx").get()
    assert event.actor == operator()

    # The job and the brokerage read back the same through their own endpoints.
    job = operator_client.get(f"{API}/jobs/{body['id']}/").json()
    assert (job["status"], len(job["steps"])) == ("succeeded", 10)
    assert operator_client.get(f"{API}/brokerages/vega-fx/").json()["portal_url"] == brokerage["portal_url"]
    assert "vega-fx" in [b["slug"] for b in operator_client.get(f"{API}/brokerages/").json()]
    # Its portal answers on both of its domains, in its own name.
    vega = Brokerage.objects.get(slug="vega-fx")
    for host in ("vega-fx.localhost", "portal.vega-fx.com"):
        page = Client(HTTP_HOST=host).get("/api/v1/brokerage/")
        assert page.status_code == 200 and page.json()["name"] == "Vega Markets", host
    assert tenant_client(vega).get("/").status_code == 200

    before = footprint()
    again = post(operator_client, f"{API}/brokerages/", valid(name="Vega Again", custom_domains=[]))
    assert again.status_code == 400
    assert again.json()["fields"] == {"slug": ["A brokerage with the slug 'vega-fx' already exists."]}
    taken = post(operator_client, f"{API}/brokerages/", valid(slug="vega-two", custom_domains=["portal.vega-fx.com"]))
    assert taken.json()["fields"] == {"custom_domains": ["The domain 'portal.vega-fx.com' is already used by another brokerage."]}
    assert footprint() == before


def test_brokerage_list_shows_real_brokerages_only(operator_client, tenants):
    slugs = [b["slug"] for b in operator_client.get(f"{API}/brokerages/").json()]
    assert {"alpha", "beta"} <= set(slugs)
    assert set(slugs) == set(Brokerage.objects.brokerages().values_list("slug", flat=True))
    alpha = next(b for b in operator_client.get(f"{API}/brokerages/").json() if b["slug"] == "alpha")
    assert (alpha["name"], alpha["status"], alpha["portal_url"]) == ("Alpha Trading", "active", "http://alpha.localhost:8000/")


# --- status changes ---------------------------------------------------------------------------------

def test_status_changes_return_the_new_status_and_refuse_impossible_ones_with_409(operator_client, tenants):
    response = post(operator_client, f"{API}/brokerages/alpha/suspend/", {"reason": "Chargeback review"})
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    event = PlatformAuditEvent.objects.filter(brokerage_slug="alpha").first()
    assert (event.action, event.old_value, event.new_value, event.reason, event.actor) == (
        "brokerage.suspend", "active", "suspended", "Chargeback review", operator())
    assert Client(HTTP_HOST="alpha.localhost").get("/api/v1/brokerage/").status_code == 503

    again = post(operator_client, f"{API}/brokerages/alpha/suspend/", {"reason": "twice"})
    assert again.status_code == 409
    assert again.json() == {"code": "transition_not_allowed", "message": "Cannot suspend 'alpha': it is suspended."}

    assert post(operator_client, f"{API}/brokerages/alpha/resume/", {}).json()["status"] == "active"
    archived = post(operator_client, f"{API}/brokerages/alpha/archive/", {"reason": "Wound down"})
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    for action in ("resume", "suspend", "archive"):
        refused = post(operator_client, f"{API}/brokerages/alpha/{action}/", {"reason": "try"})
        assert refused.status_code == 409 and refused.json()["code"] == "transition_not_allowed", action
    assert Brokerage.objects.get(slug="alpha").status == "archived"


@pytest.mark.parametrize("action", ["suspend", "archive"])
@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_suspend_and_archive_without_a_reason_are_400_reason_required(operator_client, tenants, action, body):
    events = PlatformAuditEvent.objects.count()
    response = post(operator_client, f"{API}/brokerages/alpha/{action}/", body)
    assert response.status_code == 400
    assert response.json() == {"code": "reason_required", "message": f"A reason is required to {action} a brokerage.",
                               "fields": {"reason": [f"A reason is required to {action} a brokerage."]}}
    assert Brokerage.objects.get(slug="alpha").status == "active"
    assert PlatformAuditEvent.objects.count() == events


@pytest.mark.parametrize(("method", "path"), [
    ("get", f"{API}/brokerages/nobody/"), ("post", f"{API}/brokerages/nobody/suspend/"),
    ("post", f"{API}/brokerages/platform/resume/"), ("get", f"{API}/brokerages/platform/"),
    ("get", f"{API}/jobs/00000000-0000-0000-0000-000000000000/"),
])
def test_unknown_brokerages_and_jobs_are_404_not_found(operator_client, tenants, method, path):
    response = getattr(operator_client, method)(path)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# --- never a 500 ------------------------------------------------------------------------------------

WEIRD_PROVISION_BODIES = [
    pytest.param('{"name": ', "application/json", id="truncated-json"),
    pytest.param("[1, 2]", "application/json", id="json-array"),
    pytest.param('"just a string"', "application/json", id="json-string"),
    pytest.param("null", "application/json", id="json-null"),
    pytest.param(json.dumps({"name": ["x"], "slug": {"a": 1}, "admin_email": None}), "application/json", id="wrong-types"),
    pytest.param(json.dumps(valid(custom_domains="portal.example.com")), "application/json", id="domains-not-a-list"),
    pytest.param(json.dumps(valid(custom_domains=[None, 3, {"x": 1}])), "application/json", id="domains-bad-items"),
    pytest.param(json.dumps(valid(custom_domains=[f"d{i}.example.com" for i in range(500)])), "application/json",
                 id="too-many-domains"),
    pytest.param(json.dumps(valid(name="N" * 1_000_000)), "application/json", id="megabyte-name"),
    pytest.param(json.dumps(valid(slug="s" * 10_000, admin_email="a" * 10_000 + "@x.test")), "application/json",
                 id="huge-slug-and-email"),
    pytest.param(json.dumps(valid(name="n\x00", slug="abc\x00")), "application/json", id="nul-bytes"),
    pytest.param(json.dumps(valid(slug="vega_fx; DROP SCHEMA public")), "application/json", id="sql-in-slug"),
    pytest.param(json.dumps(valid(slug="ünïcode")), "application/json", id="unicode-slug"),
    pytest.param(json.dumps(valid(custom_domains=["xn--80ak6aa92e.com", "тест.com"])), "application/json", id="idn"),
    pytest.param(json.dumps(valid(timezone=5, language=True, jurisdiction=1.5)), "application/json", id="numbers"),
    pytest.param("x" * (6 * 1024 * 1024), "application/json", id="body-over-the-limit"),
    pytest.param("name=n&slug=www", "application/x-www-form-urlencoded", id="form-encoded"),
    pytest.param(b"\xff\xfe\x00", "application/json", id="not-utf8"),
    pytest.param("<xml/>", "text/xml", id="unsupported-type"),
]


@pytest.mark.parametrize(("body", "content_type"), WEIRD_PROVISION_BODIES)
def test_provisioning_never_answers_500_whatever_the_body(operator_client, tenants, body, content_type):
    before = footprint()
    response = operator_client.post(f"{API}/brokerages/", body, content_type=content_type)
    assert response.status_code in (400, 413, 415), response.content[:300]
    assert response.json()["code"]  # a typed error body, even for a body Django itself refuses
    assert footprint() == before


@pytest.mark.parametrize("body", [
    '{"reason": {"a": 1}}', '{"reason": ["x"]}', '{"reason": null}', '{"reason": true}', json.dumps({"reason": "r" * 301}),
    "[]", "nope", '{"reason": "\\u0000"}', "x" * (6 * 1024 * 1024),
])
def test_status_changes_never_answer_500_whatever_the_body(operator_client, tenants, body):
    response = operator_client.post(f"{API}/brokerages/alpha/suspend/", body, content_type="application/json")
    assert response.status_code in (400, 413), response.content[:300]
    assert response.json()["code"]
    assert Brokerage.objects.get(slug="alpha").status == "active"


# --- the OpenAPI document -------------------------------------------------------------------------------

def test_platform_host_serves_an_openapi_document_listing_the_platform_api(db, tenants, platform_client):
    response = platform_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations == {
        (f"{API}/brokerages/", "get"), (f"{API}/brokerages/", "post"), (f"{API}/brokerages/{{slug}}/", "get"),
        (f"{API}/brokerages/{{slug}}/suspend/", "post"), (f"{API}/brokerages/{{slug}}/resume/", "post"),
        (f"{API}/brokerages/{{slug}}/archive/", "post"), (f"{API}/jobs/{{job_id}}/", "get"),
    }
    # A brokerage's API is documented on its own host, not the platform's, and the other way round.
    tenant_schema = json.loads(Client(HTTP_HOST="alpha.localhost").get("/api/schema/?format=json").content)
    assert "/api/v1/brokerage/" in tenant_schema["paths"]
    assert not any(path.startswith(API) for path in tenant_schema["paths"])
