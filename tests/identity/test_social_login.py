"""Google/Apple sign-in per brokerage: off by default, configured by its Super Admin, never visible elsewhere."""
from urllib.parse import parse_qs, urlsplit

import pytest
from django_tenants.utils import tenant_context

APPLE_KEY = "-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg\n-----END PRIVATE KEY-----"


def test_no_provider_is_offered_until_one_is_configured(db, tenants, tenant_client):
    page = tenant_client(tenants["alpha"]).get("/accounts/login/").content.decode()
    assert "/accounts/google/login/" not in page and "/accounts/apple/login/" not in page


def test_a_super_admin_turns_google_on_for_their_brokerage_only(db, tenants, tenant_client):
    from allauth.socialaccount.models import SocialApp

    admin = tenant_client(tenants["alpha"], "admin@alpha.test")
    response = admin.post("/backoffice/settings/sign-in/",
                          {"provider": "google", "client_id": "alpha-client.apps.googleusercontent.com",
                           "secret": "GOCSPX-alpha-secret-1234"})
    assert response.status_code == 302
    with tenant_context(tenants["alpha"]):
        stored = SocialApp.objects.get(provider="google")
        assert stored.secret.startswith("gAAAA") and "alpha-secret" not in stored.secret
    settings_page = admin.get("/backoffice/settings/sign-in/").content.decode()
    assert "…1234" in settings_page and "GOCSPX-alpha-secret-1234" not in settings_page

    alpha_login = tenant_client(tenants["alpha"]).get("/accounts/login/").content.decode()
    assert "/accounts/google/login/" in alpha_login
    beta_login = tenant_client(tenants["beta"]).get("/accounts/login/").content.decode()
    assert "/accounts/google/login/" not in beta_login


def test_the_google_redirect_carries_this_brokerages_client_id_and_callback(db, tenants, tenant_client):
    from tenant_apps.identity.models import User
    from tenant_apps.identity.social import social_provider_configure

    with tenant_context(tenants["alpha"]):
        social_provider_configure(provider="google", client_id="alpha-client.apps.googleusercontent.com",
                                  secret="GOCSPX-alpha", actor=User.objects.get(email="admin@alpha.test"))
    client = tenant_client(tenants["alpha"])
    response = client.post("/accounts/google/login/")
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert target.netloc == "accounts.google.com"
    assert query["client_id"] == ["alpha-client.apps.googleusercontent.com"]
    assert query["redirect_uri"] == ["http://alpha.localhost/accounts/google/login/callback/"]
    assert tenant_client(tenants["beta"]).post("/accounts/google/login/").status_code == 404


@pytest.mark.parametrize("data,field", [
    ({"provider": "google", "client_id": "", "secret": "x"}, "client_id"),
    ({"provider": "google", "client_id": "id", "secret": ""}, "secret"),
    ({"provider": "apple", "client_id": "com.alpha.signin", "key_id": "", "team_id": "T", "private_key": APPLE_KEY},
     "key_id"),
    ({"provider": "apple", "client_id": "com.alpha.signin", "key_id": "K", "team_id": "T", "private_key": "nope"},
     "private_key"),
    ({"provider": "myspace", "client_id": "x", "secret": "y"}, "provider"),
])
def test_bad_provider_settings_are_refused_with_the_field_named(db, tenants, tenant_client, data, field):
    from allauth.socialaccount.models import SocialApp

    response = tenant_client(tenants["alpha"], "admin@alpha.test").post("/backoffice/settings/sign-in/", data)
    assert response.status_code == 400
    with tenant_context(tenants["alpha"]):
        assert not SocialApp.objects.exists()


def test_turning_a_provider_off_removes_it_and_is_audited(db, tenants, tenant_client):
    from tenant_apps.audit.models import AuditEntry

    admin = tenant_client(tenants["alpha"], "admin@alpha.test")
    admin.post("/backoffice/settings/sign-in/", {"provider": "apple", "client_id": "com.alpha.signin",
                                                 "key_id": "KEY123", "team_id": "TEAM9", "private_key": APPLE_KEY})
    assert "/accounts/apple/login/" in tenant_client(tenants["alpha"]).get("/accounts/login/").content.decode()
    admin.post("/backoffice/settings/sign-in/", {"provider": "apple", "action": "disable"})
    assert "/accounts/apple/login/" not in tenant_client(tenants["alpha"]).get("/accounts/login/").content.decode()
    with tenant_context(tenants["alpha"]):
        actions = list(AuditEntry.objects.filter(object_type="socialaccount.socialapp").order_by("seq")
                       .values_list("action", flat=True))
    assert actions == ["social_login.configured", "social_login.disabled"]
