"""Audit tests: staff of Alpha by role, raw SQL against the audit table, and cleaning up brokerages a test built.

Alpha's chain is shared by the whole session and can never be emptied, so tests look at the entries they
appended (seq above the head they started from), never at absolute counts.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from provisioning import schemas
from tenancy.models import Brokerage, Domain
from tests.conftest import PASSWORD

TABLE = "audit_auditentry"
ADMIN = "admin@alpha.test"


def head_seq() -> int:
    """The current brokerage's last seq (0 for an empty chain)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(seq), 0) FROM {TABLE}")
        return cursor.fetchone()[0]


def staff(role: str, *, email: str | None = None):
    from tenant_apps.identity.services import staff_user_create

    return staff_user_create(email=email or f"{role}.audit@alpha.test", password=PASSWORD, role_codes=[role])[0]


@pytest.fixture
def alpha(db, tenants):
    return tenants["alpha"]


@pytest.fixture
def in_alpha(alpha):
    """The test body runs inside Alpha's schema."""
    with tenant_context(alpha):
        yield alpha


@pytest.fixture
def made_brokerages(committed_db):
    """Slugs of brokerages a committed test built; their schema, domains, rows and files go afterwards."""
    slugs: list[str] = []
    yield slugs
    connection.set_schema_to_public()
    for slug in slugs:
        schema = slug.replace("-", "_")
        schemas.drop_schema(schema)
        Domain.objects.filter(tenant__slug=slug).delete()
        Brokerage.objects.filter(slug=slug).delete()
        shutil.rmtree(Path(settings.MEDIA_ROOT) / schema, ignore_errors=True)
