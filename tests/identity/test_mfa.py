"""Two-factor authentication: mandatory for staff with money or compliance rights, optional for clients; TOTP
enrolment with a code computed here (RFC 6238) and recovery codes that each work once."""
from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django_tenants.utils import tenant_context

from tests.conftest import MFA_SECRET, PASSWORD, mfa_enrol, totp_code
from tests.identity.conftest import login, signed_in, user_create

ACTIVATE = "/accounts/2fa/totp/activate/"
AUTHENTICATE = "/accounts/2fa/authenticate/"
WHY = "Your role gives you access to money or compliance decisions"


def _staff(brokerage, email: str, *roles: str):
    return user_create(brokerage, email, kind="staff", roles=roles)


def _enrol_through_the_page(client) -> str:
    """Open the set-up page, read the secret the page shows, answer with the current code. Returns the secret."""
    page = client.get(ACTIVATE)
    assert page.status_code == 200
    secret = page.context["form"].secret
    assert secret in page.content.decode(), "the page shows the secret for manual entry"
    response = client.post(ACTIVATE, {"code": totp_code(secret)})
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    return secret


@pytest.mark.parametrize("role", ["finance", "compliance", "manager", "super_admin"])
def test_staff_with_money_or_compliance_rights_are_sent_to_mfa_set_up_from_every_back_office_page(
        db, tenants, browser, role):
    alpha = tenants["alpha"]
    _staff(alpha, f"{role}.new@alpha.test", role)
    client = browser(alpha)
    assert login(client, f"{role}.new@alpha.test").status_code == 302

    for path in ("/backoffice/", "/backoffice/branding/", "/"):
        response = client.get(path, follow=True)
        assert response.redirect_chain[-1][0] == ACTIVATE, path
        assert WHY in response.content.decode()
    api = client.get("/api/v1/brokerage/")
    assert api.status_code == 403 and api.json()["code"] == "mfa_enrolment_required"
    # What the set-up page needs still answers.
    for path in ("/theme.css", "/accounts/2fa/"):
        assert client.get(path).status_code == 200, path


def test_a_finance_officer_enrols_with_a_computed_totp_code_and_then_reaches_the_back_office(db, tenants, browser):
    alpha = tenants["alpha"]
    user = _staff(alpha, "finance.enrol@alpha.test", "finance")
    client = browser(alpha)
    login(client, "finance.enrol@alpha.test")
    assert client.get("/backoffice/")["Location"] == ACTIVATE

    _enrol_through_the_page(client)

    codes_page = client.get("/accounts/2fa/recovery-codes/")
    assert codes_page.status_code == 200 and "auth-card" in codes_page.content.decode()
    assert client.get("/backoffice/").status_code == 200
    with tenant_context(alpha):
        assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {"totp", "recovery_codes"}


def test_the_next_sign_in_asks_for_the_code_and_a_wrong_code_is_a_field_error(db, tenants, browser):
    alpha = tenants["alpha"]
    _staff(alpha, "compliance.code@alpha.test", "compliance")
    mfa_enrol(alpha, "compliance.code@alpha.test")
    client = browser(alpha)

    response = login(client, "compliance.code@alpha.test")
    assert response["Location"] == AUTHENTICATE
    assert not signed_in(client), "a password alone is not a sign-in"
    wrong = client.post(AUTHENTICATE, {"code": "000000" if totp_code() != "000000" else "111111"})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors == {"code": ["Incorrect code."]}

    assert client.post(AUTHENTICATE, {"code": totp_code(MFA_SECRET)}).status_code == 302
    assert client.get("/backoffice/").status_code == 200


def _recovery_codes(brokerage, email: str) -> list[str]:
    from tenant_apps.identity.models import User

    with tenant_context(brokerage):
        rc = Authenticator.objects.get(user=User.objects.get(email=email), type=Authenticator.Type.RECOVERY_CODES)
        return rc.wrap().get_unused_codes()


def test_a_recovery_code_signs_in_once_and_never_again(db, tenants, browser):
    alpha = tenants["alpha"]
    _staff(alpha, "manager.lostphone@alpha.test", "manager")
    mfa_enrol(alpha, "manager.lostphone@alpha.test")
    code = _recovery_codes(alpha, "manager.lostphone@alpha.test")[0]

    first = browser(alpha)
    login(first, "manager.lostphone@alpha.test")
    assert first.post(AUTHENTICATE, {"code": code}).status_code == 302
    assert first.get("/backoffice/").status_code == 200
    assert code not in _recovery_codes(alpha, "manager.lostphone@alpha.test")

    second = browser(alpha)
    login(second, "manager.lostphone@alpha.test")
    again = second.post(AUTHENTICATE, {"code": code})
    assert again.status_code == 200 and again.context["form"].errors == {"code": ["Incorrect code."]}
    assert not signed_in(second)


@pytest.mark.parametrize("kind, roles", [("client", ()), ("staff", ("sales",))], ids=["client", "sales"])
def test_clients_and_staff_without_sensitive_rights_are_not_forced(db, tenants, browser, kind, roles):
    alpha = tenants["alpha"]
    user_create(alpha, f"{kind}.free@alpha.test", kind=kind, roles=roles)
    client = browser(alpha)
    login(client, f"{kind}.free@alpha.test")

    home = "/backoffice/" if kind == "staff" else "/"
    response = client.get(home)
    assert response.status_code == 200
    assert WHY not in response.content.decode()
    # Their settings link leads to the optional set-up.
    assert b'href="/accounts/2fa/"' in response.content
    assert "Activate" in client.get("/accounts/2fa/").content.decode()


def test_a_client_may_switch_mfa_off_but_a_finance_officer_may_not(db, tenants, browser):
    alpha = tenants["alpha"]
    user_create(alpha, "client.optional@alpha.test")
    _staff(alpha, "finance.stuck@alpha.test", "finance")
    results = {}
    for email in ("client.optional@alpha.test", "finance.stuck@alpha.test"):
        client = browser(alpha)
        login(client, email)
        _enrol_through_the_page(client)
        response = client.post("/accounts/2fa/totp/deactivate/")
        results[email] = response.status_code
        if response.status_code == 200:
            assert response.context["form"].errors == {
                "__all__": ["Your role gives you money or compliance rights, so two-factor authentication must stay on."]}

    assert results == {"client.optional@alpha.test": 302, "finance.stuck@alpha.test": 200}


def test_mfa_pages_render_in_the_brokerages_theme(db, tenants, browser):
    alpha = tenants["alpha"]
    _staff(alpha, "finance.look@alpha.test", "finance")
    client = browser(alpha)
    login(client, "finance.look@alpha.test")

    for path in ("/accounts/2fa/", ACTIVATE):
        html = client.get(path).content.decode()
        assert "auth-card" in html and "Alpha Trading" in html, path
        assert 'class="form-control' in html or path == "/accounts/2fa/"
        assert "account-settings-nav" in html, "the account settings menu is beside the card"


def test_a_forced_set_up_started_long_after_sign_in_asks_for_the_password_first(db, tenants, tenant_client):
    alpha = tenants["alpha"]
    _staff(alpha, "finance.stale@alpha.test", "finance")
    client = tenant_client(alpha, "finance.stale@alpha.test")  # a session without a fresh sign-in record

    response = client.get(ACTIVATE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")
    assert client.get(response["Location"]).status_code == 200, "the reauthentication page is reachable"
    confirmed = client.post(response["Location"], {"password": PASSWORD})
    assert confirmed.status_code == 302 and confirmed["Location"] == ACTIVATE
    assert client.get(ACTIVATE).status_code == 200


def test_totp_secrets_are_stored_encrypted_and_still_verify(db, tenants):
    from allauth.mfa.models import Authenticator
    from django_tenants.utils import tenant_context

    from tests.conftest import MFA_SECRET, totp_code

    with tenant_context(tenants["alpha"]):
        from allauth.mfa.totp.internal.auth import TOTP

        authenticator = Authenticator.objects.get(user__email="admin@alpha.test", type=Authenticator.Type.TOTP)
        stored = authenticator.data["secret"]
        assert MFA_SECRET not in stored and stored.startswith("gAAAA")
        # the next window's code (accepted: tolerance 1): the current one may already be marked used by a sign-in
        # of this admin a moment ago in another test, and a used code is refused
        import time

        assert TOTP(authenticator).validate_code(totp_code(MFA_SECRET, at=time.time() + 30))
