"""Partners fixtures: an IB programme in a brokerage — two master IBs, each with an IB below it, a Sales member and
two managers (maker ≠ checker), and a client referred by IB A."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, mfa_enrol

START = datetime(2026, 10, 1, tzinfo=UTC)  # the programme's beginning: every fixture relationship starts here


def make_client(email: str, *, owner=None, full_name: str = ""):
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind

    user = User.objects.create_user(email=email, password=PASSWORD, kind=UserKind.CLIENT,
                                    full_name=full_name or email.split("@")[0].title())
    ClientRecord.objects.create(user=user, owner=owner, country="CY", phone="+35722000000", stage="registered")
    return user


def make_ib(code: str, *, parent=None, at=START):
    from tenant_apps.partners.services import partner_create

    user = make_client(f"{code}@ib.example.test")
    return partner_create(user=user, actor=None, parent=parent, code=code, at=at)


def build_programme(brokerage, slug: str) -> dict:
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.partners.models import ClientAssignment

    with tenant_context(brokerage):
        sales = staff_user_create(email=f"ib.sales@{slug}.test", password=PASSWORD, role_codes=["sales"])[0]
        manager = staff_user_create(email=f"ib.manager@{slug}.test", password=PASSWORD, role_codes=["manager"])[0]
        manager2 = staff_user_create(email=f"ib.manager2@{slug}.test", password=PASSWORD, role_codes=["manager"])[0]
        master_a, master_b = make_ib(f"{slug}-master-a"), make_ib(f"{slug}-master-b")
        ib_a = make_ib(f"{slug}-ib-a", parent=master_a)
        ib_b = make_ib(f"{slug}-ib-b", parent=master_b)
        client = make_client(f"trader@{slug}.example.test", owner=sales)
        ClientAssignment.objects.create(client=client, partner=ib_a, valid_from=START, source="staff")
    for user in (manager, manager2):
        mfa_enrol(brokerage, user.email)
    return {"sales": sales, "manager": manager, "manager2": manager2, "master_a": master_a, "master_b": master_b,
            "ib_a": ib_a, "ib_b": ib_b, "client": client, "brokerage": brokerage}


@pytest.fixture
def programme(db, tenants):
    return build_programme(tenants["alpha"], "alpha")


@pytest.fixture
def beta_programme(db, tenants):
    return build_programme(tenants["beta"], "beta")
