"""Custom roles: a brokerage's own named subset of the matrix's permissions — they grant exactly what was ticked,
pages answer accordingly, maker/checker combinations and unknown keys are refused, system roles stay read-only,
and every change is audited with the old and new permission lists."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from tenant_apps.identity.models import Role, User
from tenant_apps.identity.permissions import BY_CODE, all_permission_keys, has_perm
from tenant_apps.identity.services import role_custom_create
from tests.conftest import mfa_enrol
from tests.identity.conftest import user_create
from tests.identity.staff_helpers import ADMIN, entries_since, head_seq

NEW_ROLE = "/backoffice/roles/new/"
AUDITOR = ["backoffice:view", "audit:view", "staff:view"]


@pytest.fixture
def alpha(db, tenants):
    return tenants["alpha"]


@pytest.fixture
def admin_client(alpha, tenant_client):
    return tenant_client(alpha, ADMIN)


def holder_of(brokerage, role_code: str, email: str) -> User:
    user = user_create(brokerage, email, kind="staff", roles=())
    with tenant_context(brokerage):
        user.roles.add(Role.objects.get(code=role_code))
        return User.objects.get(pk=user.pk)


def test_a_custom_role_made_on_the_page_grants_exactly_the_ticked_permissions(alpha, admin_client):
    start = head_seq(alpha)

    response = admin_client.post(NEW_ROLE, {"name": "Internal auditor", "description": "Reads the trail",
                                            "permissions": AUDITOR})

    assert response.status_code == 302
    with tenant_context(alpha):
        role = Role.objects.get(name="Internal auditor")
        assert (role.is_system, role.is_staff_role, role.code) == (False, True, "internal-auditor")
    user = holder_of(alpha, role.code, "auditor@alpha.test")
    with tenant_context(alpha):
        table = {key: has_perm(user, *key.split(":")) for key in all_permission_keys()}
    assert {key for key, granted in table.items() if granted} == set(AUDITOR)
    (entry,) = entries_since(alpha, start, action="role.created")
    assert entry.actor_label == ADMIN
    assert entry.changes["permissions"] == [[], sorted(AUDITOR)]


PAGES = [
    ("/backoffice/", 200),                 # backoffice:view
    ("/backoffice/audit/", 200),           # audit:view
    ("/backoffice/staff/", 200),           # staff:view
    ("/backoffice/staff/invite/", 403),    # staff:manage — not ticked
    ("/backoffice/permissions/", 403),     # roles:view — not ticked
    ("/backoffice/roles/new/", 403),       # roles:manage — not ticked
    ("/backoffice/account/api-tokens/", 403),  # api_tokens:manage — not ticked
]


@pytest.mark.parametrize("path, expected", PAGES)
def test_a_holder_of_a_custom_role_reaches_exactly_the_pages_its_permissions_open(alpha, tenant_client, path, expected):
    with tenant_context(alpha):
        role_custom_create(name="Internal auditor", permissions=AUDITOR, actor=User.objects.get(email=ADMIN))
    holder_of(alpha, "internal-auditor", "auditor.pages@alpha.test")
    mfa_enrol(alpha, "auditor.pages@alpha.test")  # audit:view is a sensitive right

    response = tenant_client(alpha, "auditor.pages@alpha.test").get(path)

    assert response.status_code == expected


def test_a_custom_role_with_a_money_right_makes_two_factor_mandatory(alpha, tenant_client):
    with tenant_context(alpha):
        role_custom_create(name="Payments desk", permissions=["backoffice:view", "payments:view"],
                           actor=User.objects.get(email=ADMIN))
    holder_of(alpha, "payments-desk", "payments.desk@alpha.test")

    response = tenant_client(alpha, "payments.desk@alpha.test").get("/backoffice/")

    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"


def test_a_role_that_both_decides_kyc_and_approves_payments_is_refused_with_a_clear_message(alpha, admin_client):
    start = head_seq(alpha)

    response = admin_client.post(NEW_ROLE, {"name": "Do-it-all", "permissions": ["backoffice:view", "kyc:decide",
                                                                                 "payments:approve"]})

    assert response.status_code == 400
    message = " ".join(response.context["form"].errors["permissions"])
    assert "maker of a request cannot be its checker" in message and "kyc:decide" in message
    assert "maker of a request cannot be its checker" in response.content.decode()
    with tenant_context(alpha):
        assert not Role.objects.filter(name="Do-it-all").exists()
    assert entries_since(alpha, start) == []
    # Either half alone is fine.
    assert admin_client.post(NEW_ROLE, {"name": "KYC only", "permissions": ["kyc:decide"]}).status_code == 302


def test_an_unknown_permission_key_is_refused_on_the_page_and_by_the_service(alpha, admin_client):
    response = admin_client.post(NEW_ROLE, {"name": "Sneaky", "permissions": ["backoffice:view", "ledger:rewrite"]})

    assert response.status_code == 400
    assert "ledger:rewrite" in " ".join(response.context["form"].errors["permissions"])
    with tenant_context(alpha), pytest.raises(ValidationError) as refused:
        role_custom_create(name="Sneaky", permissions=["backoffice:view", "ledger:rewrite"],
                           actor=User.objects.get(email=ADMIN))
    assert "Unknown permission: ledger:rewrite" in refused.value.message_dict["permissions"][0]


def test_editing_a_custom_role_is_audited_old_to_new_and_holders_get_the_new_rights_at_once(alpha, admin_client,
                                                                                             tenant_client):
    with tenant_context(alpha):
        role = role_custom_create(name="Desk viewer", permissions=["backoffice:view", "clients:view"],
                                  actor=User.objects.get(email=ADMIN))
    holder_of(alpha, role.code, "desk.viewer@alpha.test")
    holder = tenant_client(alpha, "desk.viewer@alpha.test")
    assert holder.get("/backoffice/permissions/").status_code == 403
    start = head_seq(alpha)

    response = admin_client.post(f"/backoffice/roles/{role.pk}/", {"name": "Desk viewer", "permissions": [
        "backoffice:view", "roles:view"]})

    assert response.status_code == 302
    (entry,) = entries_since(alpha, start)
    assert (entry.action, entry.changes) == ("role.updated", {"permissions": [["backoffice:view", "clients:view"],
                                                                              ["backoffice:view", "roles:view"]]})
    assert holder.get("/backoffice/permissions/").status_code == 200


def test_system_roles_are_read_only(alpha, admin_client):
    with tenant_context(alpha):
        sales = Role.objects.get(code="sales")

    page = admin_client.get(f"/backoffice/roles/{sales.pk}/")
    edit = admin_client.post(f"/backoffice/roles/{sales.pk}/", {"name": "Sales", "permissions": ["backoffice:view"]})
    delete = admin_client.post(f"/backoffice/roles/{sales.pk}/delete/")

    assert page.status_code == 200 and "system role" in page.content.decode()
    assert "<code>clients:edit</code>" in page.content.decode(), "the matrix's grants are shown"
    assert 'name="permissions"' not in page.content.decode(), "no checkboxes to change them"
    assert edit.status_code == 400 and "cannot be changed" in edit.content.decode()
    assert delete.status_code == 302
    with tenant_context(alpha):
        assert Role.objects.filter(code="sales", is_system=True, permissions=[]).exists()


def test_a_custom_role_is_deleted_only_when_nobody_holds_it(alpha, admin_client):
    with tenant_context(alpha):
        role = role_custom_create(name="Short-lived", permissions=["backoffice:view"],
                                  actor=User.objects.get(email=ADMIN))
    holder = holder_of(alpha, role.code, "short.lived@alpha.test")
    start = head_seq(alpha)

    refused = admin_client.post(f"/backoffice/roles/{role.pk}/delete/")
    with tenant_context(alpha):
        assert Role.objects.filter(pk=role.pk).exists()
        holder.roles.clear()
    deleted = admin_client.post(f"/backoffice/roles/{role.pk}/delete/")

    assert refused.status_code == deleted.status_code == 302
    with tenant_context(alpha):
        assert not Role.objects.filter(pk=role.pk).exists()
    (entry,) = entries_since(alpha, start)
    assert (entry.action, entry.changes["permissions"]) == ("role.deleted", [["backoffice:view"], None])


def test_only_a_super_admin_manages_roles(alpha, tenant_client):
    user_create(alpha, "manager.roles@alpha.test", kind="staff", roles=("manager",))
    mfa_enrol(alpha, "manager.roles@alpha.test")
    manager = tenant_client(alpha, "manager.roles@alpha.test")

    assert manager.get("/backoffice/permissions/").status_code == 200
    assert manager.get(NEW_ROLE).status_code == 403
    assert manager.post(NEW_ROLE, {"name": "Mine", "permissions": ["backoffice:view"]}).status_code == 403
    with tenant_context(alpha):
        assert not Role.objects.filter(name="Mine").exists()


def test_the_permissions_page_shows_custom_roles_with_their_grants(alpha, admin_client):
    with tenant_context(alpha):
        role_custom_create(name="Internal auditor", permissions=AUDITOR, actor=User.objects.get(email=ADMIN))

    html = admin_client.get("/backoffice/permissions/").content.decode()

    assert 'data-custom-role="internal-auditor"' in html and "Internal auditor" in html
    for key in all_permission_keys():
        row = html[html.index(f'data-permission="{key}"'):].split("</tr>")[0]
        expected = "yes" if key in AUDITOR else "no"
        assert f'data-custom-grant="{expected}"' in row, key
    assert BY_CODE["audit"].label in html
