"""Payment methods a client may use: the tenant's rules by country, currency, KYC state; sorted by speed."""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from tenancy.context import require_tenant
from tenant_apps.brokerage.models import PaymentProviderConfig
from tenant_apps.payments.models import PaymentMethod


def methods_for_client(*, user, direction: str, country: str = "", currency: str = "",
                       amount: Decimal | None = None) -> list[PaymentMethod]:
    """The enabled methods valid for this client (country, currency, KYC state), fastest first."""
    from tenant_apps.compliance.selectors import kyc_state

    require_tenant()
    state = kyc_state(user)
    country, currency = (country or "").upper(), (currency or "").upper()
    found = []
    for method in (PaymentMethod.objects.filter(is_enabled=True, provider__is_enabled=True,
                                                direction__in=[direction, PaymentMethod.Direction.BOTH])
                   .select_related("provider").order_by("processing_minutes", "display_name")):
        if method.countries and country not in method.countries:
            continue
        if currency and currency not in method.currencies:
            continue
        if method.kyc_states and state not in method.kyc_states:
            continue
        if amount is not None and (amount < method.min_amount or (method.max_amount and amount > method.max_amount)):
            continue
        found.append(method)
    return found


@transaction.atomic
def payment_methods_create_defaults() -> list[PaymentMethod]:
    """A card method on the sandbox PSP (and bank wire when connected): idempotent, for provisioning and demos."""
    require_tenant()
    made = []
    sandbox = PaymentProviderConfig.objects.filter(kind=PaymentProviderConfig.Kind.SANDBOX).first()
    if sandbox is not None:
        method, _ = PaymentMethod.objects.get_or_create(code="card", defaults={
            "display_name": "Card", "provider": sandbox, "currencies": sandbox.currencies or ["USD", "EUR"],
            "min_amount": Decimal("10"), "max_amount": Decimal("50000"), "processing_time": "Instant",
            "processing_minutes": 0})
        made.append(method)
    return made
