"""A client of Alpha with realistic data on every Trader's Room page: a funded wallet, a live trading account with a
synced snapshot, deposits (credited, failed with a reason), a withdrawal under review, notifications, a KYC case,
and an active IB role (with a referred client and a sub-IB) so the partner portal has content too."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from tests.conftest import PASSWORD


@dataclass
class PortalData:
    client: object
    deposit: object
    failed_deposit: object
    withdrawal: object
    partner: object
    referred: object
    period: str


def _client(email: str, *, full_name: str, language: str = "en"):
    from allauth.account.models import EmailAddress

    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind

    user = User.objects.create_user(email=email, password=PASSWORD, kind=UserKind.CLIENT, full_name=full_name,
                                    language=language)
    ClientRecord.objects.create(user=user, country="ES", phone="+34600000000", language=language)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def portal_data_make(slug: str = "alpha", *, language: str = "en") -> PortalData:
    from tenant_apps.brokerage.models import AccountType, TradingServerConfig
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.ledger.models import AccountKind, Owner
    from tenant_apps.ledger.services.accounts import account_get_or_create
    from tenant_apps.ledger.services.entries import ledger_transfer
    from tenant_apps.notifications.services import notify
    from tenant_apps.partners.models import ClientAssignment
    from tenant_apps.partners.services import partner_create
    from tenant_apps.payments.models import Deposit, PaymentMethod, Withdrawal
    from tenant_apps.trading.models import AccountSnapshot, TradingAccount

    tag = uuid.uuid4().hex[:6]
    client = _client(f"lucia.{tag}@{slug}.test", full_name="Lucía Fernández", language=language)
    KycCase.objects.create(client=client, state="approved", approved_at=timezone.now())
    wallet = account_get_or_create(kind=AccountKind.CLIENT_WALLET, owner=Owner.client(client.pk), currency="USD")
    house = account_get_or_create(kind=AccountKind.MANUAL_ADJUSTMENTS, owner=None, currency="USD")
    funding = ledger_transfer(idempotency_key=f"i18n-fund-{tag}", source=house, destination=wallet,
                    amount=Decimal("1234.50"), kind="adjustment.manual", description="test funding")
    account = TradingAccount.objects.create(
        client=client, server=TradingServerConfig.objects.get(code="mt5-sim"),
        account_type=AccountType.objects.filter(is_demo=False).order_by("pk").first(),
        login=7_000_000 + int(tag[:5], 16) % 1_000_000, currency="USD", leverage=100, is_demo=False,
        status="active", platform_group="real\\test")
    AccountSnapshot.objects.create(account=account, balance=Decimal("2500.00"), equity=Decimal("2612.40"),
                                   free_margin=Decimal("2100.15"), floating_profit=Decimal("112.40"),
                                   synced_at=timezone.now() - timedelta(minutes=2))
    card = PaymentMethod.objects.get(code="card")
    deposit = Deposit.objects.create(client=client, method=card, provider_code="sandbox", reference=f"D{tag}OK",
                                     amount=Decimal("1234.50"), currency="USD", status="credited",
                                     credit_entry_id=funding.pk)
    failed = Deposit.objects.create(client=client, method=card, provider_code="sandbox", reference=f"D{tag}NO",
                                    amount=Decimal("300.00"), currency="USD", status="failed",
                                    failure_reason="insufficient_funds")
    withdrawal = Withdrawal.objects.create(client=client, method=card, provider_code="sandbox",
                                           reference=f"W{tag}", amount=Decimal("120.00"), currency="USD",
                                           status="under_review", stage="support", holder_name="Lucía Fernández")
    notify(client, "deposit.credited", link="/money/", dedupe_key=f"i18n:{tag}:dep",
           context={"reference": deposit.reference, "amount": Decimal("1234.50"), "credited": Decimal("1234.50"),
                    "currency": "USD"})
    notify(client, "kyc.approved", context={}, link="/verify/", dedupe_key=f"i18n:{tag}:kyc")
    start = datetime(2026, 10, 1, tzinfo=UTC)
    partner = partner_create(user=client, actor=None, code=f"lucia-{tag}", at=start)
    sub = partner_create(user=_client(f"sub.{tag}@{slug}.test", full_name="Omar Haddad"), actor=None,
                         parent=partner, code=f"omar-{tag}", at=start)
    referred = _client(f"ref.{tag}@{slug}.test", full_name="Ana Ruiz")
    ClientAssignment.objects.create(client=referred, partner=partner, valid_from=start, source="staff")
    assert sub.pk
    return PortalData(client=client, deposit=deposit, failed_deposit=failed, withdrawal=withdrawal,
                      partner=partner, referred=referred, period=timezone.now().strftime("%Y-%m"))
