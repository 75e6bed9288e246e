"""KYC vendor adapters by code."""
from tenant_apps.kyc_checks.adapters.base import KycVendorAdapter
from tenant_apps.kyc_checks.adapters.sumsub import SumsubAdapter

ADAPTERS: dict[str, type[KycVendorAdapter]] = {SumsubAdapter.code: SumsubAdapter}


def adapter_class(code: str) -> type[KycVendorAdapter]:
    return ADAPTERS[code]
