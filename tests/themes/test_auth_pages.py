"""allauth's pages look like the product (themed card, Bootstrap fields) and every control is labelled."""
import pytest
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD
from tests.themes.conftest import ADMIN
from tests.themes.pages import Page

LABELLED_PAGES = [("/accounts/login/", None), ("/accounts/signup/", None), ("/accounts/password/reset/", None),
                  ("/backoffice/branding/", ADMIN)]


@pytest.mark.parametrize("path, email", LABELLED_PAGES)
def test_every_input_select_and_textarea_has_a_label_or_aria_label(db, tenants, tenant_client, path, email):
    response = tenant_client(tenants["alpha"], email).get(path)

    assert response.status_code == 200
    page = Page.of(response)
    assert [c for c in page.visible_controls() if c.in_main], "the page has its form"
    assert page.unlabelled_controls() == []


def test_form_errors_keep_every_control_labelled(db, tenants, tenant_client):
    client = tenant_client(tenants["alpha"])

    response = client.post("/accounts/signup/", {"email": "not-an-email", "password1": "short", "password2": "x"})

    assert Page.of(response).unlabelled_controls() == []


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
def test_entrance_pages_render_in_the_themed_card_with_bootstrap_fields(db, tenants, tenant_client, path):
    response = tenant_client(tenants["beta"]).get(path)

    html = response.content.decode()
    assert 'class="card shadow-sm auth-card"' in html
    assert 'class="form-control' in html
    assert 'class="btn btn-primary' in html
    assert "Beta Capital" in html
    page = Page.of(response)
    assert any(href.startswith("/theme.css?v=") for href in page.stylesheets)


def test_sign_up_errors_are_shown_under_their_own_field_and_passwords_are_not_echoed(db, tenants, tenant_client):
    client = tenant_client(tenants["alpha"])

    response = client.post("/accounts/signup/", {"email": "not-an-email", "password1": "short-Secret",
                                                 "password2": "short-Secret"})

    assert response.status_code == 200
    html = response.content.decode()
    email_input = html[html.index('name="email"'):]
    email_input = email_input[:email_input.index(">")]
    assert "is-invalid" in email_input and 'aria-describedby="id_email_error"' in email_input
    assert 'aria-invalid="true"' in email_input
    assert '<div class="invalid-feedback d-block" id="id_email_error"><div>Enter a valid email address.</div></div>' in html
    assert "short-Secret" not in html


def test_a_wrong_password_is_reported_in_an_alert_on_the_sign_in_card(db, tenants, tenant_client):
    client = tenant_client(tenants["alpha"])

    response = client.post("/accounts/login/", {"login": ADMIN, "password": "not-the-password"})

    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="alert alert-danger" role="alert"><div>The email address and/or password you specified are not correct.</div></div>' in html
    assert "not-the-password" not in html
    # And the right password still signs in through the themed form.
    assert client.post("/accounts/login/", {"login": ADMIN, "password": PASSWORD}).status_code == 302


def test_the_invite_link_opens_a_themed_set_password_card_with_labelled_fields(db, tenants, tenant_client):
    from tenant_apps.identity.services import invite_path, staff_user_create

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        user, _ = staff_user_create(email="new.hire@alpha.test", role_codes=["support"])
        path = invite_path(user)
    client = tenant_client(alpha)

    response = client.get(path, follow=True)

    assert response.status_code == 200
    html = response.content.decode()
    assert "auth-card" in html and "Alpha Trading" in html
    page = Page.of(response)
    names = {c.attrs.get("name") for c in page.visible_controls() if c.in_main}
    assert {"password1", "password2"} <= names
    assert page.unlabelled_controls() == []


def test_the_sign_out_confirmation_is_a_themed_card(db, tenants, tenant_client):
    client = tenant_client(tenants["alpha"], ADMIN)

    response = client.get("/accounts/logout/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "auth-card" in html and "Are you sure you want to sign out?" in html
    assert 'class="btn btn-primary' in html
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/backoffice/").status_code == 302  # signed out: back to sign-in
