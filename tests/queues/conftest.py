"""Queue fixtures: a desk in Alpha with one staff member per role (two-factor enrolled), and `fill`, which puts N
items into any built-in queue with an explicit waiting-since time (so SLA states are computed on frozen times)."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, mfa_enrol

ROLES = ("sales", "support", "compliance", "finance", "manager", "super_admin")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def make_clients(n: int, *, country: str = "CY", owner=None, team=None, prefix: str = "q"):
    """n clients with a CRM record, in two bulk inserts (no password hashing: they never sign in)."""
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind

    tag = uuid.uuid4().hex[:6]
    users = User.objects.bulk_create([
        User(email=f"{prefix}{i}.{tag}@example.test", kind=UserKind.CLIENT, full_name=f"Client {prefix}{i}",
             password="!") for i in range(n)])
    ClientRecord.objects.bulk_create([ClientRecord(user=u, country=country, owner=owner, team=team) for u in users])
    return users


def _account(client):
    from tenant_apps.brokerage.models import AccountType, TradingServerConfig
    from tenant_apps.trading.models import AccountStatus, TradingAccount

    server = TradingServerConfig.objects.order_by("pk").first()
    kind = AccountType.objects.order_by("pk").first()
    login = 8_000_000 + TradingAccount.objects.count() + int(uuid.uuid4().int % 100_000) * 10
    return TradingAccount.objects.create(client=client, server=server, account_type=kind, login=login, currency="USD",
                                         leverage=100, status=AccountStatus.ACTIVE, platform_group=kind.platform_group)


def fill(code: str, n: int, *, since: datetime | None = None, clients=None, risk: str = "low", country: str = "CY",
         stage: str = "support", amount: Decimal = Decimal("4321.09"), requested_by=None) -> list[int]:
    """Put n items into queue `code`, each waiting since `since` (default: one minute ago). Returns their ids."""
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.partners.models import ReassignmentRequest
    from tenant_apps.payments.models import Deposit, Discrepancy, PaymentMethod, Withdrawal
    from tenant_apps.trading.models import LeverageRequest

    since = since or timezone.now() - timedelta(minutes=1)
    if code == "kyc":
        clients = clients or make_clients(n, country=country)
        made = KycCase.objects.bulk_create([KycCase(client=c, state="pending_review", submitted_at=since,
                                                    risk_level=risk) for c in clients[:n]])
        return [c.pk for c in made]
    client = (clients or make_clients(1, country=country))[0]
    if risk:
        KycCase.objects.update_or_create(client=client, defaults={"state": "approved", "risk_level": risk})
    card = PaymentMethod.objects.get(code="card")
    tag = uuid.uuid4().hex[:6].upper()
    if code == "deposits":
        made = Deposit.objects.bulk_create([
            Deposit(client=client, method=card, provider_code=card.provider.code, reference=f"DEP-Q{tag}{i}",
                    amount=amount, currency="USD", status="under_review", review_reasons=["first deposit"],
                    created_at=since, status_changed_at=since) for i in range(n)])
    elif code == "withdrawals":
        made = Withdrawal.objects.bulk_create([
            Withdrawal(client=client, method=card, provider_code=card.provider.code, reference=f"WD-Q{tag}{i}",
                       amount=amount, currency="USD", status="under_review", stage=stage,
                       review_reasons=["first withdrawal"], created_at=since, status_changed_at=since)
            for i in range(n)])
    elif code == "reassignments":
        from tenant_apps.identity.models import User, UserKind

        requested_by = requested_by or User.objects.filter(kind=UserKind.STAFF).order_by("pk").first()
        made = ReassignmentRequest.objects.bulk_create([
            ReassignmentRequest(kind="client", client=client, effective_at=since + timedelta(days=1), reason="move",
                                requested_by=requested_by) for _ in range(n)])
        ReassignmentRequest.objects.filter(pk__in=[m.pk for m in made]).update(requested_at=since)
    elif code == "leverage":
        account = _account(client)
        made = LeverageRequest.objects.bulk_create([
            LeverageRequest(account=account, requested=500, previous=100, within_limits=False, state="pending")
            for _ in range(n)])
        LeverageRequest.objects.filter(pk__in=[m.pk for m in made]).update(created_at=since)
    elif code == "discrepancies":
        made = Discrepancy.objects.bulk_create([
            Discrepancy(day=date(2026, 11, 19), source="psp:sandbox", kind="amount_mismatch", reference=f"pi_{tag}_{i}",
                        currency="USD", our_amount=amount, their_amount=amount + 1, detected_at=since)
            for i in range(n)])
    else:
        raise KeyError(code)
    return [m.pk for m in made]


def build_floor(brokerage, slug: str) -> SimpleNamespace:
    from tenant_apps.identity.services import staff_user_create

    with tenant_context(brokerage):
        staff = {role: staff_user_create(email=f"{role}.queues@{slug}.test", password=PASSWORD, role_codes=[role])[0]
                 for role in ROLES}
        staff["finance2"] = staff_user_create(email=f"finance2.queues@{slug}.test", password=PASSWORD,
                                              role_codes=["finance"])[0]
    for who in staff.values():
        if who.email.split(".")[0] != "sales":
            mfa_enrol(brokerage, who.email)
    return SimpleNamespace(brokerage=brokerage, staff=staff)


@pytest.fixture
def floor(db, tenants):
    return build_floor(tenants["alpha"], "alpha")


@pytest.fixture
def http(tenant_client):
    def make(f: SimpleNamespace, who: str):
        return tenant_client(f.brokerage, f.staff[who].email)

    return make


def hold(code: str, object_id: int, user):
    """Make `user` hold an item as a claim does: the queue claim, and the item's own holder field when it has one."""
    from tenant_apps.queues import registry
    from tenant_apps.queues.models import QueueClaim

    spec = registry.get(code)
    QueueClaim.objects.create(queue=code, object_id=object_id, claimed_by=user)
    if spec.holder_field:
        spec.queryset().model.objects.filter(pk=object_id).update(**{f"{spec.holder_field}_id": user.pk})
