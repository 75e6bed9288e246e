"""Bad input on the sign-in, two-factor and session forms: an error under the field it concerns, never a 500."""
from __future__ import annotations

import pytest

from tests.conftest import mfa_enrol
from tests.identity.conftest import login, user_create

LONG = "x" * 5000

# (who: anonymous / password-only (MFA pending) / signed-in finance officer, path, data, field, message part)
CASES = [
    ("anonymous", "/accounts/login/", {"login": "", "password": ""}, "login", "This field is required."),
    ("anonymous", "/accounts/login/", {"login": "not-an-email", "password": "x"}, "login", "valid email"),
    ("anonymous", "/accounts/login/", {"login": LONG + "@example.test", "password": "x"}, "login", ""),
    ("anonymous", "/accounts/login/", {"login": "a\x00b@example.test", "password": "x"}, "login", "Null characters"),
    ("anonymous", "/accounts/login/", {"login": "someone@example.test"}, "password", "This field is required."),
    ("pending", "/accounts/2fa/authenticate/", {"code": ""}, "code", "This field is required."),
    ("pending", "/accounts/2fa/authenticate/", {"code": "abc def"}, "code", "Incorrect code."),
    ("pending", "/accounts/2fa/authenticate/", {"code": LONG}, "code", "Incorrect code."),
    ("pending", "/accounts/2fa/authenticate/", {"code": "12\x0034"}, "code", "Null characters"),
    ("enrolling", "/accounts/2fa/totp/activate/", {}, "code", "This field is required."),
    ("enrolling", "/accounts/2fa/totp/activate/", {"code": "12345"}, "code", "Incorrect code."),
    ("enrolling", "/accounts/2fa/totp/activate/", {"code": "<script>"}, "code", "Incorrect code."),
    ("enrolling", "/accounts/2fa/totp/activate/", {"code": LONG}, "code", "Incorrect code."),
    ("enrolling", "/accounts/reauthenticate/", {"password": ""}, "password", "This field is required."),
    ("enrolling", "/accounts/reauthenticate/", {"password": "wrong-password-1"}, "password", "Incorrect password."),
]


@pytest.fixture
def as_who(tenants, browser):
    def make(who: str):
        alpha = tenants["alpha"]
        client = browser(alpha)
        if who == "anonymous":
            return client
        user_create(alpha, f"finance.{who}@alpha.test", kind="staff", roles=("finance",))
        if who == "pending":
            mfa_enrol(alpha, f"finance.{who}@alpha.test")
        assert login(client, f"finance.{who}@alpha.test").status_code == 302
        if who == "enrolling":
            assert client.get("/accounts/2fa/totp/activate/").status_code == 200  # the secret is in the session
        return client

    return make


@pytest.mark.parametrize("who, path, data, field, message", CASES,
                         ids=[f"{c[1]}-{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_is_a_field_error_and_never_a_500(db, tenants, as_who, who, path, data, field, message):
    client = as_who(who)

    response = client.post(path, data)

    assert response.status_code == 200, (response.status_code, response.get("Location"))
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field]), errors
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html, "the message is shown under its field"
    assert "<script>" not in html, "what was typed is escaped"


def test_junk_posted_to_the_session_list_changes_nothing_and_is_no_error(db, tenants, browser):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.junk@example.test")
    client = browser(alpha)
    login(client, "trader.junk@example.test")

    response = client.post("/accounts/sessions/", {"session": "../../etc", "extra": LONG})

    assert response.status_code == 302
    assert client.get("/accounts/sessions/").status_code == 200, "still signed in (the only session is this one)"


@pytest.mark.parametrize("who, path", [("pending", "/accounts/2fa/authenticate/"), ("enrolling", "/accounts/2fa/totp/activate/"),
                                       ("anonymous", "/accounts/login/"), ("enrolling", "/accounts/reauthenticate/")])
def test_a_post_with_no_fields_at_all_is_answered_without_a_500(db, tenants, as_who, who, path):
    response = as_who(who).post(path, {})

    assert response.status_code == 200
