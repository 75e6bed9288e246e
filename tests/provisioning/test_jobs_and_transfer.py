"""Provisioning jobs resume after a failure, can be discarded, and a brokerage can be exported and restored."""
import pytest
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from provisioning import schemas, services
from provisioning.errors import ProvisioningError, ProvisioningInputError
from provisioning.models import ProvisioningJob
from provisioning.transfer import brokerage_export, brokerage_restore
from tenancy.models import Brokerage, Domain, PlatformAuditEvent


@pytest.fixture
def flaky_account_types(monkeypatch):
    """Make the account-types step fail on its first attempt only."""
    calls = {"n": 0}
    original = dict((name, fn) for name, _, fn in services.STEPS)["account_types"]

    def flaky(ctx):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("trading server timed out")
        return original(ctx)

    steps = [(n, label, flaky if n == "account_types" else fn) for n, label, fn in services.STEPS]
    monkeypatch.setattr(services, "STEPS", steps)
    return calls


def test_a_failed_step_on_the_fast_path_undoes_everything_and_a_rerun_finishes(db, flaky_account_types):
    before = schemas.spare_count(), Brokerage.objects.count(), Domain.objects.count()
    job = services.provision_brokerage(name="Resume Ltd", slug="resume-ltd", admin_email="a@resume.test")
    assert job.status == "failed" and job.atomic
    assert job.error == "Default account types: RuntimeError: trading server timed out"
    steps = {s.name: s for s in job.steps.all()}
    assert steps["roles"].status == "rolled_back" and steps["account_types"].status == "failed"
    assert steps["integrations"].status == "pending"
    # All or nothing: no brokerage row, no domain, no schema is left behind.
    assert (schemas.spare_count(), Brokerage.objects.count(), Domain.objects.count()) == before
    assert not schema_exists("resume_ltd") and job.brokerage is None

    job = services.provisioning_job_run(job_id=job.pk)
    assert job.status == "succeeded", job.error
    steps = {s.name: s for s in job.steps.all()}
    assert steps["reserve"].attempts == 2 and steps["account_types"].attempts == 2
    assert all(s.status == "succeeded" for s in steps.values())
    assert flaky_account_types["n"] == 2
    brokerage = Brokerage.objects.get(slug="resume-ltd")
    assert brokerage.status == "active"
    with tenant_context(brokerage):
        from tenant_apps.brokerage.models import AccountType

        assert AccountType.objects.count() == 3


@pytest.fixture
def cleanup_slugs(committed_db):
    slugs: list[str] = []
    yield slugs
    for slug in slugs:
        schemas.drop_schema(slug.replace("-", "_"))
        Domain.objects.filter(tenant__slug=slug).delete()
        Brokerage.objects.filter(slug=slug).delete()


@pytest.mark.slow
def test_on_the_migrations_path_a_failed_job_resumes_after_its_last_good_step(cleanup_slugs, flaky_account_types,
                                                                             tenant_client):
    cleanup_slugs.append("stepwise")
    job = services.provision_brokerage(name="Stepwise", slug="stepwise", admin_email="a@step.test", method="migrations")
    assert job.status == "failed" and not job.atomic
    steps = {s.name: s for s in job.steps.all()}
    assert steps["schema"].status == "succeeded" and steps["account_types"].status == "failed"
    brokerage = Brokerage.objects.get(slug="stepwise")
    assert brokerage.status == "provisioning"
    # Not live yet: its portal shows the maintenance page, never a half-made brokerage.
    assert tenant_client(brokerage).get("/").status_code == 503
    job = services.provisioning_job_run(job_id=job.pk, method="migrations")
    assert job.status == "succeeded", job.error
    steps = {s.name: s for s in job.steps.all()}
    assert steps["schema"].attempts == 1 and steps["account_types"].attempts == 2
    assert Brokerage.objects.get(slug="stepwise").status == "active"


@pytest.mark.slow
def test_a_failed_stepwise_job_can_be_discarded_and_its_slug_used_again(cleanup_slugs, flaky_account_types):
    cleanup_slugs.append("discard-ltd")
    job = services.provision_brokerage(name="Discard Ltd", slug="discard-ltd", admin_email="a@discard.test",
                                       method="migrations")
    assert job.status == "failed" and schema_exists("discard_ltd")
    services.provisioning_job_discard(job_id=job.pk)
    assert not schema_exists("discard_ltd")
    assert not Brokerage.objects.filter(slug="discard-ltd").exists()
    assert not Domain.objects.filter(domain="discard-ltd.localhost").exists()
    assert PlatformAuditEvent.objects.filter(action="provisioning.discarded", brokerage_slug="discard-ltd").exists()
    again = services.provision_brokerage(name="Discard Ltd", slug="discard-ltd", admin_email="a@discard.test")
    assert again.status == "succeeded"


def test_a_live_brokerage_cannot_be_discarded(db, tenants):
    job = ProvisioningJob.objects.get(slug="alpha")
    job.status = "failed"
    job.save()
    with pytest.raises(ProvisioningError, match="already live"):
        services.provisioning_job_discard(job_id=job.pk)
    assert schema_exists("alpha")


def test_forcing_the_pool_with_no_spares_fails_the_schema_step_clearly(db):
    job = services.provision_brokerage(name="Pool Only", slug="pool-only", admin_email="a@pool.test", method="pool")
    assert job.status == "failed"
    assert job.error == "Create database schema: The spare-schema pool is empty."


@pytest.mark.slow
def test_provisioning_by_migrations_gives_a_working_brokerage(committed_db):
    job = services.provision_brokerage(name="Slow Path", slug="slow-path", admin_email="a@slow.test", method="migrations")
    try:
        assert job.status == "succeeded", job.error
        assert job.method == "migrations"
        assert schemas.schema_signature("slow_path") == schemas.schema_signature(schemas.template_schema())
    finally:
        schemas.drop_schema("slow_path")
        Domain.objects.filter(tenant__slug="slow-path").delete()
        Brokerage.objects.filter(slug="slow-path").delete()


def test_a_pool_claim_is_used_when_a_spare_is_ready(committed_db):
    schemas.spare_pool_refill(target=1)
    job = services.provision_brokerage(name="From Pool", slug="from-pool", admin_email="a@pool.test")
    try:
        assert job.status == "succeeded", job.error
        assert job.method == "pool"
        assert schemas.spare_count() == 0
    finally:
        schemas.drop_schema("from_pool")
        Domain.objects.filter(tenant__slug="from-pool").delete()
        Brokerage.objects.filter(slug="from-pool").delete()
        Brokerage.objects.filter(kind="spare").delete()


@pytest.fixture
def restored(committed_db):
    made = []
    yield made
    for slug in made:
        schemas.drop_schema(slug.replace("-", "_"))
        Domain.objects.filter(tenant__slug=slug).delete()
        Brokerage.objects.filter(slug=slug).delete()


def test_export_and_restore_under_a_new_slug_copies_everything_and_leaves_the_original(restored, tenants, tmp_path):
    alpha = tenants["alpha"]
    with tenant_context(alpha):
        from tenant_apps.identity.models import User

        original_users = sorted(User.objects.values_list("email", flat=True))
    result = brokerage_export(slug="alpha", out_path=tmp_path / "alpha.tar.gz")
    assert result.rows > 0 and result.path.exists()

    restored.append("alpha-copy")
    copy = brokerage_restore(archive=result.path, slug="alpha-copy")
    assert copy.status == "active" and copy.primary_host() == "alpha-copy.localhost"
    assert copy.name == "Alpha Trading (restored)"
    assert schemas.schema_signature("alpha_copy") == schemas.schema_signature("alpha")
    with tenant_context(copy):
        assert sorted(User.objects.values_list("email", flat=True)) == original_users
        User.objects.create_user(email="only-in-copy@example.com", kind="client")
    with tenant_context(alpha):
        assert not User.objects.filter(email="only-in-copy@example.com").exists()
    connection.set_schema_to_public()
    assert PlatformAuditEvent.objects.filter(action="brokerage.restored", brokerage_slug="alpha-copy").exists()


def test_restore_onto_a_taken_slug_or_from_a_broken_file_changes_nothing(restored, tenants, tmp_path):
    result = brokerage_export(slug="beta", out_path=tmp_path / "beta.tar.gz")
    before = (Brokerage.objects.count(), Domain.objects.count())
    with pytest.raises(ProvisioningInputError, match="already exists"):
        brokerage_restore(archive=result.path, slug="alpha")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    with pytest.raises(ProvisioningError, match="is not a BrokerOS tenant export"):
        brokerage_restore(archive=junk, slug="junk-restore")
    assert (Brokerage.objects.count(), Domain.objects.count()) == before
    assert not schema_exists("junk_restore")


def test_a_brokerage_named_like_a_column_exports_and_restores(restored, tmp_path):
    restored.extend(["email", "email-copy"])
    job = services.provision_brokerage(name="Email Markets", slug="email", admin_email="a@email.test")
    assert job.status == "succeeded", job.error
    result = brokerage_export(slug="email", out_path=tmp_path / "email.tar.gz")
    copy = brokerage_restore(archive=result.path, slug="email-copy")
    assert schemas.schema_signature("email_copy") == schemas.schema_signature("email")
    with tenant_context(copy):
        from tenant_apps.identity.models import User

        assert User.objects.filter(email="a@email.test").exists()
