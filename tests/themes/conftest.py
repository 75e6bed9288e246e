"""Theme tests change alpha's branding; these fixtures put it back (row, Redis key, stored files) after each test."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

ADMIN = "admin@alpha.test"
# What the session's brokerages were provisioned with (tests/conftest.py TENANT_SPECS → themes/presets.py).
COLOURS = {"alpha": ("#1b2a4a", "#c9a227"), "beta": ("#0f7a4a", "#334155")}
PORTAL_NAMES = {"alpha": "Alpha Trading", "beta": "Beta Capital"}


def _forget_cached_themes(tenants) -> None:
    from themes.selectors import theme_invalidate

    for brokerage in tenants.values():
        with tenant_context(brokerage):
            theme_invalidate()


def _remove_branding_files(tenants) -> None:
    for brokerage in tenants.values():
        shutil.rmtree(Path(settings.MEDIA_ROOT) / brokerage.schema_name / "branding", ignore_errors=True)


@pytest.fixture(autouse=True)
def _clean_theme_state(tenants):
    """Redis is not rolled back with the test's transaction: start and end every test with no cached theme."""
    _forget_cached_themes(tenants)
    yield
    _forget_cached_themes(tenants)
    _remove_branding_files(tenants)


@pytest.fixture
def alpha_committed(committed_db, tenants):
    """Alpha for tests whose writes really commit (so on-commit cache invalidation runs as in production);
    its theme row is put back afterwards."""
    from themes.models import Theme

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        before = Theme.objects.order_by("id").values().first()
    yield alpha
    with tenant_context(alpha):
        Theme.objects.filter(pk=before["id"]).update(**{k: v for k, v in before.items() if k != "id"})
