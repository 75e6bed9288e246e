"""The database refuses to change or remove audit entries — in every brokerage, however its schema was built."""
from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import tenant_context

from provisioning import schemas
from provisioning.services import provision_brokerage
from provisioning.transfer import brokerage_export, brokerage_restore
from tenant_apps.audit.models import AuditEntry
from tenant_apps.audit.services import audit_record
from tests.audit.conftest import TABLE, head_seq

# Raw SQL an intruder with the application's database login might try. {seq}: an entry that exists.
TAMPERING = {
    "UPDATE": f"UPDATE {TABLE} SET reason = 'nothing happened' WHERE seq = {{seq}}",
    "UPDATE all": f"UPDATE {TABLE} SET actor_label = 'someone else'",
    "DELETE": f"DELETE FROM {TABLE} WHERE seq = {{seq}}",
    "DELETE all": f"DELETE FROM {TABLE}",
    "TRUNCATE": f"TRUNCATE {TABLE}",
    "TRUNCATE CASCADE": f"TRUNCATE {TABLE} RESTART IDENTITY CASCADE",
}


def assert_tampering_refused(schema: str) -> None:
    """Every statement in TAMPERING fails with the trigger's message, and the entries are all still there."""
    entry = audit_record(action="test.guarded", object_type="test.thing", object_id="guarded")
    before = list(AuditEntry.objects.order_by("seq").values_list("seq", "hash"))
    for name, sql in TAMPERING.items():
        operation = name.split()[0]
        with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql.format(seq=entry.seq))
        message = str(refused.value)
        assert f"audit trail is append-only: {operation} on {schema}.{TABLE} refused" in message, (name, message)
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", "hash")) == before


def test_raw_sql_update_delete_and_truncate_are_refused_in_alpha(db, tenants):
    with tenant_context(tenants["alpha"]):
        assert_tampering_refused("alpha")


@pytest.mark.parametrize("method", ["blueprint", "pool"])
def test_raw_sql_tampering_is_refused_in_a_brokerage_just_built_by_the_fast_path(db, tenants, method):
    if method == "pool":
        schemas.spare_create()  # a spare is built by blueprint replay, then renamed by the claim
    job = provision_brokerage(name="Fresh Audit", slug="fresh-audit", admin_email="a@fresh.test", method=method)
    assert job.status == "succeeded" and job.method == method, job.error
    with tenant_context(job.brokerage):
        # The chain starts with the provisioning itself: the theme first, the first Super Admin among what follows.
        made = list(AuditEntry.objects.order_by("seq").values_list("seq", "action", "prev_hash"))
        assert made[0] == (1, "theme.preset_applied", "0" * 64) and "staff.created" in {a for _, a, _ in made}
        assert_tampering_refused("fresh_audit")


@pytest.mark.slow
def test_raw_sql_tampering_is_refused_in_a_brokerage_built_by_migrations(made_brokerages):
    made_brokerages.append("migrated-audit")
    job = provision_brokerage(name="Migrated Audit", slug="migrated-audit", admin_email="a@migrated.test",
                              method="migrations")
    assert job.status == "succeeded" and job.method == "migrations", job.error
    # Same guard, spelled the same, as the fast path's template: function body and both triggers.
    migrated, template = schemas.schema_signature("migrated_audit"), schemas.schema_signature(schemas.template_schema())
    assert migrated.triggers == template.triggers and migrated.functions == template.functions
    assert {t[1] for t in migrated.triggers} >= {"audit_auditentry_append_only", "audit_auditentry_no_truncate"}
    with tenant_context(job.brokerage):
        assert_tampering_refused("migrated_audit")


def test_a_restored_copy_keeps_the_guard_and_its_chain_verifies(made_brokerages, tenants, tmp_path):
    from django.core.management import call_command

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        audit_record(action="test.before_export", object_type="test.thing", object_id="exported")
        alpha_head = head_seq()
    archive = brokerage_export(slug="alpha", out_path=tmp_path / "alpha.tar.gz").path
    made_brokerages.append("alpha-audit-copy")
    copy = brokerage_restore(archive=archive, slug="alpha-audit-copy")
    with tenant_context(copy):
        assert head_seq() == alpha_head
        assert_tampering_refused("alpha_audit_copy")
    call_command("verify_audit_chain", schema="alpha-audit-copy", no_progress=True)


def test_the_guard_function_never_names_a_schema_so_every_build_path_can_copy_it(db, tenants):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname = 'audit_auditentry_refuse_change'"
        )
        found = dict(cursor.fetchall())
    assert {"alpha", "beta", schemas.template_schema()} <= set(found)
    assert "public" not in found  # a tenant app's SQL never runs in public
    for schema, body in found.items():
        assert schema not in body and "public" not in body
        assert len(set(found.values())) == 1  # byte-for-byte the same body everywhere
