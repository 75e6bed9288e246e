"""Staff management in the back office: invitations (e-mail, accept, expiry, revoke, resend), roles and teams,
deactivation that ends sessions at once — who may do it, and the audit trail of every step."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.identity.models import StaffInvite, Team, User
from tests.conftest import host_of, mfa_enrol
from tests.identity.conftest import login, signed_in, user_create
from tests.identity.staff_helpers import ADMIN, STRONG_PASSWORD, entries_since, head_seq, invite_link

INVITE = "/backoffice/staff/invite/"


@pytest.fixture
def alpha(db, tenants):
    return tenants["alpha"]


@pytest.fixture
def admin_client(alpha, tenant_client):
    return tenant_client(alpha, ADMIN)


def team_make(brokerage, name: str) -> Team:
    with tenant_context(brokerage):
        return Team.objects.create(name=name)


def invite(admin_client, django_capture_on_commit_callbacks, email: str, roles=("sales",), **extra):
    data = {"email": email, "roles": list(roles), "valid_for_hours": 72, **extra}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(INVITE, data)
    assert response.status_code == 302, response.content[:2000]
    return invite_link(email)


# --- invitations -------------------------------------------------------------------------------------------

def test_an_invited_person_gets_an_email_accepts_it_and_signs_in_with_the_invited_roles_and_team(
        alpha, admin_client, browser, django_capture_on_commit_callbacks):
    desk = team_make(alpha, "Desk LATAM")
    start = head_seq(alpha)

    link = invite(admin_client, django_capture_on_commit_callbacks, "new.sales@alpha.test", roles=["sales"],
                  team=desk.pk)

    assert link["host"].split(":")[0] == host_of(alpha), "the link points at the brokerage's own host"
    assert "Alpha Trading" in mail.outbox[-1].subject
    with tenant_context(alpha):
        row = StaffInvite.objects.get(email="new.sales@alpha.test")
        assert row.token_hash == hashlib.sha256(link["token"].encode()).hexdigest() != link["token"]
        assert abs(row.expires_at - (timezone.now() + timedelta(hours=72))) < timedelta(minutes=1)
    visitor = browser(alpha)
    page = visitor.get(link["path"])
    assert page.status_code == 200
    assert "Join the Alpha Trading back office" in page.content.decode() and "Sales" in page.content.decode()

    accepted = visitor.post(link["path"], {"full_name": "Nina Sales", "password1": STRONG_PASSWORD,
                                           "password2": STRONG_PASSWORD})

    assert accepted.status_code == 302 and accepted["Location"] == "/backoffice/"
    assert visitor.get("/backoffice/").status_code == 200, "signed in, straight into the back office"
    with tenant_context(alpha):
        user = User.objects.get(email="new.sales@alpha.test")
        assert (user.kind, user.full_name, user.team_id) == ("staff", "Nina Sales", desk.pk)
        assert sorted(user.roles.values_list("code", flat=True)) == ["sales"]
        assert EmailAddress.objects.get(user=user).verified
        row.refresh_from_db()
        assert row.accepted_at is not None and row.accepted_user_id == user.pk
    invited, created, accepted_entry = entries_since(alpha, start)
    assert (invited.action, invited.actor_label) == ("staff.invited", ADMIN)
    assert invited.changes["roles"] == [[], ["sales"]] and invited.changes["team"] == [None, "Desk LATAM"]
    assert (created.action, created.actor_id, created.changes["roles"]) == ("staff.created", user.pk, [[], ["sales"]])
    assert (accepted_entry.action, accepted_entry.subject_id) == ("staff.invite_accepted", user.pk)
    assert link["token"] not in str([e.changes for e in (invited, created, accepted_entry)])
    # ... and the password they chose opens a session on a fresh browser too.
    assert login(browser(alpha), "new.sales@alpha.test", STRONG_PASSWORD)["Location"] == "/"


def test_someone_invited_with_money_rights_must_set_up_two_factor_before_the_back_office(
        alpha, admin_client, browser, django_capture_on_commit_callbacks):
    link = invite(admin_client, django_capture_on_commit_callbacks, "new.finance@alpha.test", roles=["finance"])
    visitor = browser(alpha)

    visitor.post(link["path"], {"full_name": "Finn Ance", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD})

    response = visitor.get("/backoffice/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"
    assert visitor.get("/accounts/2fa/totp/activate/").status_code == 200, "no password asked again right after joining"


@pytest.mark.parametrize("state, status, words", [
    ("expired", 410, "This invitation has expired"),
    ("revoked", 410, "This invitation was withdrawn"),
    ("used", 410, "This invitation has already been used"),
    ("made up", 404, "This invitation link is not valid"),
])
def test_an_expired_revoked_used_or_unknown_link_shows_a_clear_page_and_creates_nobody(
        alpha, admin_client, browser, django_capture_on_commit_callbacks, state, status, words):
    link = invite(admin_client, django_capture_on_commit_callbacks, "late.joiner@alpha.test")
    path = link["path"]
    with tenant_context(alpha):
        row = StaffInvite.objects.get(email="late.joiner@alpha.test")
        if state == "expired":
            StaffInvite.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        elif state == "made up":
            path = path.replace(link["token"], link["token"][:-4] + "AAAA")
    if state == "revoked":
        assert admin_client.post(f"/backoffice/staff/invites/{row.pk}/revoke/").status_code == 302
    if state == "used":
        first = browser(alpha).post(path, {"full_name": "First", "password1": STRONG_PASSWORD,
                                           "password2": STRONG_PASSWORD})
        assert first.status_code == 302
    visitor = browser(alpha)
    users_before = _user_count(alpha)

    page = visitor.get(path)
    attempt = visitor.post(path, {"full_name": "Mallory", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD})

    assert page.status_code == attempt.status_code == status
    assert words in page.content.decode() and words in attempt.content.decode()
    assert _user_count(alpha) == users_before
    assert not signed_in(visitor)


def _user_count(brokerage) -> int:
    with tenant_context(brokerage):
        return User.objects.count()


def test_resending_sends_a_fresh_link_and_the_previous_one_stops_working(
        alpha, admin_client, browser, django_capture_on_commit_callbacks):
    first = invite(admin_client, django_capture_on_commit_callbacks, "resend.me@alpha.test")
    with tenant_context(alpha):
        row = StaffInvite.objects.get(email="resend.me@alpha.test")
    start = head_seq(alpha)

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/backoffice/staff/invites/{row.pk}/resend/").status_code == 302

    second = invite_link("resend.me@alpha.test")
    assert second["token"] != first["token"]
    assert browser(alpha).get(first["path"]).status_code == 404
    assert browser(alpha).get(second["path"]).status_code == 200
    (entry,) = entries_since(alpha, start)
    assert entry.action == "staff.invite_resent" and entry.actor_label == ADMIN


def test_revoking_an_invitation_is_audited(alpha, admin_client, django_capture_on_commit_callbacks):
    invite(admin_client, django_capture_on_commit_callbacks, "revoke.me@alpha.test")
    with tenant_context(alpha):
        row = StaffInvite.objects.get(email="revoke.me@alpha.test")
    start = head_seq(alpha)

    admin_client.post(f"/backoffice/staff/invites/{row.pk}/revoke/")

    (entry,) = entries_since(alpha, start)
    assert (entry.action, entry.object_type, entry.object_id) == ("staff.invite_revoked", "identity.staffinvite",
                                                                  str(row.pk))
    assert entry.changes["revoked_at"][0] is None and entry.changes["revoked_at"][1]


@pytest.mark.parametrize("existing, message", [
    ("user", "already has an account"),
    ("open invite", "still open"),
])
def test_inviting_an_address_that_has_an_account_or_an_open_invitation_is_a_field_error(
        alpha, admin_client, django_capture_on_commit_callbacks, existing, message):
    if existing == "user":
        user_create(alpha, "taken@alpha.test")
    else:
        invite(admin_client, django_capture_on_commit_callbacks, "taken@alpha.test")
    sent = len(mail.outbox)

    response = admin_client.post(INVITE, {"email": "Taken@Alpha.test", "roles": ["support"], "valid_for_hours": 72})

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["email"])
    assert len(mail.outbox) == sent


def test_the_invitation_password_must_pass_the_password_rules(alpha, admin_client, browser,
                                                               django_capture_on_commit_callbacks):
    link = invite(admin_client, django_capture_on_commit_callbacks, "weak.password@alpha.test")

    response = browser(alpha).post(link["path"], {"full_name": "Weak", "password1": "12345678",
                                                  "password2": "12345678"})

    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors["password1"])
    assert "too short" in errors and "too common" in errors
    assert 'id="id_password1_error"' in response.content.decode()
    with tenant_context(alpha):
        assert not User.objects.filter(email="weak.password@alpha.test").exists()


# --- who may manage staff ------------------------------------------------------------------------------------

MANAGER = "manager.views@alpha.test"
SALES = "sales.curious@alpha.test"

WHO_MAY = [
    # (who, method, path, expected status)
    ("manager", "GET", "/backoffice/staff/", 200),
    ("manager", "GET", "/backoffice/staff/<member>/", 200),
    ("manager", "GET", "/backoffice/staff/teams/", 200),
    ("manager", "GET", INVITE, 403),
    ("manager", "POST", INVITE, 403),
    ("manager", "POST", "/backoffice/staff/<member>/", 403),
    ("manager", "POST", "/backoffice/staff/<member>/deactivate/", 403),
    ("manager", "POST", "/backoffice/staff/teams/", 403),
    ("sales", "GET", "/backoffice/staff/", 403),
    ("sales", "GET", "/backoffice/staff/<member>/", 403),
    ("sales", "POST", "/backoffice/staff/<member>/deactivate/", 403),
    ("super_admin", "POST", "/backoffice/staff/<member>/", 302),
    ("super_admin", "POST", "/backoffice/staff/<member>/deactivate/", 302),
]


@pytest.mark.parametrize("who, method, path, expected", WHO_MAY, ids=[f"{w}-{m}-{p}" for w, m, p, _ in WHO_MAY])
def test_only_a_super_admin_manages_staff_a_manager_views_and_sales_is_refused(
        alpha, tenant_client, who, method, path, expected):
    user_create(alpha, MANAGER, kind="staff", roles=("manager",))
    mfa_enrol(alpha, MANAGER)  # a manager holds money rights: MFA first
    user_create(alpha, SALES, kind="staff", roles=("sales",))
    member = user_create(alpha, "member.target@alpha.test", kind="staff", roles=("support",))
    client = tenant_client(alpha, {"manager": MANAGER, "sales": SALES, "super_admin": ADMIN}[who])
    path = path.replace("<member>", str(member.pk))
    data = {"roles": ["support", "sales"], "reason": "Moved to the sales desk", "team": ""}
    start = head_seq(alpha)

    response = client.get(path) if method == "GET" else client.post(path, data)

    assert response.status_code == expected, response.content[:500]
    if expected == 403:
        (refusal,) = entries_since(alpha, start)
        assert refusal.action == "access.denied" and refusal.object_id.startswith("staff:")
        with tenant_context(alpha):
            assert User.objects.get(pk=member.pk).is_active
            assert list(User.objects.get(pk=member.pk).roles.values_list("code", flat=True)) == ["support"]


def test_the_staff_list_shows_roles_team_status_two_factor_and_last_sign_in(alpha, admin_client):
    desk = team_make(alpha, "Desk Europe")
    member = user_create(alpha, "listed.member@alpha.test", kind="staff", roles=("support",))
    with tenant_context(alpha):
        User.objects.filter(pk=member.pk).update(full_name="Lena Listed", team=desk, last_login=timezone.now())
    mfa_enrol(alpha, "listed.member@alpha.test")
    user_create(alpha, "gone.member@alpha.test", kind="staff", roles=("sales",))
    with tenant_context(alpha):
        User.objects.filter(email="gone.member@alpha.test").update(is_active=False)

    html = admin_client.get("/backoffice/staff/").content.decode()

    row = html[html.index('data-staff="listed.member@alpha.test"'):].split("</tr>")[0]
    assert "Lena Listed" in row and "Support" in row and "Desk Europe" in row and "Active" in row
    assert "<td data-mfa>Yes</td>" in row and "Never" not in row
    gone = html[html.index('data-staff="gone.member@alpha.test"'):].split("</tr>")[0]
    assert "Deactivated" in gone and "<td data-mfa>No</td>" in gone and "Never" in gone


# --- roles, team, deactivation -------------------------------------------------------------------------------

def test_changing_roles_and_team_is_audited_with_old_and_new_values(alpha, admin_client):
    desk = team_make(alpha, "Desk Asia")
    member = user_create(alpha, "mover@alpha.test", kind="staff", roles=("sales",))
    start = head_seq(alpha)

    response = admin_client.post(f"/backoffice/staff/{member.pk}/", {"roles": ["sales", "support"], "team": desk.pk,
                                                                     "reason": "Covers support on nights"})

    assert response.status_code == 302
    roles, team = entries_since(alpha, start)
    assert (roles.action, roles.changes, roles.reason) == ("staff.roles_changed",
                                                           {"roles": [["sales"], ["sales", "support"]]},
                                                           "Covers support on nights")
    assert (team.action, team.changes, team.actor_label) == ("staff.team_changed", {"team": [None, "Desk Asia"]}, ADMIN)
    with tenant_context(alpha):
        assert User.objects.get(pk=member.pk).team_id == desk.pk


def test_a_super_admin_cannot_take_away_their_own_super_admin_role(alpha, admin_client):
    with tenant_context(alpha):
        me = User.objects.get(email=ADMIN)

    response = admin_client.post(f"/backoffice/staff/{me.pk}/", {"roles": ["manager"], "team": ""})

    assert response.status_code == 400
    assert "own Super Admin role" in " ".join(response.context["access_form"].errors["roles"])
    with tenant_context(alpha):
        assert me.has_role("super_admin")


def test_deactivating_staff_ends_their_session_at_once_and_records_the_reason_and_reactivation_restores_sign_in(
        alpha, admin_client, tenant_client, browser):
    member = user_create(alpha, "leaver@alpha.test", kind="staff", roles=("sales",))
    theirs = browser(alpha)
    login(theirs, "leaver@alpha.test")
    assert theirs.get("/backoffice/").status_code == 200
    start = head_seq(alpha)

    response = admin_client.post(f"/backoffice/staff/{member.pk}/deactivate/", {"reason": "Left the company"})

    assert response.status_code == 302
    after = theirs.get("/backoffice/")
    assert after.status_code == 302 and after["Location"].startswith("/accounts/login/"), "signed out on the next request"
    (entry,) = entries_since(alpha, start)
    assert (entry.action, entry.changes, entry.reason, entry.actor_label) == (
        "user.deactivate", {"is_active": [True, False]}, "Left the company", ADMIN)
    assert "Deactivated" in admin_client.get("/backoffice/staff/").content.decode()

    again = admin_client.post(f"/backoffice/staff/{member.pk}/reactivate/", {"reason": "Rehired"})

    assert again.status_code == 302
    (back,) = entries_since(alpha, start + 1)
    assert (back.action, back.changes, back.reason) == ("user.reactivate", {"is_active": [False, True]}, "Rehired")
    assert login(browser(alpha), "leaver@alpha.test")["Location"] == "/"


def test_deactivation_needs_a_reason_and_says_so_under_the_field(alpha, admin_client):
    member = user_create(alpha, "stays@alpha.test", kind="staff", roles=("sales",))

    response = admin_client.post(f"/backoffice/staff/{member.pk}/deactivate/", {"reason": "   "})

    assert response.status_code == 400
    assert response.context["reason_form"].errors["reason"]
    assert 'id="id_reason_error"' in response.content.decode()
    with tenant_context(alpha):
        assert User.objects.get(pk=member.pk).is_active


def test_a_client_is_not_a_staff_member_here(alpha, admin_client):
    client_user = user_create(alpha, "trader.notstaff@example.test")

    assert admin_client.get(f"/backoffice/staff/{client_user.pk}/").status_code == 404
    assert admin_client.post(f"/backoffice/staff/{client_user.pk}/deactivate/", {"reason": "x"}).status_code == 404


# --- teams ---------------------------------------------------------------------------------------------------

def test_teams_are_created_renamed_and_deactivated_only_once_empty_all_audited(alpha, admin_client):
    start = head_seq(alpha)
    assert admin_client.post("/backoffice/staff/teams/", {"name": "Desk Africa", "description": "Lagos"}).status_code == 302
    with tenant_context(alpha):
        desk = Team.objects.get(name="Desk Africa")
    member = user_create(alpha, "in.africa@alpha.test", kind="staff", roles=("sales",))
    with tenant_context(alpha):
        User.objects.filter(pk=member.pk).update(team=desk)

    renamed = admin_client.post(f"/backoffice/staff/teams/{desk.pk}/", {"action": "rename", "name": "Desk West Africa",
                                                                        "description": "Lagos"})
    refused = admin_client.post(f"/backoffice/staff/teams/{desk.pk}/", {"action": "deactivate"})
    with tenant_context(alpha):
        User.objects.filter(pk=member.pk).update(team=None)
    deactivated = admin_client.post(f"/backoffice/staff/teams/{desk.pk}/", {"action": "deactivate"})

    assert renamed.status_code == 302 and deactivated.status_code == 302
    assert refused.status_code == 400 and "move them to another team first" in refused.content.decode()
    assert [(e.action, e.changes) for e in entries_since(alpha, start) if e.action.startswith("team.")] == [
        ("team.created", {"name": [None, "Desk Africa"], "description": [None, "Lagos"]}),
        ("team.updated", {"name": ["Desk Africa", "Desk West Africa"]}),
        ("team.deactivated", {"is_active": [True, False]}),
    ]


def test_a_team_name_already_taken_is_a_field_error(alpha, admin_client):
    team_make(alpha, "Desk North")

    response = admin_client.post("/backoffice/staff/teams/", {"name": "desk north"})

    assert response.status_code == 400
    assert "already has this name" in " ".join(response.context["form"].errors["name"])
