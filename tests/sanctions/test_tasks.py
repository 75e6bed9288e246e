"""A list update reaches every active brokerage once; each re-screens its own clients, nothing else."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from platform_core.sanctions.models import SanctionsList
from platform_core.sanctions.tasks import (
    rescreen_all_clients,
    sanctions_list_updated,
    sanctions_rescreen_sweep,
)
from tenancy.context import NoTenantError
from tenancy.models import Brokerage, BrokerageKind, BrokerageStatus
from tests.tenancy.conftest import queued_by

pytestmark = pytest.mark.django_db

RESCREEN = rescreen_all_clients.actor_name


def _other_brokerages():
    """Rows that must get nothing: not active, or not a brokerage (template, spare)."""
    rows = [(BrokerageKind.BROKERAGE, BrokerageStatus.SUSPENDED), (BrokerageKind.BROKERAGE, BrokerageStatus.ARCHIVED),
            (BrokerageKind.BROKERAGE, BrokerageStatus.PROVISIONING), (BrokerageKind.SPARE, BrokerageStatus.ACTIVE)]
    for kind, status in rows:
        Brokerage.objects.create(name=f"{kind} {status}", slug=f"scr-{kind}-{status}",
                                 schema_name=f"scr_{kind}_{status}", kind=kind, status=status)


def test_a_list_update_sends_one_rescreen_per_active_brokerage(tenants, broker, extract_list):
    _other_brokerages()

    sent = sanctions_list_updated.fn(extract_list.pk)

    assert sent == 2
    assert queued_by(broker) == {(RESCREEN, "alpha"): 1, (RESCREEN, "beta"): 1}
    extract_list.refresh_from_db()
    assert extract_list.rescreen_sent_at is not None


def test_the_sweep_fans_out_a_version_whose_rescreen_was_never_sent(tenants, broker, extract_list):
    assert sanctions_rescreen_sweep.fn() == 0, "a fresh import is left to its own after-commit message"
    SanctionsList.objects.filter(pk=extract_list.pk).update(imported_at=timezone.now() - timedelta(minutes=6))

    assert sanctions_rescreen_sweep.fn() == 2
    assert sanctions_rescreen_sweep.fn() == 0, "sent once"
    assert queued_by(broker) == {(RESCREEN, "alpha"): 1, (RESCREEN, "beta"): 1}


def test_rescreening_screens_the_brokerages_active_named_clients_only(tenants, extract_list):
    from tenant_apps.identity.models import User, UserKind

    with tenant_context(tenants["alpha"]):
        User.objects.create_user("putin@alpha.test", full_name="Vladimir Putin", kind=UserKind.CLIENT)
        User.objects.create_user("emma@alpha.test", full_name="Emma Johansson", kind=UserKind.CLIENT)
        User.objects.create_user("noname@alpha.test", kind=UserKind.CLIENT)
        User.objects.create_user("gone@alpha.test", full_name="Evgeny Prigozhin", kind=UserKind.CLIENT,
                                 is_active=False)
        User.objects.create_user("staff@alpha.test", full_name="Muammar Gaddafi", kind=UserKind.STAFF)
        alpha = rescreen_all_clients.fn(extract_list.pk)
    with tenant_context(tenants["beta"]):
        beta = rescreen_all_clients.fn(extract_list.pk)

    assert alpha == {"list_id": extract_list.pk, "screened": 2, "with_hits": 1, "tasks": 1, "skipped": False}
    assert beta == {"list_id": extract_list.pk, "screened": 0, "with_hits": 0, "tasks": 0, "skipped": False}


def test_a_rescreen_for_a_superseded_version_does_nothing(tenants, extract_list, extract_dir):
    from platform_core.sanctions.services import sanctions_list_import

    sanctions_list_import(directory=extract_dir, force=True)

    with tenant_context(tenants["alpha"]):
        assert rescreen_all_clients.fn(extract_list.pk)["skipped"] is True


def test_rescreening_outside_a_brokerage_fails_loudly(extract_list):
    with pytest.raises(NoTenantError):
        rescreen_all_clients.fn(extract_list.pk)
