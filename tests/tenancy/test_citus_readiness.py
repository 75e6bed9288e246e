"""Citus schema-based sharding readiness (tenancy/citus.py), read from a real migrated brokerage's catalog."""
from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, models

from tenancy.citus import citus_readiness

THIRD_PARTY = {"auth", "contenttypes", "account", "socialaccount", "sessions", "mfa", "usersessions", "admin",
               "sites", "django_tenants"}


def test_a_brokerage_schema_has_no_blocker(db, tenants):
    report = citus_readiness(tenants["alpha"].schema_name)
    assert report.cross_schema_fks == [], "a tenant table references another schema"
    assert report.without_primary_key == []
    assert report.blockers == []


def test_only_django_and_allauth_tables_have_32_bit_identities(db, tenants):
    report = citus_readiness(tenants["alpha"].schema_name)
    own = {m._meta.db_table for m in apps.get_models() if m._meta.app_label not in THIRD_PARTY}
    assert not [t for t, _, _ in report.small_identities if t in own]
    assert report.small_identities, "the check sees Django's own 32-bit tables (it can fail)"


def test_every_brokeros_model_uses_a_64_bit_primary_key():
    small = [f"{m._meta.label}.{m._meta.pk.name}" for m in apps.get_models()
             if m._meta.app_label not in THIRD_PARTY
             and isinstance(m._meta.pk, models.AutoField) and not isinstance(m._meta.pk, models.BigAutoField)]
    assert small == []


def test_the_check_finds_a_foreign_key_into_another_schema(db, tenants):
    schema = tenants["beta"].schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TABLE "{schema}".citus_probe (id bigint PRIMARY KEY, '
                       f'b bigint REFERENCES public.tenancy_brokerage(id))')
        cursor.execute(f'CREATE TABLE "{schema}".citus_probe_nopk (id int)')
    report = citus_readiness(schema)
    assert [(t, ns, r) for t, ns, r, _ in report.cross_schema_fks] == [("citus_probe", "public", "tenancy_brokerage")]
    assert report.without_primary_key == ["citus_probe_nopk"]
    with pytest.raises(CommandError, match="2 blocker"):
        call_command("citus_check", schema=schema)


def test_the_command_reports_a_clean_schema_and_refuses_an_unknown_one(db, tenants, capsys):
    call_command("citus_check", schema=tenants["alpha"].schema_name)
    assert "no cross-schema foreign key" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No schema 'nope'"):
        call_command("citus_check", schema="nope")
