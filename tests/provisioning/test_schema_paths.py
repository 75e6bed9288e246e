"""The fast paths build exactly the schema migrations build: tables, columns, indexes, constraints, sequences."""
import pytest
from django.db import connection, transaction

from provisioning import schemas
from tenancy.models import Brokerage, BrokerageKind


@pytest.fixture
def scratch_schemas(committed_db):
    made: list[str] = []
    yield made
    for name in made:
        schemas.drop_schema(name)
    Brokerage.objects.filter(kind=BrokerageKind.SPARE).delete()


def _diff(a: schemas.SchemaSignature, b: schemas.SchemaSignature) -> dict:
    return {
        field: (sorted(getattr(a, field) - getattr(b, field))[:5], sorted(getattr(b, field) - getattr(a, field))[:5])
        for field in a.__dataclass_fields__
        if getattr(a, field) != getattr(b, field)
    }


@pytest.mark.slow
def test_blueprint_and_pool_schemas_are_identical_to_migrated_ones(scratch_schemas):
    schemas.build_by_migrations("cmp_migrated")
    scratch_schemas.append("cmp_migrated")
    with transaction.atomic():
        schemas.build_by_blueprint("cmp_blueprint")
    scratch_schemas.append("cmp_blueprint")
    spare = schemas.spare_create()
    scratch_schemas.append(spare)
    with transaction.atomic():
        assert schemas.spare_claim("cmp_pool") is True
    scratch_schemas.append("cmp_pool")

    reference = schemas.schema_signature("cmp_migrated")
    assert len(reference.tables) >= 15 and reference.indexes and reference.constraints and reference.migrations
    # The audit table's append-only guard: its function and both triggers (row and TRUNCATE) on every path.
    assert {"audit_auditentry_append_only", "audit_auditentry_no_truncate"} <= {t[1] for t in reference.triggers}
    assert "audit_auditentry_refuse_change" in {f[0] for f in reference.functions}
    for other in ("cmp_blueprint", "cmp_pool"):
        signature = schemas.schema_signature(other)
        assert signature == reference, f"{other} differs from migrations: {_diff(reference, signature)}"


def test_a_claimed_spare_leaves_the_pool_and_keeps_no_spare_row(scratch_schemas):
    spare = schemas.spare_create()
    scratch_schemas.append("claimed_one")
    assert schemas.spare_count() == 1
    with transaction.atomic():
        assert schemas.spare_claim("claimed_one")
    assert schemas.spare_count() == 0
    assert not Brokerage.objects.filter(schema_name=spare).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [spare])
        assert cursor.fetchone()[0] == 0


def test_a_spare_behind_the_template_migrations_is_dropped_not_claimed(scratch_schemas):
    spare = schemas.spare_create()
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{spare}".django_migrations WHERE id = (SELECT max(id) FROM "{spare}".django_migrations)')
    with transaction.atomic():
        assert schemas.spare_claim("never_made") is False
    assert schemas.spare_count() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname IN (%s, 'never_made')", [spare])
        assert cursor.fetchone()[0] == 0


def test_rewrite_refuses_a_schema_statement_that_still_names_the_template():
    dump = "CREATE SCHEMA tpl;\nCREATE TABLE tpl.t (id int);\nALTER FUNCTION tpl.f() SET search_path TO tpl;\n"
    with pytest.raises(schemas.SchemaBuildError):
        schemas.rewrite_schema_sql(dump, source="tpl", target="new")


def test_rewrite_handles_a_schema_named_like_a_column():
    dump = "CREATE SCHEMA email;\nCREATE TABLE email.identity_user (id int, email text);\n" \
           "CREATE INDEX identity_user_email_idx ON email.identity_user USING btree (email);\n"
    out = schemas.rewrite_schema_sql(dump, source="email", target='"acme"')
    assert 'CREATE TABLE "acme".identity_user (id int, email text);' in out
    assert 'ON "acme".identity_user USING btree (email);' in out


def test_rewrite_leaves_row_data_untouched():
    dump = (
        "CREATE SCHEMA tpl;\nCREATE TABLE tpl.t (note text);\n"
        "INSERT INTO tpl.t VALUES ('see tpl.t for details');\n"
        "COPY tpl.t (note) FROM stdin;\ntpl.t mentioned in data\n\\.\n"
    )
    out = schemas.rewrite_schema_sql(dump, source="tpl", target='"acme"')
    assert 'CREATE TABLE "acme".t (note text);' in out
    assert "INSERT INTO \"acme\".t VALUES ('see tpl.t for details');" in out
    assert 'COPY "acme".t (note) FROM stdin;\ntpl.t mentioned in data\n\\.' in out


def test_unsafe_schema_names_are_refused_before_reaching_sql():
    for name in ['x"; DROP SCHEMA public; --', "Upper", "1abc", "a" * 64, ""]:
        with pytest.raises(schemas.SchemaBuildError):
            schemas.quote_ident(name)
