"""PSP adapters by PaymentProviderConfig.kind. `adapter_class(kind)` needs no credentials (parsing stored
events); services build full adapters with decrypted credentials (services.psp_adapter)."""
from __future__ import annotations

from tenant_apps.payments.adapters.bank_wire import BankWireAdapter
from tenant_apps.payments.adapters.base import PspAdapter
from tenant_apps.payments.adapters.sandbox import SandboxAdapter
from tenant_apps.payments.adapters.stripe import StripeAdapter

ADAPTERS: dict[str, type[PspAdapter]] = {
    SandboxAdapter.kind: SandboxAdapter,
    StripeAdapter.kind: StripeAdapter,
    BankWireAdapter.kind: BankWireAdapter,
}
# Kinds whose PSP calls us back (the webhook endpoint refuses the others).
WEBHOOK_KINDS = frozenset({SandboxAdapter.kind, StripeAdapter.kind})


def adapter_class(kind: str) -> type[PspAdapter]:
    try:
        return ADAPTERS[kind]
    except KeyError:
        raise LookupError(f"No PSP adapter for kind {kind!r}.") from None
