"""Writes on the brokerage's configuration. Idempotent set-up functions used by provisioning."""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from tenancy.context import require_tenant
from tenant_apps.brokerage.jurisdictions import PRESETS, JurisdictionPreset
from tenant_apps.brokerage.models import AccountType, LegalEntity, PaymentProviderConfig, TradingServerConfig


def _rules_of(preset: JurisdictionPreset) -> dict:
    return {
        "max_leverage": dict(preset.max_leverage),
        "profile_required_before": preset.profile_required_before,
        "kyc_refresh_months": preset.kyc_refresh_months,
        "appropriateness_test": preset.appropriateness_test,
        "negative_balance_protection": preset.negative_balance_protection,
        "restricted_countries": list(preset.restricted_countries),
    }


@transaction.atomic
def legal_entity_create_default(*, name: str, jurisdiction: str) -> LegalEntity:
    require_tenant()
    preset = PRESETS[jurisdiction]
    entity = LegalEntity.objects.filter(is_default=True).first()
    if entity is not None:
        return entity
    return LegalEntity.objects.create(
        name=name, jurisdiction=preset.code, regulator=preset.regulator, country=preset.country,
        rules=_rules_of(preset), is_default=True,
    )


@transaction.atomic
def account_types_create_defaults(*, entity: LegalEntity) -> list[AccountType]:
    """Standard, Raw and a demo account per base currency, within the jurisdiction's FX leverage cap."""
    require_tenant()
    preset = PRESETS[entity.jurisdiction]
    cap = preset.max_leverage["fx_major"]
    currency = preset.base_currencies[0]
    specs = [
        ("standard", "Standard", False, min(cap, 100 if cap > 30 else cap), Decimal("100"), Decimal("0")),
        ("raw", "Raw Spread", False, min(cap, 200 if cap > 30 else cap), Decimal("500"), Decimal("7")),
        ("demo", "Demo", True, min(cap, 100 if cap > 30 else cap), Decimal("0"), Decimal("0")),
    ]
    # One statement; existing types (a re-run) are left as the brokerage may have edited them.
    AccountType.objects.bulk_create([
        AccountType(legal_entity=entity, code=code, name=name, is_demo=is_demo, currency=currency,
                    default_leverage=leverage, min_first_deposit=min_dep, commission_per_lot=commission,
                    platform_group=f"{'demo' if is_demo else 'real'}\\{entity.jurisdiction}\\{code}-{currency.lower()}")
        for code, name, is_demo, leverage, min_dep, commission in specs
    ], ignore_conflicts=True)
    return list(AccountType.objects.filter(legal_entity=entity, code__in=[s[0] for s in specs]))


@transaction.atomic
def integrations_create_sandbox(*, entity: LegalEntity) -> tuple[PaymentProviderConfig, TradingServerConfig]:
    """Connections to the bundled sandbox PSP and MT5 simulator; the money and trading capabilities fill them."""
    require_tenant()
    preset = PRESETS[entity.jurisdiction]
    PaymentProviderConfig.objects.bulk_create([PaymentProviderConfig(
        code="sandbox", kind=PaymentProviderConfig.Kind.SANDBOX, display_name="Card (sandbox)", legal_entity=entity,
        currencies=list(preset.base_currencies), settings={"mode": "test"},
    )], ignore_conflicts=True)
    TradingServerConfig.objects.bulk_create([TradingServerConfig(
        code="mt5-sim", kind=TradingServerConfig.Kind.MT5_SIMULATOR, display_name="MT5 simulator",
        legal_entity=entity, host="127.0.0.1", port=8443, verify_tls=False,
    )], ignore_conflicts=True)
    return PaymentProviderConfig.objects.get(code="sandbox"), TradingServerConfig.objects.get(code="mt5-sim")
