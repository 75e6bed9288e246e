"""Commission tests: a small IB world inside one brokerage (staff, IBs in trees through the partners services,
plans, clients with trading accounts) and deals written as the sync stores them (trading.Deal rows)."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import PASSWORD

_tickets = itertools.count(5_000_000)
_logins = itertools.count(8_100_000)


class World:
    """Builders for one brokerage; call inside its tenant_context."""

    def __init__(self, slug: str):
        from tenant_apps.brokerage.models import AccountType, TradingServerConfig
        from tenant_apps.identity.services import staff_user_create

        self.slug = slug
        tag = uuid.uuid4().hex[:6]
        self.manager = staff_user_create(email=f"manager.cm{tag}@{slug}.test", password=PASSWORD,
                                         role_codes=["manager"])[0]
        self.manager2 = staff_user_create(email=f"manager2.cm{tag}@{slug}.test", password=PASSWORD,
                                          role_codes=["manager"])[0]
        self.sales = staff_user_create(email=f"sales.cm{tag}@{slug}.test", password=PASSWORD,
                                       role_codes=["sales"])[0]
        self.finance = staff_user_create(email=f"finance.cm{tag}@{slug}.test", password=PASSWORD,
                                         role_codes=["finance"])[0]
        self.server = TradingServerConfig.objects.get(code="mt5-sim")
        self.account_type = AccountType.objects.get(code="standard")
        from django.db import connection

        self.zone = ZoneInfo(connection.tenant.timezone)

    def local(self, *args) -> datetime:
        """A moment on the brokerage's wall clock."""
        return datetime(*args, tzinfo=self.zone)

    def user(self, name: str, kind: str = "client"):
        from tenant_apps.identity.models import User

        return User.objects.create_user(email=f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:6]}@{self.slug}.test",
                                        password=PASSWORD, kind=kind, full_name=name)

    def ib(self, name: str, *, parent=None, at: datetime):
        from tenant_apps.partners.services import partner_create

        return partner_create(user=self.user(name, "ib"), actor=self.manager, parent=parent, at=at,
                              code=f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:4]}")

    def client(self, name: str, *, ib=None, at: datetime | None = None):
        from tenant_apps.partners.services import client_assign
        from tenant_apps.trading.models import AccountStatus, TradingAccount

        user = self.user(name)
        account = TradingAccount.objects.create(
            client=user, server=self.server, account_type=self.account_type, login=next(_logins), currency="USD",
            leverage=100, platform_group=self.account_type.platform_group, status=AccountStatus.ACTIVE)
        if ib is not None:
            client_assign(client=user, partner=ib, actor=self.manager, at=at)
        user.login = account.login
        return user

    def plan(self, name: str, *, valid_from: datetime, rebate="0", share="0", overrides=(), **terms):
        """overrides: [(level, "percent" | "per_lot", value), ...]"""
        from tenant_apps.commissions.services import plan_create

        rules = self.rules(rebate=rebate, share=share, overrides=overrides)
        return plan_create(actor=self.manager, name=f"{name} {uuid.uuid4().hex[:4]}", valid_from=valid_from,
                           rules=rules, terms=terms)

    @staticmethod
    def rules(*, rebate="0", share="0", overrides=()):
        rules = []
        if Decimal(rebate):
            rules.append({"kind": "rebate", "per_lot": rebate})
        if Decimal(share):
            rules.append({"kind": "revenue_share", "percent": share})
        for level, how, value in overrides:
            rules.append({"kind": "override", "level": level, how: value})
        return rules

    def on_plan(self, partner, plan, at: datetime):
        from tenant_apps.commissions.services import plan_assign

        return plan_assign(actor=self.manager, partner=partner, plan=plan, valid_from=at)

    def deal(self, client, at: datetime, lots, *, symbol="EURUSD", side="buy", entry=1, commission="0", swap="0",
             position_id=0):
        from tenant_apps.trading.models import Deal

        return Deal.objects.create(server=self.server, ticket=next(_tickets), login=client.login, time=at,
                                   symbol=symbol, side=side, action=0 if side == "buy" else 1, entry=entry,
                                   volume_lots=Decimal(str(lots)), price=Decimal("1.1"), profit=0,
                                   commission=Decimal(commission), swap=Decimal(swap), position_id=position_id)


def totals(period, **filters) -> dict:
    """{partner_id: net amount} over every accrual row (originals and adjustments) of the period."""
    from django.db.models import Sum

    from tenant_apps.commissions.models import CommissionAccrual

    rows = CommissionAccrual.objects.filter(period=period, **filters).values("partner_id").annotate(s=Sum("amount"))
    return {r["partner_id"]: r["s"] for r in rows if r["s"]}


@pytest.fixture
def alpha_world(db, tenants):
    from django_tenants.utils import tenant_context

    with tenant_context(tenants["alpha"]):
        yield World("alpha")


@pytest.fixture
def beta_world(db, tenants):
    from django_tenants.utils import tenant_context

    with tenant_context(tenants["beta"]):
        yield World("beta")


@pytest.fixture(autouse=True)
def recompute_in_process(monkeypatch):
    """A "recalculate" approval queues commissions_reassignment_recompute for the worker; these tests run inside
    one transaction a worker could not see, so the message's actor runs here, in-process, when it is sent (the
    real queue and worker are exercised by test_reassignment_worker.py). Returns the messages sent."""
    from tenant_apps.commissions.tasks import commissions_reassignment_recompute

    sent = []

    def send(*args, **kwargs):
        sent.append((args, kwargs))
        return commissions_reassignment_recompute.fn(*args, **kwargs)

    monkeypatch.setattr(commissions_reassignment_recompute, "send", send)
    return sent
