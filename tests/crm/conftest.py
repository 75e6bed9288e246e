"""Fixtures of the sales desk (issue 8, item 3): two teams with Sales members, routing rules (LATAM by country,
an on-duty default), signed-in HTTP clients for Sales and the Super Admin."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD


def staff(email, team, roles=("sales",)):
    from tenant_apps.identity.services import staff_user_create

    user = staff_user_create(email=email, password=PASSWORD, role_codes=list(roles))[0]
    user.team = team
    user.save(update_fields=["team"])
    return user


def client_user(email, *, owner=None, team=None, stage="registered", country="MX", phone="", name="", **record):
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind

    user = User.objects.create_user(email=email, password=PASSWORD, kind=UserKind.CLIENT, full_name=name)
    ClientRecord.objects.create(user=user, owner=owner, team=team, country=country, phone=phone, stage=stage,
                                **record)
    return user


@pytest.fixture
def sales_desk(db, tenants):
    from tenant_apps.crm.models import RoutingRule
    from tenant_apps.identity.models import Team

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        latam, duty = Team.objects.create(name="Desk LATAM"), Team.objects.create(name="Desk On Duty")
        latam_sales = staff("lara.latam@alpha.test", latam)
        duty_sales = staff("dino.duty@alpha.test", duty)
        RoutingRule.objects.create(name="LATAM", priority=10, countries=["MX", "CO"], team=latam)
        RoutingRule.objects.create(name="On duty", priority=1000, team=duty, is_default=True)
    return SimpleNamespace(brokerage=alpha, latam=latam, duty=duty, latam_sales=latam_sales, duty_sales=duty_sales)


@pytest.fixture
def http(tenant_client):
    """http(brokerage, email) → a Client on the brokerage's host with that user's session (force_login: the sign-in
    forms themselves are tested in tests/identity, and their rate limit would trip over many tests here)."""

    def make(brokerage, email):
        return tenant_client(brokerage, email)

    return make
