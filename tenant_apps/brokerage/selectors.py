"""Reads of the brokerage's configuration for the back office and API."""
from tenancy.context import require_tenant
from tenant_apps.brokerage.models import AccountType, LegalEntity, PaymentProviderConfig, TradingServerConfig


def brokerage_configuration() -> dict:
    require_tenant()
    return {
        "entities": list(LegalEntity.objects.order_by("-is_default", "name")),
        "account_types": list(AccountType.objects.select_related("legal_entity")),
        "payment_providers": list(PaymentProviderConfig.objects.select_related("legal_entity")),
        "trading_servers": list(TradingServerConfig.objects.select_related("legal_entity")),
    }
