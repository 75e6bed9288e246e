"""provision_brokerage as operators use it: the command, its errors, and what a new brokerage contains."""
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from provisioning.models import ProvisioningJob
from tenancy.models import Brokerage, Domain
from tests.conftest import PASSWORD


def _counts():
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace")
        namespaces = cursor.fetchone()[0]
    return (Brokerage.objects.count(), Domain.objects.count(), ProvisioningJob.objects.count(), namespaces)


def test_command_creates_a_working_brokerage(db, tenant_client, capsys):
    call_command("provision_brokerage", name="Gamma Markets", slug="gamma", admin_email="Boss@Gamma.test",
                 admin_password=PASSWORD, jurisdiction="fca", theme="crimson", verbosity=0)
    out = capsys.readouterr().out
    assert "Gamma Markets is live at http://gamma.localhost:8000/" in out
    gamma = Brokerage.objects.get(slug="gamma")
    assert gamma.status == "active" and gamma.schema_name == "gamma"
    assert gamma.primary_host() == "gamma.localhost"
    with tenant_context(gamma):
        from tenant_apps.brokerage.models import AccountType, LegalEntity
        from tenant_apps.identity.models import Role, User
        from themes.models import Theme

        entity = LegalEntity.objects.get(is_default=True)
        assert entity.regulator == "Financial Conduct Authority"
        assert entity.rules["max_leverage"]["fx_major"] == 30
        assert {t.code for t in AccountType.objects.all()} == {"standard", "raw", "demo"}
        assert all(t.default_leverage <= 30 for t in AccountType.objects.all())
        assert Role.objects.filter(is_system=True).count() == 8
        admin = User.objects.get(email="boss@gamma.test")
        assert admin.has_role("super_admin") and admin.check_password(PASSWORD)
        assert Theme.objects.get().primary_colour == "#a3172f"
    # The printed login works on the brokerage's own host.
    client = tenant_client(gamma)
    response = client.post("/accounts/login/", {"login": "boss@gamma.test", "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    # Signed in; as a Super Admin, the back office first asks for two-factor authentication.
    assert client.get("/backoffice/")["Location"] == "/accounts/2fa/totp/activate/"
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200


def test_same_slug_again_is_a_clear_error_and_changes_nothing(db, tenants):
    before = _counts()
    with pytest.raises(CommandError) as exc:
        call_command("provision_brokerage", name="Alpha Again", slug="alpha", admin_email="x@alpha.test", verbosity=0)
    assert "Nothing was created" in str(exc.value)
    assert "A brokerage with the slug 'alpha' already exists." in str(exc.value)
    assert _counts() == before
    assert Brokerage.objects.get(slug="alpha").name == "Alpha Trading"


def test_without_a_password_the_admin_gets_a_one_time_invite_link(db, capsys, tenant_client):
    call_command("provision_brokerage", name="Invite Co", slug="invite-co", admin_email="owner@invite.test", verbosity=0)
    out = capsys.readouterr().out
    assert "set a password at http://invite-co.localhost:8000/accounts/password/reset/key/" in out
    job = ProvisioningJob.objects.get(slug="invite-co")
    path = job.result["invite_url"].split(":8000", 1)[1]
    client = tenant_client(job.brokerage)
    page = client.get(path, follow=True)
    assert page.status_code == 200
    assert b"password" in page.content.lower()
    with tenant_context(job.brokerage):
        from tenant_apps.identity.models import User

        assert not User.objects.get(email="owner@invite.test").has_usable_password()


def test_missing_options_are_named(db):
    with pytest.raises(CommandError, match="--name, --slug, --admin-email"):
        call_command("provision_brokerage", verbosity=0)


def test_schema_of_a_new_brokerage_exists_and_holds_no_public_tables(db):
    call_command("provision_brokerage", name="Delta", slug="delta", admin_email="a@delta.test", verbosity=0)
    assert schema_exists("delta")
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'delta'")
        tables = {r[0] for r in cursor.fetchall()}
    assert "tenancy_brokerage" not in tables and "provisioning_provisioningjob" not in tables
    assert {"identity_user", "themes_theme", "brokerage_legalentity", "django_session"} <= tables
