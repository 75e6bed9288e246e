"""Facts for automation tests, made through the capabilities' own services where they exist: registered clients
with an owner, KYC approvals, credited deposits (Deposit + its credited MoneyEvent + the wallet credit in the
ledger), live trading accounts with deals, IB assignments."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import PASSWORD

ALPHA_ZONE = ZoneInfo("Asia/Nicosia")
_seq = itertools.count(1)


def next_monday_local(hour: int = 10) -> datetime:
    """A Monday at `hour`:00 in Alpha's time zone, a few days after the real now. The ledger stamps entries with
    the database clock (real time), so frozen test days stay AFTER every real ledger timestamp."""
    from django.utils import timezone

    day = timezone.now().astimezone(ALPHA_ZONE).date() + timedelta(days=2)
    while day.isoweekday() != 1:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=ALPHA_ZONE)


def staff(email: str, roles=("sales",)):
    from tenant_apps.identity.services import staff_user_create

    return staff_user_create(email=email, password=PASSWORD, role_codes=list(roles))[0]


def client(email: str, *, owner=None, country: str = "CY", ref: str = ""):
    """A registered client (CRM record by crm.services.client_register), owned by `owner`."""
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.crm.services import client_register
    from tenant_apps.identity.models import User

    user = User.objects.create_user(email=email, password=PASSWORD, full_name=email.split("@")[0].title())
    client_register(user=user, country=country, language="en", phone="+35722123456",
                    attribution={"ref": ref} if ref else {})
    if owner is not None:
        ClientRecord.objects.filter(user=user).update(owner=owner)
    return user


def kyc_approve(user):
    from tenant_apps.compliance.services import kyc_transition

    kyc_transition(client=user, action="submit", actor_kind="client")
    return kyc_transition(client=user, action="approve")


def deposit(user, amount: str = "100.00", currency: str = "USD"):
    """A deposit credited now (the frozen clock): the Deposit, its credited MoneyEvent and the wallet credit."""
    from django.utils import timezone

    from tenant_apps.crm.lifecycle import lifecycle_refresh
    from tenant_apps.ledger.models import AccountKind, Owner
    from tenant_apps.ledger.services.accounts import account_get_or_create
    from tenant_apps.ledger.services.entries import ledger_post
    from tenant_apps.payments.models import Deposit, MoneyEvent, PaymentMethod

    n = next(_seq)
    method = PaymentMethod.objects.select_related("provider").order_by("pk").first()
    wallet = account_get_or_create(kind=AccountKind.CLIENT_WALLET, owner=Owner.client(user.pk), currency=currency)
    clearing = account_get_or_create(kind=AccountKind.PSP_CLEARING, owner=Owner.provider(method.provider.code),
                                     currency=currency)
    entry = ledger_post(idempotency_key=f"auto-test-deposit-{user.pk}-{n}", kind="deposit.credited",
                        lines=[(wallet, Decimal(amount)), (clearing, -Decimal(amount))])
    now = timezone.now()
    made = Deposit.objects.create(client=user, method=method, provider_code=method.provider.code,
                                  reference=f"AUTO-{user.pk}-{n}", amount=Decimal(amount), currency=currency,
                                  status="credited", credit_entry_id=entry.pk, created_at=now, status_changed_at=now)
    MoneyEvent.objects.create(deposit=made, at=now, from_status="succeeded", to_status="credited",
                              client_text="Credited", source="test")
    lifecycle_refresh(client=user)
    return made


def withdraw_from_wallet(user, amount: str, currency: str = "USD"):
    from tenant_apps.ledger.models import AccountKind, Owner
    from tenant_apps.ledger.services.accounts import account_get_or_create
    from tenant_apps.ledger.services.entries import ledger_post

    wallet = account_get_or_create(kind=AccountKind.CLIENT_WALLET, owner=Owner.client(user.pk), currency=currency)
    payout = account_get_or_create(kind=AccountKind.PSP_CLEARING, owner=Owner.provider("sandbox"), currency=currency)
    ledger_post(idempotency_key=f"auto-test-payout-{user.pk}-{next(_seq)}", kind="withdrawal.sent",
                lines=[(wallet, -Decimal(amount)), (payout, Decimal(amount))])


def trade(user, *, at=None):
    """A deal on the client's live trading account (opened on first use) at `at` (default: now)."""
    from django.utils import timezone

    from tenant_apps.brokerage.models import AccountType, TradingServerConfig
    from tenant_apps.trading.models import AccountStatus, Deal, TradingAccount

    account = TradingAccount.objects.filter(client=user, is_demo=False).first()
    if account is None:
        server = TradingServerConfig.objects.order_by("pk").first()
        account_type = AccountType.objects.filter(is_demo=False).order_by("pk").first()
        account = TradingAccount.objects.create(client=user, server=server, account_type=account_type,
                                                login=900000 + user.pk, currency="USD", leverage=100,
                                                status=AccountStatus.ACTIVE, platform_group="real\\test")
    n = next(_seq)
    return Deal.objects.create(server=account.server, ticket=7_000_000 + n, login=account.login,
                               time=at or timezone.now(), symbol="EURUSD", side="buy", action=0, entry=0,
                               volume_lots=Decimal("0.1"), price=Decimal("1.1"), profit=Decimal("0"),
                               commission=Decimal("0"), swap=Decimal("0"))


@pytest.fixture
def alpha(tenants):
    return tenants["alpha"]


@pytest.fixture
def patient_policy(db, alpha):
    """A dormancy window far beyond the test's days: only the rules mark anyone dormant here."""
    from django_tenants.utils import tenant_context

    from tenant_apps.crm.models import CrmPolicy

    with tenant_context(alpha):
        CrmPolicy.objects.update_or_create(singleton=True, defaults={"dormant_after_days": 3650})
    return alpha
