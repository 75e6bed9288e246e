"""migrate_tenants: template first, one query to skip current schemas, bounded workers, per-tenant results,
failures isolated and resumable, shown in the operator console.

New migrations are injected into the `themes` app through MIGRATION_MODULES (a copy of its real migrations plus
a probe), so the tests follow whatever migrations other apps gain. Every schema the tests touch is put back."""
from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext

from provisioning import schemas
from provisioning.migrate import migrate_tenants
from provisioning.models import (
    MigrationRun,
    MigrationRunStatus,
    SchemaBlueprint,
    TenantMigrationResult,
    TenantMigrationStatus,
)
from tenancy.models import Brokerage, BrokerageKind, BrokerageStatus

PROBE = "9999_mg_probe"
PROBE_KEY = f"themes.{PROBE}"


def table_exists(schema: str, table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{schema}".{table}'])
        return cursor.fetchone()[0]


@pytest.fixture
def mg_schemas(committed_db):
    """make(n) → n committed brokerage schemas built by blueprint replay (current migrations)."""
    made: list[str] = []

    def make(n: int) -> list[str]:
        out = []
        for _ in range(n):
            token = uuid.uuid4().hex[:8]
            with transaction.atomic():
                b = Brokerage.objects.create(name=f"MG {token}", slug=f"mg-{token}", schema_name=f"mg_{token}",
                                             kind=BrokerageKind.BROKERAGE, status=BrokerageStatus.ACTIVE)
                schemas.build_by_blueprint(b.schema_name)
            connection.set_schema_to_public()
            made.append(b.schema_name)
            out.append(b.schema_name)
        return out

    blueprints_before = set(SchemaBlueprint.objects.values_list("pk", flat=True))
    runs_before = set(MigrationRun.objects.values_list("pk", flat=True))
    yield make
    connection.set_schema_to_public()
    for name in made:
        schemas.drop_schema(name)
    Brokerage.objects.filter(schema_name__in=made).delete()
    MigrationRun.objects.exclude(pk__in=runs_before).delete()
    SchemaBlueprint.objects.exclude(pk__in=blueprints_before).delete()


@pytest.fixture
def probe_migration(tmp_path, settings, committed_db):
    """Point `themes` at a copy of its migrations plus one new trivial migration (CREATE TABLE mg_probe)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    leaf = max(name for app, name in loader.graph.leaf_nodes() if app == "themes")
    package = f"mg_probe_{uuid.uuid4().hex[:8]}"
    target = tmp_path / package
    shutil.copytree(Path(sys.modules["themes"].__file__).parent / "migrations", target,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (target / f"{PROBE}.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('themes', '{leaf}')]\n"
        "    operations = [migrations.RunSQL('CREATE TABLE mg_probe (id integer)', 'DROP TABLE mg_probe')]\n"
    )
    sys.path.insert(0, str(tmp_path))
    settings.MIGRATION_MODULES = {"themes": package}
    yield
    sys.path.remove(str(tmp_path))
    connection.set_schema_to_public()
    # Put every schema back: no probe table, no probe row (the template's fingerprint returns to what it was).
    with connection.cursor() as cursor:
        cursor.execute("SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE c.relname = 'django_migrations' AND n.nspname <> 'public'")
        for (schema,) in cursor.fetchall():
            q = schemas.quote_ident(schema)
            cursor.execute(f"DROP TABLE IF EXISTS {q}.mg_probe")
            cursor.execute(f"DELETE FROM {q}.django_migrations WHERE app = 'themes' AND name = %s", [PROBE])


def test_noop_run_skips_every_schema_in_one_query(mg_schemas):
    def noop_queries() -> tuple[MigrationRun, list[str]]:
        with CaptureQueriesContext(connection) as ctx:
            run = migrate_tenants(workers=2, progress=False)
        return run, [q["sql"] for q in ctx.captured_queries]

    mg_schemas(1)
    _, few = noop_queries()
    mine = mg_schemas(4)
    run, many = noop_queries()
    reads = [sql for sql in many if "django_migrations" in sql]
    assert len(reads) == 1, "the up-to-date check is one query over all schemas"
    assert len(many) == len(few) <= 8, "a no-op run costs the same few queries with 1 or 5 tenants of ours"
    assert run.status == MigrationRunStatus.SUCCEEDED
    assert run.succeeded == run.failed == 0
    assert run.up_to_date == run.schemas_total >= 6
    assert set(mine) <= set(Brokerage.objects.filter(schema_name__in=mine).values_list("schema_name", flat=True))
    assert not run.results.exists()

    # The check is real: a schema that lost one recorded migration is found and migrated (nothing else is).
    # The last migration of a shared app: re-applying it is a no-op in a tenant schema.
    leaf = max(name for app, name in MigrationLoader(None).graph.leaf_nodes() if app == "provisioning")
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{mine[0]}".django_migrations WHERE app = %s AND name = %s', ["provisioning", leaf])
    run = migrate_tenants(workers=2, progress=False)
    assert [(r.schema_name, r.applied) for r in run.results.all()] == [(mine[0], [f"provisioning.{leaf}"])]


def test_schema_missing_one_migration_gets_exactly_it_template_first(mg_schemas, probe_migration):
    mine = mg_schemas(2)
    template = schemas.template_schema()
    run = migrate_tenants(workers=2, only=mine, progress=False)

    assert run.status == MigrationRunStatus.SUCCEEDED, list(run.results.values("schema_name", "error"))
    results = list(run.results.order_by("id"))
    assert [r.schema_name for r in results][0] == template, "the template is migrated first"
    assert sorted(r.schema_name for r in results[1:]) == sorted(mine)
    for r in results:
        assert r.status == TenantMigrationStatus.SUCCEEDED
        assert r.applied == [PROBE_KEY], "exactly the one missing migration"
    for schema in [template, *mine]:
        assert table_exists(schema, "mg_probe")
    # The template's new state has its blueprint rendered, so provisioning stays on the fast path.
    assert SchemaBlueprint.objects.filter(fingerprint=schemas.migration_fingerprint(template)).exists()


def test_failed_tenant_reported_others_succeed_then_resume(mg_schemas, probe_migration):
    broken, fine = mg_schemas(2)
    with connection.cursor() as cursor:  # the probe's CREATE TABLE will fail in this schema only
        cursor.execute(f'CREATE TABLE "{broken}".mg_probe (id integer)')

    with pytest.raises(CommandError, match="1 tenant schema"):
        call_command("migrate_tenants", "--workers", "2", "--schema", broken, "--schema", fine, "--no-progress",
                     verbosity=0)
    first = MigrationRun.objects.first()
    assert first.status == MigrationRunStatus.FAILED and first.failed == 1
    failed = first.results.get(schema_name=broken)
    assert failed.status == TenantMigrationStatus.FAILED
    assert "mg_probe" in failed.error and "already exists" in failed.error
    assert failed.applied == []
    ok = first.results.get(schema_name=fine)
    assert ok.status == TenantMigrationStatus.SUCCEEDED and ok.applied == [PROBE_KEY]

    # Fixed, re-run: only the failed tenant runs (the others are current), and the run says what it resumes.
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{broken}".mg_probe')
    call_command("migrate_tenants", "--workers", "2", "--schema", broken, "--schema", fine, "--no-progress",
                 verbosity=0)
    second = MigrationRun.objects.first()
    assert second.pk != first.pk and second.resumed_from_id == first.pk
    assert second.status == MigrationRunStatus.SUCCEEDED
    assert [(r.schema_name, r.status, r.applied) for r in second.results.all()] == [
        (broken, TenantMigrationStatus.SUCCEEDED, [PROBE_KEY])]
    assert second.up_to_date == 2  # the template and the tenant that succeeded the first time


def test_interrupted_run_is_marked_failed_and_resumed(mg_schemas):
    mg_schemas(1)
    stale = MigrationRun.objects.create(status=MigrationRunStatus.RUNNING)  # a run that was killed
    run = migrate_tenants(workers=1, progress=False)
    stale.refresh_from_db()
    assert stale.status == MigrationRunStatus.FAILED
    assert run.resumed_from_id == stale.pk and run.status == MigrationRunStatus.SUCCEEDED


def test_one_run_at_a_time(mg_schemas):
    from provisioning.migrate import LOCK_KEY

    mg_schemas(1)
    other = connections.create_connection("default")  # another session, as a second operator's run
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        runs = MigrationRun.objects.count()
        with pytest.raises(CommandError, match="Another migrate_tenants run is in progress"):
            call_command("migrate_tenants", "--no-progress", verbosity=0)
        assert MigrationRun.objects.count() == runs, "a refused run records nothing"
    finally:
        other.close()
    assert migrate_tenants(workers=1, progress=False).status == MigrationRunStatus.SUCCEEDED


def test_console_shows_last_run_and_failures(operator_client, django_assert_max_num_queries):
    # Status "provisioning": the detail page then reads no tenant tables (this row has no schema).
    b = Brokerage.objects.create(name="Failing Co", slug="mg-failing", schema_name="mg_failing",
                                 kind=BrokerageKind.BROKERAGE, status=BrokerageStatus.PROVISIONING)
    MigrationRun.objects.create(status=MigrationRunStatus.SUCCEEDED, schemas_total=1, up_to_date=1)
    run = MigrationRun.objects.create(status=MigrationRunStatus.FAILED, schemas_total=3, up_to_date=1, succeeded=1,
                                      failed=1, check_ms=4, duration_ms=900, workers=2)
    TenantMigrationResult.objects.create(run=run, brokerage=b, schema_name="mg_failing",
                                         status=TenantMigrationStatus.FAILED, applied=["crm.0009_x"],
                                         error='ProgrammingError: relation "crm_thing" already exists')
    TenantMigrationResult.objects.create(run=run, schema_name="mg_ok", status=TenantMigrationStatus.SUCCEEDED)
    with django_assert_max_num_queries(8):
        response = operator_client.get("/migrations/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Last run #{run.pk}" in body
    assert "mg_failing" in body and "Failing Co" in body and "crm_thing" in body and "crm.0009_x" in body
    assert "mg_ok" not in body  # failures only

    # The tenant's own page shows its last result too.
    detail = operator_client.get(f"/brokerages/{b.slug}/").content.decode()
    block = detail[detail.index('id="migration-result"'):]
    assert f"run #{run.pk}" in block and "crm_thing" in block and "Failed" in block


def test_console_migrations_page_is_operators_only(db, platform_client):
    response = platform_client.get("/migrations/")
    assert response.status_code in (302, 403)
