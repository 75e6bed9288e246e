"""Internal transfers: the rules every transfer shares and wallet ↔ wallet of one client in one currency.

Transfers with a trading account on either side (wallet ↔ trading, trading ↔ trading) are in
trading_transfers.py — `transfer_request` there is the one entry point for any pair and calls
`transfer_between_wallets` below for two wallets. `transfer_blocked_reason` is the single place every
direction asks whether the client may move money at all.
"""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from tenancy.context import require_tenant
from tenant_apps.identity.permissions import PermissionDeniedError
from tenant_apps.ledger.errors import InsufficientAvailableBalance
from tenant_apps.ledger.models import AccountKind, LedgerAccount, Owner, OwnerType
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import Transfer
from tenant_apps.payments.services._flow import InsufficientBalance, new_reference


class TransferRefused(PaymentsError):
    code = "transfer_refused"


def transfer_blocked_reason(*, client, source: LedgerAccount) -> str:
    """Why money may not leave `source` now ("" when it may)."""
    from tenant_apps.compliance.selectors import client_may

    allowed, why = client_may(client, "transfer")
    if not allowed:
        return why
    if getattr(client, "is_active", True) is False:
        return "Your account is deactivated."
    return ""


def _owned(client, account: LedgerAccount) -> bool:
    return (account.kind == AccountKind.CLIENT_WALLET and account.owner_type == OwnerType.CLIENT
            and account.owner_id == str(client.pk))


def transfer_between_wallets(*, client, source: LedgerAccount, destination: LedgerAccount,
                             amount: Decimal) -> Transfer:
    from tenant_apps.audit.services import audit_lock, audit_record
    from tenant_apps.ledger.services import ledger_transfer

    require_tenant()
    if not (_owned(client, source) and _owned(client, destination)):
        raise PermissionDeniedError("payments", "view")  # never someone else's account (no IDOR)
    blocked = transfer_blocked_reason(client=client, source=source)
    if blocked:
        raise TransferRefused(blocked, code="source_restricted")
    if source.pk == destination.pk:
        raise TransferRefused("Choose two different accounts.", code="same_account")
    if source.currency != destination.currency:
        raise TransferRefused("Transfers stay in one currency. A conversion needs an exchange rate and no rate source "
                              "is configured for this brokerage (we never make one up).", code="no_rate_source")
    with transaction.atomic():
        audit_lock()
        reference = new_reference("TR")
        try:
            entry = ledger_transfer(idempotency_key=f"transfer:{reference}", source=source, destination=destination,
                                    amount=amount, kind="transfer.internal", description=f"Transfer {reference}",
                                    reference=("payments.transfer", reference), actor=client)
        except InsufficientAvailableBalance as exc:
            transaction.set_rollback(True)
            raise InsufficientBalance("Insufficient available balance for this transfer.") from exc
        transfer = Transfer.objects.create(client=client, reference=reference, source_account=source,
                                           destination_account=destination, status="completed",
                                           amount=amount, currency=source.currency, entry_id=entry.pk)
        audit_record(action="transfer.made", obj=transfer, actor=client, subject=client.pk,
                     changes={"amount": [None, str(amount)]})
        return transfer


def client_wallets(*, client) -> list[LedgerAccount]:
    from tenant_apps.ledger.selectors import accounts_of_owner

    return [a for a in accounts_of_owner(owner=Owner.client(client.pk)) if a.kind == AccountKind.CLIENT_WALLET]
