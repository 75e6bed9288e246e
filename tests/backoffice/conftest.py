"""Back-office fixtures: a brokerage desk with one staff member per system role, a client who has something in every
Client 360 block (KYC, a document, a trading account with a synced snapshot, a credited deposit, a rejected withdrawal,
an adjustment, an IB, messages, audit entries) and a client of another team. Amounts are distinctive so a test can
look for the exact figures in the HTML."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, mfa_enrol

STAFF = ("sales", "support", "compliance", "finance", "manager", "super_admin")
DEPOSIT, WITHDRAWAL, ADJUSTMENT = Decimal("1234.56"), Decimal("321.09"), Decimal("77.70")
SNAPSHOT_BALANCE, SNAPSHOT_EQUITY = Decimal("4567.89"), Decimal("4600.12")
# every money figure of the fixture client, as the pages could print them
FIGURES = ("1234.56", "1,234.56", "321.09", "77.70", "4567.89", "4,567.89", "4600.12", "4,600.12")
PHONE = "+35799123456"


def make_client(email: str, *, full_name: str, owner=None, team=None, phone: str = "", country: str = "CY"):
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind

    user = User.objects.create_user(email=email, password=PASSWORD, kind=UserKind.CLIENT, full_name=full_name)
    ClientRecord.objects.create(user=user, owner=owner, team=team, country=country, phone=phone, stage="funded")
    return user


def trading_account(client, login: int):
    from tenant_apps.brokerage.models import AccountType, TradingServerConfig
    from tenant_apps.trading.models import AccountStatus, TradingAccount

    server = TradingServerConfig.objects.order_by("pk").first()
    kind = AccountType.objects.filter(is_demo=False).order_by("pk").first() or AccountType.objects.order_by("pk").first()
    return TradingAccount.objects.create(client=client, server=server, account_type=kind, login=login, currency="USD",
                                         leverage=200, status=AccountStatus.ACTIVE, platform_group=kind.platform_group)


def credited_deposit(client, amount: Decimal):
    """A deposit credited the way the PSP callback credits it (the ledger wallet holds the money afterwards)."""
    from tenant_apps.payments.models import Deposit, PaymentMethod
    from tenant_apps.payments.services import deposits
    from tenant_apps.payments.services._flow import money_rules

    rules = money_rules()
    rules.review_first_deposit = False
    rules.save()
    card = PaymentMethod.objects.get(code="card")
    deposit = Deposit.objects.create(client=client, method=card, provider_code=card.provider.code,
                                     reference=f"DEP-C360{uuid.uuid4().hex[:6].upper()}", amount=amount, currency="USD",
                                     status="pending_psp", provider_payment_id=f"pi_c360_{uuid.uuid4().hex[:10]}")
    deposits.deposit_payment_succeeded(provider_code=card.provider.code, reference=deposit.reference)
    deposit.refresh_from_db()
    assert deposit.status == "credited", deposit.status
    return deposit


def build_desk(brokerage, slug: str) -> SimpleNamespace:
    from tenant_apps.audit.services import audit_record
    from tenant_apps.compliance.models import KycCase, KycDocument
    from tenant_apps.identity.models import Team
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.notifications.models import Notification
    from tenant_apps.partners.models import ClientAssignment
    from tenant_apps.partners.services import partner_create
    from tenant_apps.payments.models import Adjustment, PaymentMethod, Withdrawal
    from tenant_apps.trading.models import AccountSnapshot

    with tenant_context(brokerage):
        desk_a, desk_b = Team.objects.create(name="Desk A"), Team.objects.create(name="Desk B")
        staff = {}
        for role in STAFF:
            staff[role] = staff_user_create(email=f"{role}.c360@{slug}.test", password=PASSWORD, role_codes=[role])[0]
        staff["sales"].team = desk_a
        staff["sales"].save(update_fields=["team"])
        client = make_client(f"ana.lopez@{slug}.example.test", full_name="Ana Lopez", owner=staff["sales"],
                             team=desk_a, phone=PHONE)
        other = make_client(f"bob.other@{slug}.example.test", full_name="Bob Otherteam", team=desk_b,
                            phone="+35799765432")
        KycCase.objects.create(client=client, state="approved", approved_at=timezone.now(), decided_at=timezone.now(),
                               client_reason="")
        KycDocument.objects.create(client=client, doc_type="passport", file="kyc/c360-passport.png", sha256="0" * 64,
                                   content_type="image/png", size=1000, state="accepted")
        account = trading_account(client, 7_300_000 + (1 if slug == "alpha" else 2))
        other_account = trading_account(other, 7_400_000 + (1 if slug == "alpha" else 2))
        AccountSnapshot.objects.create(account=account, balance=SNAPSHOT_BALANCE, equity=SNAPSHOT_EQUITY,
                                       synced_at=timezone.now())
        deposit = credited_deposit(client, DEPOSIT)
        other_deposit = credited_deposit(other, Decimal("50.00"))
        card = PaymentMethod.objects.get(code="card")
        withdrawal = Withdrawal.objects.create(client=client, method=card, provider_code=card.provider.code,
                                               reference=f"WD-C360{uuid.uuid4().hex[:6].upper()}", amount=WITHDRAWAL,
                                               currency="USD", status="rejected",
                                               client_reason="The account holder name does not match.")
        Adjustment.objects.create(client=client, amount=ADJUSTMENT, currency="USD", category="goodwill",
                                  note="Goodwill for a delayed withdrawal", created_by=staff["finance"])
        ib_user = make_client(f"ib.c360@{slug}.example.test", full_name="Ivan Broker")
        partner = partner_create(user=ib_user, actor=None, parent=None, code=f"{slug}-c360-ib",
                                 at=datetime(2026, 10, 1, tzinfo=UTC))
        ClientAssignment.objects.create(client=client, partner=partner, valid_from=datetime(2026, 10, 2, tzinfo=UTC),
                                        source="staff")
        Notification.objects.create(recipient=client, kind="deposit.credited", category="money",
                                    title=f"{DEPOSIT} USD credited to your wallet", dedupe_key=deposit.reference)
        Notification.objects.create(recipient=client, kind="kyc.approved", category="account",
                                    title="Your account is verified", dedupe_key="kyc")
        audit_record(action="client.note_added", object_type="identity.user", object_id=client.pk,
                     reason="Called the client about the rejected withdrawal", actor=staff["support"])
    for role in STAFF:
        mfa_enrol(brokerage, staff[role].email)
    return SimpleNamespace(brokerage=brokerage, staff=staff, client=client, other=other, account=account,
                           other_account=other_account, deposit=deposit, other_deposit=other_deposit,
                           withdrawal=withdrawal, desk_a=desk_a)


@pytest.fixture
def desk(db, tenants):
    return build_desk(tenants["alpha"], "alpha")


@pytest.fixture
def beta_desk(db, tenants):
    return build_desk(tenants["beta"], "beta")


@pytest.fixture
def staff_http(tenant_client):
    def make(d: SimpleNamespace, role: str):
        return tenant_client(d.brokerage, d.staff[role].email)

    return make
