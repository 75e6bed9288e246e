"""Reports fixtures: clients in countries, deposits credited through the payments services at chosen moments
(time_machine: the credit's history step carries the moment), staff of each role signed in through MFA."""
from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, mfa_enrol, sign_in

NICOSIA = ZoneInfo("Asia/Nicosia")  # alpha's timezone (tests/conftest.py TENANT_SPECS)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=NICOSIA)


def make_client(slug: str, *, country: str = "CY", utm_source: str = "", stage: str = "registered",
                joined: datetime | None = None):
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind

    user = User.objects.create_user(email=f"rep-{uuid.uuid4().hex[:10]}@{slug}.test", password=PASSWORD,
                                    kind=UserKind.CLIENT, full_name="Maria Garcia")
    if joined:
        User.objects.filter(pk=user.pk).update(date_joined=joined)
    ClientRecord.objects.create(user=user, country=country, utm_source=utm_source)
    KycCase.objects.create(client=user, state="approved", approved_at=timezone.now())
    # the stage as the test says (the lifecycle's receivers derive one from the KYC case just made)
    ClientRecord.objects.filter(user=user).update(stage=stage)
    return user


def methods():
    """card (provisioning's, on the sandbox PSP) and a second deposit method, "crypto", on the same PSP."""
    from tenant_apps.brokerage.models import PaymentProviderConfig
    from tenant_apps.payments.models import PaymentMethod

    sandbox = PaymentProviderConfig.objects.get(code="sandbox")
    card, _ = PaymentMethod.objects.update_or_create(code="card", defaults={
        "display_name": "Card", "provider": sandbox, "currencies": ["USD", "EUR", "JPY"], "min_amount": Decimal("1"),
        "processing_time": "Instant", "direction": "both"})
    crypto, _ = PaymentMethod.objects.update_or_create(code="crypto", defaults={
        "display_name": "Crypto", "provider": sandbox, "currencies": ["USD"], "min_amount": Decimal("1"),
        "processing_time": "Minutes", "direction": "deposit"})
    return card, crypto


def deposit(client, method, amount: str, *, at: datetime, currency: str = "USD", fee: str = "0",
            outcome: str = "credited", reviewer=None):
    """A deposit paid at `at` and settled there: credited (through deposit_payment_succeeded), failed, or put
    under review and rejected by `reviewer`."""
    from tenant_apps.payments.models import Deposit
    from tenant_apps.payments.services import deposits

    with time_machine.travel(at, tick=False):
        d = Deposit.objects.create(client=client, method=method, provider_code=method.provider.code,
                                   reference=f"DEP-R{uuid.uuid4().hex[:10]}", amount=Decimal(amount),
                                   fee=Decimal(fee), currency=currency, status="pending_psp",
                                   provider_payment_id=f"pi_rep_{uuid.uuid4().hex[:12]}", created_at=at)
        if outcome == "failed":
            deposits.deposit_payment_failed(provider_code=d.provider_code, reference=d.reference,
                                            failure_code="card_declined")
        elif outcome == "rejected":
            deposits.deposit_payment_succeeded(provider_code=d.provider_code, reference=d.reference, risk_flag=True)
            deposits.deposit_review_decide(deposit=d, actor=reviewer, approve=False, reason="chargeback risk")
        else:
            deposits.deposit_payment_succeeded(provider_code=d.provider_code, reference=d.reference)
    d.refresh_from_db()
    expected = {"credited": "credited", "failed": "failed", "rejected": "rejected"}[outcome]
    assert d.status == expected, (d.status, d.review_reasons)
    return d


STAFF = ("sales", "finance", "compliance", "manager")


@pytest.fixture
def rep(db, tenants, tenant_client):
    """alpha with money rules that credit at once, the two methods, and staff of each role (MFA enrolled)."""
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.payments.services._flow import money_rules

    brokerage = tenants["alpha"]
    with tenant_context(brokerage):
        rules = money_rules()
        rules.review_first_deposit = False
        rules.deposit_review_over = Decimal("1000000")
        rules.save()
        card, crypto = methods()
        staff = {role: staff_user_create(email=f"{role}.reports@alpha.test", password=PASSWORD,
                                         role_codes=[role])[0] for role in STAFF}
    for role in STAFF:
        mfa_enrol(brokerage, staff[role].email)
    connection.set_schema_to_public()

    def http(role: str):
        client = tenant_client(brokerage)
        response = sign_in(client, brokerage, staff[role].email)
        assert response.status_code == 302, response.status_code
        return client

    return SimpleNamespace(brokerage=brokerage, card=card, crypto=crypto, staff=staff, http=http)
