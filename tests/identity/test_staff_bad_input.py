"""Bad input on the staff, team, role, API-token and invitation forms: a message under the field it concerns
(status 400), what was typed escaped, nothing changed — never a 500."""
from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.audit.models import AuditEntry
from tests.identity.conftest import user_create
from tests.identity.staff_helpers import ADMIN, head_seq, invite_link

LONG = "x" * 5000
SCRIPT = "<script>alert(1)</script>"

# (path, data, context name of the form, field)
CASES = [
    ("/backoffice/staff/invite/", {}, "form", "email"),
    ("/backoffice/staff/invite/", {"email": SCRIPT, "roles": ["sales"], "valid_for_hours": 72}, "form", "email"),
    ("/backoffice/staff/invite/", {"email": "a\x00b@alpha.test", "roles": ["sales"], "valid_for_hours": 72}, "form",
     "email"),
    ("/backoffice/staff/invite/", {"email": "ok@alpha.test", "valid_for_hours": 72}, "form", "roles"),
    ("/backoffice/staff/invite/", {"email": "ok@alpha.test", "roles": ["pirate"], "valid_for_hours": 72}, "form",
     "roles"),
    ("/backoffice/staff/invite/", {"email": "ok@alpha.test", "roles": ["client"], "valid_for_hours": 72}, "form",
     "roles"),
    ("/backoffice/staff/invite/", {"email": "ok@alpha.test", "roles": ["sales"], "valid_for_hours": 0}, "form",
     "valid_for_hours"),
    ("/backoffice/staff/invite/", {"email": "ok@alpha.test", "roles": ["sales"], "valid_for_hours": "soon"}, "form",
     "valid_for_hours"),
    ("/backoffice/staff/invite/", {"email": "ok@alpha.test", "roles": ["sales"], "valid_for_hours": 72,
                                   "team": "999999"}, "form", "team"),
    ("/backoffice/staff/<member>/", {}, "access_form", "roles"),
    ("/backoffice/staff/<member>/", {"roles": ["sales"], "team": SCRIPT}, "access_form", "team"),
    ("/backoffice/staff/<member>/", {"roles": ["sales"], "reason": LONG}, "access_form", "reason"),
    ("/backoffice/staff/<member>/deactivate/", {}, "reason_form", "reason"),
    ("/backoffice/staff/<member>/deactivate/", {"reason": LONG}, "reason_form", "reason"),
    ("/backoffice/staff/<member>/deactivate/", {"reason": "a\x00b"}, "reason_form", "reason"),
    ("/backoffice/staff/<member>/reactivate/", {}, "reason_form", "reason"),
    ("/backoffice/staff/teams/", {}, "form", "name"),
    ("/backoffice/staff/teams/", {"name": LONG}, "form", "name"),
    ("/backoffice/staff/teams/", {"name": "Desk", "description": LONG}, "form", "description"),
    ("/backoffice/roles/new/", {}, "form", "name"),
    ("/backoffice/roles/new/", {"name": "R"}, "form", "permissions"),
    ("/backoffice/roles/new/", {"name": SCRIPT, "permissions": [SCRIPT]}, "form", "permissions"),
    ("/backoffice/roles/new/", {"name": "Sales", "permissions": ["backoffice:view"]}, "form", "name"),
    ("/backoffice/roles/new/", {"name": LONG, "permissions": ["backoffice:view"]}, "form", "name"),
    ("/backoffice/account/api-tokens/", {}, "form", "name"),
    ("/backoffice/account/api-tokens/", {"name": "x"}, "form", "scopes"),
    ("/backoffice/account/api-tokens/", {"name": "x", "scopes": ["kyc:decide"]}, "form", "scopes"),
    ("/backoffice/account/api-tokens/", {"name": "x", "scopes": ["roles:view"], "expires_in_days": "forever"}, "form",
     "expires_in_days"),
    ("/backoffice/account/api-tokens/", {"name": LONG, "scopes": ["roles:view"]}, "form", "name"),
]


@pytest.mark.parametrize("path, data, form_name, field", CASES,
                         ids=[f"{c[0]}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_on_a_staff_page_is_a_field_error_and_never_a_500(db, tenants, tenant_client, path, data,
                                                                     form_name, field):
    alpha = tenants["alpha"]
    member = user_create(alpha, "bad.input.member@alpha.test", kind="staff", roles=("support",))
    start = head_seq(alpha)

    response = tenant_client(alpha, ADMIN).post(path.replace("<member>", str(member.pk)), data)

    assert response.status_code == 400, (response.status_code, response.get("Location"))
    errors = response.context[form_name].errors
    assert field in errors, errors
    html = response.content.decode()
    assert SCRIPT not in html, "what was typed is escaped"
    with tenant_context(alpha):
        assert not AuditEntry.objects.filter(seq__gt=start).exists(), "nothing changed"


ACCEPT_CASES = [
    ({}, "full_name"),
    ({"full_name": "", "password1": "Violet-harbour-1987!", "password2": "Violet-harbour-1987!"}, "full_name"),
    ({"full_name": LONG, "password1": "Violet-harbour-1987!", "password2": "Violet-harbour-1987!"}, "full_name"),
    ({"full_name": "Ann", "password1": "Violet-harbour-1987!", "password2": "Violet-harbour-1988!"}, "password2"),
    ({"full_name": "Ann", "password1": "short", "password2": "short"}, "password1"),
    ({"full_name": "Ann", "password1": "bad.accept@alpha.test", "password2": "bad.accept@alpha.test"}, "password1"),
    ({"full_name": "Ann", "password1": "1234567890123", "password2": "1234567890123"}, "password1"),
    ({"full_name": "A\x00nn", "password1": "Violet-harbour-1987!", "password2": "Violet-harbour-1987!"}, "full_name"),
]


@pytest.mark.parametrize("data, field", ACCEPT_CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(ACCEPT_CASES)])
def test_bad_input_on_the_invitation_page_is_a_field_error_and_the_link_still_works(
        db, tenants, tenant_client, browser, django_capture_on_commit_callbacks, data, field):
    alpha = tenants["alpha"]
    with django_capture_on_commit_callbacks(execute=True):
        tenant_client(alpha, ADMIN).post("/backoffice/staff/invite/", {"email": "bad.accept@alpha.test",
                                                                      "roles": ["sales"], "valid_for_hours": 72})
    link = invite_link("bad.accept@alpha.test")
    visitor = browser(alpha)

    response = visitor.post(link["path"], data)

    assert response.status_code == 400
    assert field in response.context["form"].errors, response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert visitor.get(link["path"]).status_code == 200, "a failed attempt does not use the link up"
