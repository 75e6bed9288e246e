"""Sessions: the list a user sees (browser, IP, last seen), signing out everywhere else, and deactivation that
ends every session at once."""
from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from tenant_apps.identity.models import User
from tenant_apps.identity.permissions import PermissionDeniedError
from tests.conftest import sign_in
from tests.identity.conftest import CHROME_MAC, SAFARI_IPHONE, login, signed_in, user_create

SESSIONS = "/accounts/sessions/"


def test_the_session_list_shows_each_browser_with_its_ip_and_last_seen(db, tenants, browser, new_ip):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.two@example.test")
    laptop_ip, phone_ip = new_ip(), new_ip()
    laptop, phone = browser(alpha, ip=laptop_ip, user_agent=CHROME_MAC), browser(alpha, ip=phone_ip,
                                                                                   user_agent=SAFARI_IPHONE)
    for client in (laptop, phone):
        assert login(client, "trader.two@example.test").status_code == 302

    page = laptop.get(SESSIONS)

    assert page.status_code == 200
    html = page.content.decode()
    assert laptop_ip in html and phone_ip in html
    assert ">Safari on iOS</span>" in html and ">Chrome on macOS</span>" in html
    assert "Last seen" in html and html.count("text-bg-success\">This session</span>") == 1
    assert "Sign out everywhere else" in html
    assert "Known devices" in html
    assert "auth-card" in html and "Alpha Trading" in html


def test_sign_out_everywhere_else_ends_the_other_sessions_and_keeps_this_one(db, tenants, browser):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.cautious@example.test")
    here, there, third = browser(alpha), browser(alpha), browser(alpha)
    for client in (here, there, third):
        login(client, "trader.cautious@example.test")

    response = here.post(SESSIONS)

    assert response.status_code == 302
    assert signed_in(here)
    assert not signed_in(there) and not signed_in(third)
    with tenant_context(alpha):
        assert UserSession.objects.filter(user__email="trader.cautious@example.test").count() == 1


def test_activity_updates_the_sessions_ip_at_most_once_a_minute(db, tenants, browser, new_ip):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.moving@example.test")
    client = browser(alpha)
    login(client, "trader.moving@example.test")
    train, cafe = new_ip(), new_ip()

    client.get("/", REMOTE_ADDR=train)
    client.get("/", REMOTE_ADDR=cafe)  # within the same minute: not written again

    with tenant_context(alpha):
        session = UserSession.objects.get(user__email="trader.moving@example.test")
    assert session.ip == train
    assert session.last_seen_at >= session.created_at


def _sessions_of(brokerage, email: str) -> tuple[int, int]:
    """(UserSession rows, Django session rows) of the user."""
    with tenant_context(brokerage):
        user = User.objects.get(email=email)
        django_sessions = sum(1 for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk))
        return UserSession.objects.filter(user=user).count(), django_sessions


def test_deactivating_a_user_ends_every_session_at_once(db, tenants, browser, tenant_client):
    from tenant_apps.identity.services import user_deactivate

    alpha = tenants["alpha"]
    user_create(alpha, "trader.leaving@example.test")
    signed_in_by_form = browser(alpha)
    login(signed_in_by_form, "trader.leaving@example.test")
    signed_in_otherwise = tenant_client(alpha, "trader.leaving@example.test")  # no UserSession row for this one
    assert _sessions_of(alpha, "trader.leaving@example.test") == (1, 2)

    with tenant_context(alpha):
        admin = User.objects.get(email="admin@alpha.test")
        user_deactivate(user=User.objects.get(email="trader.leaving@example.test"), actor=admin,
                        reason="Account closed at the client's request")

    assert _sessions_of(alpha, "trader.leaving@example.test") == (0, 0)
    for client in (signed_in_by_form, signed_in_otherwise):
        assert not signed_in(client), "the old cookie is anonymous on the very next request"
    # ... and the password no longer opens a session.
    assert login(browser(alpha), "trader.leaving@example.test").get("Location") != "/"


def test_deactivation_is_recorded_in_the_audit_trail_with_its_reason(db, tenants):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.identity.services import user_deactivate

    alpha = tenants["alpha"]
    target = user_create(alpha, "trader.audited@example.test")
    with tenant_context(alpha):
        admin = User.objects.get(email="admin@alpha.test")
        user_deactivate(user=target, actor=admin, reason="Duplicate account")
        entry = AuditEntry.objects.filter(object_type="identity.user", object_id=str(target.pk)).latest("seq")
    assert entry.action == "user.deactivate" and entry.reason == "Duplicate account"
    assert entry.changes == {"is_active": [True, False]} and entry.actor_label == "admin@alpha.test"


@pytest.mark.parametrize("case", ["no reason", "oneself", "sales deactivates staff", "support deactivates a client",
                                  "sales deactivates a client"])
def test_deactivation_refuses_without_a_reason_oneself_or_without_the_right(db, tenants, case):
    from tenant_apps.identity.services import user_deactivate

    alpha = tenants["alpha"]
    client = user_create(alpha, "trader.safe@example.test")
    colleague = user_create(alpha, "finance.colleague@alpha.test", kind="staff", roles=("finance",))
    sales = user_create(alpha, "sales.eager@alpha.test", kind="staff", roles=("sales",))
    support = user_create(alpha, "support.eager@alpha.test", kind="staff", roles=("support",))
    with tenant_context(alpha):
        admin = User.objects.get(email="admin@alpha.test")
        user, actor, reason, error = {
            "no reason": (client, admin, "  ", ValidationError),
            "oneself": (admin, admin, "testing", ValidationError),
            "sales deactivates staff": (colleague, sales, "rivalry", PermissionDeniedError),  # needs staff:manage
            "support deactivates a client": (client, support, "rude", PermissionDeniedError),  # clients:deactivate
            "sales deactivates a client": (client, sales, "churn", PermissionDeniedError),  # edits, never deactivates
        }[case]
        with pytest.raises(error):
            user_deactivate(user=user, actor=actor, reason=reason)
        assert User.objects.get(pk=user.pk).is_active


def test_a_signed_in_admin_keeps_working_after_signing_in_with_mfa(db, tenants, tenant_client):
    """The session's admins have an authenticator: the real form asks for the code, then the back office opens."""
    alpha = tenants["alpha"]
    client = tenant_client(alpha)
    assert sign_in(client, alpha, "admin@alpha.test").status_code == 302
    assert client.get("/backoffice/").status_code == 200
