"""The identity API (/api/v1/me/, staff/, api-tokens/): the same services as the pages, typed errors with
field messages for bad input (never a 500), and an OpenAPI schema that documents both ways in and the error body."""
from __future__ import annotations

import json

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from tenant_apps.identity.models import ApiToken, StaffInvite, Team, User
from tests.conftest import host_of
from tests.identity.conftest import login, signed_in, user_create
from tests.identity.staff_helpers import ADMIN, bearer, entries_since, head_seq, mint


@pytest.fixture
def alpha(db, tenants):
    return tenants["alpha"]


@pytest.fixture
def admin_api(alpha):
    """Alpha's Super Admin calling with a token that may manage staff and tokens."""
    _, secret = mint(alpha, ADMIN, ["staff:view", "staff:manage", "api_tokens:manage"])
    return bearer(alpha, secret)


def send(client, method: str, path: str, body=None):
    return client.generic(method, path, json.dumps(body) if body is not None else "", content_type="application/json")


def test_me_tells_a_session_user_their_roles_team_and_permissions(alpha, tenant_client):
    desk = None
    with tenant_context(alpha):
        desk = Team.objects.create(name="Desk API")
    user = user_create(alpha, "me.sales@alpha.test", kind="staff", roles=("sales",))
    with tenant_context(alpha):
        User.objects.filter(pk=user.pk).update(team=desk, full_name="Mia Sales")

    body = tenant_client(alpha, "me.sales@alpha.test").get("/api/v1/me/").json()

    assert body["email"] == "me.sales@alpha.test" and body["full_name"] == "Mia Sales" and body["kind"] == "staff"
    assert body["roles"] == [{"code": "sales", "name": "Sales", "is_system": True}]
    assert body["team"] == {"id": desk.pk, "name": "Desk API"}
    assert body["auth_method"] == "session" and body["token"] is None
    assert "clients:view" in body["permissions"] and "clients.finance:view" not in body["permissions"]


def test_inviting_through_the_api_sends_the_same_email_and_is_audited(alpha, admin_api,
                                                                       django_capture_on_commit_callbacks):
    start = head_seq(alpha)

    with django_capture_on_commit_callbacks(execute=True):
        response = send(admin_api, "POST", "/api/v1/staff/", {"email": "api.hire@alpha.test", "roles": ["support"],
                                                               "valid_for_hours": 24})

    assert response.status_code == 201, response.content
    assert response.json()["email"] == "api.hire@alpha.test" and response.json()["roles"] == ["support"]
    assert "token" not in response.json()
    assert any(m.to == ["api.hire@alpha.test"] and "/backoffice/join/" in m.body for m in mail.outbox)
    (entry,) = entries_since(alpha, start)
    assert (entry.action, entry.actor_label) == ("staff.invited", ADMIN)
    with tenant_context(alpha):
        assert StaffInvite.objects.filter(email="api.hire@alpha.test", accepted_at__isnull=True).exists()


def test_patching_roles_and_team_through_the_api_is_audited_old_to_new(alpha, admin_api):
    member = user_create(alpha, "api.mover@alpha.test", kind="staff", roles=("sales",))
    with tenant_context(alpha):
        desk = Team.objects.create(name="Desk Patch")
    start = head_seq(alpha)

    response = send(admin_api, "PATCH", f"/api/v1/staff/{member.pk}/", {"roles": ["support"], "team": desk.pk,
                                                                          "reason": "Rota change"})

    assert response.status_code == 200, response.content
    assert [r["code"] for r in response.json()["roles"]] == ["support"]
    assert response.json()["team"] == {"id": desk.pk, "name": "Desk Patch"}
    assert [(e.action, e.changes, e.reason) for e in entries_since(alpha, start)] == [
        ("staff.roles_changed", {"roles": [["sales"], ["support"]]}, "Rota change"),
        ("staff.team_changed", {"team": [None, "Desk Patch"]}, "Rota change"),
    ]


def test_deactivating_through_the_api_ends_the_members_session_at_once(alpha, admin_api, browser):
    member = user_create(alpha, "api.leaver@alpha.test", kind="staff", roles=("sales",))
    theirs = browser(alpha)
    login(theirs, "api.leaver@alpha.test")
    assert signed_in(theirs)

    response = send(admin_api, "POST", f"/api/v1/staff/{member.pk}/deactivate/", {"reason": "Left"})

    assert response.status_code == 200 and response.json()["is_active"] is False
    assert not signed_in(theirs)


def test_tokens_are_listed_made_and_deleted_through_the_api(alpha, admin_api):
    made = send(admin_api, "POST", "/api/v1/api-tokens/", {"name": "Reporting", "scopes": ["staff:view"]})

    assert made.status_code == 201 and made["Cache-Control"] == "no-store"
    secret, token_id = made.json()["token"], made.json()["id"]
    assert secret.startswith(f"brk_{made.json()['prefix']}_")
    listed = admin_api.get("/api/v1/api-tokens/").json()
    assert {t["id"] for t in listed} >= {token_id} and all("token" not in t for t in listed)
    assert bearer(alpha, secret).get("/api/v1/staff/").status_code == 200

    deleted = send(admin_api, "DELETE", f"/api/v1/api-tokens/{token_id}/")

    assert deleted.status_code == 204
    assert bearer(alpha, secret).get("/api/v1/staff/").status_code == 401
    with tenant_context(alpha):
        assert ApiToken.objects.get(pk=token_id).revoked_at is not None
    again = send(admin_api, "DELETE", f"/api/v1/api-tokens/{token_id}/")
    assert again.status_code == 400 and again.json()["fields"]["token"]


def test_a_sales_session_is_refused_staff_management_and_the_refusal_is_audited(alpha, tenant_client):
    user_create(alpha, "api.sales@alpha.test", kind="staff", roles=("sales",))
    member = user_create(alpha, "api.target@alpha.test", kind="staff", roles=("support",))
    start = head_seq(alpha)

    response = send(tenant_client(alpha, "api.sales@alpha.test"), "PATCH", f"/api/v1/staff/{member.pk}/",
                    {"roles": ["super_admin"]})

    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    (entry,) = entries_since(alpha, start)
    assert (entry.action, entry.object_id, entry.actor_label) == ("access.denied", "staff:manage",
                                                                  "api.sales@alpha.test")


LONG = "x" * 5000
BAD_INPUT = [
    # (method, path, body, field that names the problem)
    ("POST", "/api/v1/staff/", {}, "email"),
    ("POST", "/api/v1/staff/", {"email": "not-an-email", "roles": ["sales"]}, "email"),
    ("POST", "/api/v1/staff/", {"email": "ok@alpha.test", "roles": []}, "roles"),
    ("POST", "/api/v1/staff/", {"email": "ok@alpha.test", "roles": ["pirate"]}, "roles"),
    ("POST", "/api/v1/staff/", {"email": "ok@alpha.test", "roles": ["client"]}, "roles"),
    ("POST", "/api/v1/staff/", {"email": "ok@alpha.test", "roles": "sales"}, "roles"),
    ("POST", "/api/v1/staff/", {"email": "ok@alpha.test", "roles": ["sales"], "team": 999999}, "team"),
    ("POST", "/api/v1/staff/", {"email": "ok@alpha.test", "roles": ["sales"], "team": "desk"}, "team"),
    ("POST", "/api/v1/staff/", {"email": "ok@alpha.test", "roles": ["sales"], "valid_for_hours": 0}, "valid_for_hours"),
    ("POST", "/api/v1/staff/", {"email": "a\x00b@alpha.test", "roles": ["sales"]}, "email"),
    ("POST", "/api/v1/staff/", {"email": LONG + "@alpha.test", "roles": ["sales"]}, "email"),
    ("POST", "/api/v1/staff/", {"email": ADMIN, "roles": ["sales"]}, "email"),
    ("PATCH", "/api/v1/staff/<member>/", {}, "roles"),
    ("PATCH", "/api/v1/staff/<member>/", {"roles": ["nope"]}, "roles"),
    ("PATCH", "/api/v1/staff/<member>/", {"roles": [1, 2]}, "roles"),
    ("PATCH", "/api/v1/staff/<member>/", {"team": -1}, "team"),
    ("PATCH", "/api/v1/staff/<member>/", {"team": 2**70}, "team"),
    ("PATCH", "/api/v1/staff/<member>/", {"roles": ["sales"], "reason": LONG}, "reason"),
    ("POST", "/api/v1/staff/<member>/deactivate/", {}, "reason"),
    ("POST", "/api/v1/staff/<member>/deactivate/", {"reason": "   "}, "reason"),
    ("POST", "/api/v1/staff/<member>/deactivate/", {"reason": ["a"]}, "reason"),
    ("POST", "/api/v1/api-tokens/", {}, "name"),
    ("POST", "/api/v1/api-tokens/", {"name": "x", "scopes": []}, "scopes"),
    ("POST", "/api/v1/api-tokens/", {"name": "x", "scopes": ["made:up"]}, "scopes"),
    ("POST", "/api/v1/api-tokens/", {"name": LONG, "scopes": ["staff:view"]}, "name"),
    ("POST", "/api/v1/api-tokens/", {"name": "x", "scopes": ["staff:view"], "expires_at": "yesterday"}, "expires_at"),
    ("POST", "/api/v1/api-tokens/", {"name": "x", "scopes": ["staff:view"], "expires_at": "2001-01-01T00:00:00Z"},
     "expires_at"),
    ("POST", "/api/v1/api-tokens/", {"name": "x", "scopes": "staff:view"}, "scopes"),
]


@pytest.mark.parametrize("method, path, body, field", BAD_INPUT, ids=[f"{m}-{p}-{f}-{i}" for i, (m, p, _, f)
                                                                      in enumerate(BAD_INPUT)])
def test_bad_input_on_every_endpoint_is_a_typed_field_error_and_never_a_500(alpha, admin_api, method, path, body,
                                                                             field):
    member = user_create(alpha, "api.member@alpha.test", kind="staff", roles=("sales",))

    response = send(admin_api, method, path.replace("<member>", str(member.pk)), body)

    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["code"] == "invalid_input" and payload["message"]
    assert field in payload["fields"], payload
    assert all(isinstance(m, str) and m for m in payload["fields"][field])


@pytest.mark.parametrize("method, path", [("GET", "/api/v1/staff/999999/"), ("PATCH", "/api/v1/staff/999999/"),
                                          ("GET", "/api/v1/staff/99999999999999999999999/"),
                                          ("DELETE", "/api/v1/api-tokens/99999999999999999999999/"),
                                          ("POST", "/api/v1/staff/999999/deactivate/")])
def test_an_unknown_id_is_a_typed_404(alpha, admin_api, method, path):
    response = send(admin_api, method, path, {"roles": ["sales"], "reason": "x"})

    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", "null", '"text"'])
def test_a_body_that_is_not_a_json_object_is_refused_with_a_code(alpha, admin_api, body):
    response = admin_api.generic("POST", "/api/v1/api-tokens/", body, content_type="application/json")

    assert response.status_code == 400 and response.json()["code"] in {"parse_error", "invalid_input"}


def test_the_openapi_schema_documents_session_and_bearer_auth_and_the_error_body(alpha):
    from django.test import Client

    schema = Client(HTTP_HOST=host_of(alpha)).get("/api/schema/", {"format": "json"}).json()

    schemes = schema["components"]["securitySchemes"]
    assert schemes["brokerageToken"]["type"] == "http" and schemes["brokerageToken"]["scheme"] == "bearer"
    assert "cookieAuth" in schemes
    staff_post = schema["paths"]["/api/v1/staff/"]["post"]
    assert {"cookieAuth": []} in staff_post["security"] and {"brokerageToken": []} in staff_post["security"]
    error = schema["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == {"code", "message", "fields"} and set(error["required"]) == {"code", "message"}
    for status in ("400", "403"):
        body = staff_post["responses"][status]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/ErrorOut"}
    for path in ("/api/v1/me/", "/api/v1/staff/{user_id}/", "/api/v1/staff/{user_id}/deactivate/",
                 "/api/v1/api-tokens/", "/api/v1/api-tokens/{id}/".replace("{id}", "{token_id}")):
        assert path in schema["paths"], path
