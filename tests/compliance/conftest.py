"""KYC fixtures: a client and compliance staff per brokerage, signed-in HTTP clients, stored-file counting."""
from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, mfa_enrol


def make_client(brokerage, email: str, country: str = "DE"):
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind

    with tenant_context(brokerage):
        user = User.objects.create_user(email=email, password=PASSWORD, kind=UserKind.CLIENT)
        ClientRecord.objects.create(user=user, country=country)
    return user


def make_staff(brokerage, email: str, role: str, mfa: bool = True):
    from tenant_apps.identity.services import staff_user_create

    with tenant_context(brokerage):
        user = staff_user_create(email=email, password=PASSWORD, role_codes=[role])[0]
    if mfa:
        mfa_enrol(brokerage, email)
    return user


def stored_kyc_files(brokerage) -> set[str]:
    folder = Path(settings.MEDIA_ROOT) / brokerage.schema_name / "kyc"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def in_days(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


PROFILE_POST = {
    "full_name": "Maria Schmidt", "date_of_birth": "1988-04-12", "address_line": "Hauptstrasse 5", "city": "Berlin",
    "postcode": "10115", "country": "de", "nationality": "DE", "tax_residence": "DE",
    "employment_status": "employed", "source_of_funds": "salary", "expected_deposit": "1k_10k",
    # the appropriateness set of CySEC (ignored where the jurisdiction has none)
    "q_leverage_loss": "30", "q_stop_out": "close", "q_experience": "frequent", "q_loss_capacity": "no",
}


@pytest.fixture
def people(db, tenants):
    alpha, beta = tenants["alpha"], tenants["beta"]
    return {
        "client": make_client(alpha, "maria@example.test"),
        "other_client": make_client(alpha, "other@example.test"),
        "officer": make_staff(alpha, "officer.one@alpha.test", "compliance"),
        "officer2": make_staff(alpha, "officer.two@alpha.test", "compliance"),
        "manager": make_staff(alpha, "kyc.manager@alpha.test", "manager"),
        "support": make_staff(alpha, "kyc.support@alpha.test", "support"),
        "sales": make_staff(alpha, "kyc.sales@alpha.test", "sales", mfa=False),
        "beta_client": make_client(beta, "maria@beta-example.test"),
        "beta_officer": make_staff(beta, "officer@beta.test", "compliance"),
    }
