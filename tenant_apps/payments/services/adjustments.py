"""Manual adjustments of a client wallet by Finance: a reason category and a note, always; above the threshold a
Manager (never the maker) approves before money moves. Support reads them; nobody edits one."""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from tenancy.context import require_tenant
from tenant_apps.identity.permissions import PermissionDeniedError, permission_require
from tenant_apps.ledger.errors import InsufficientAvailableBalance
from tenant_apps.ledger.models import AccountKind
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import Adjustment, AdjustmentCategory
from tenant_apps.payments.services._flow import InsufficientBalance, money_rules, roles_of, wallet_of


class AdjustmentRefused(PaymentsError):
    code = "adjustment_refused"


def _apply(adjustment: Adjustment, *, actor) -> None:
    from tenant_apps.ledger.services import account_get_or_create, ledger_post

    wallet = wallet_of(client_id=adjustment.client_id, currency=adjustment.currency)
    house = account_get_or_create(kind=AccountKind.MANUAL_ADJUSTMENTS, owner=None, currency=adjustment.currency)
    try:
        entry = ledger_post(idempotency_key=f"adjustment:{adjustment.pk}", lines=[(wallet, adjustment.amount),
                            (house, -adjustment.amount)], kind="adjustment.manual",
                            description=f"{adjustment.get_category_display()}: {adjustment.note}"[:500],
                            reference=adjustment, actor=actor)
    except InsufficientAvailableBalance as exc:
        raise InsufficientBalance("Insufficient available balance for this debit.") from exc
    adjustment.entry_id = entry.pk
    adjustment.status = "applied"


def adjustment_create(*, actor, client, amount: Decimal, currency: str, category: str, note: str) -> Adjustment:
    from tenant_apps.audit.services import audit_lock, audit_record

    require_tenant()
    permission_require(actor, "payments", "adjust")
    if category not in AdjustmentCategory.values:
        raise AdjustmentRefused("Choose a reason category.", code="category_required")
    if not note.strip():
        raise AdjustmentRefused("A note explaining the adjustment is required.", code="note_required")
    if not amount:
        raise AdjustmentRefused("The amount cannot be zero.", code="amount_zero")
    if client.kind != "client":
        raise AdjustmentRefused("Adjustments are made to client wallets.", code="not_a_client")
    with transaction.atomic():
        audit_lock()
        adjustment = Adjustment.objects.create(client=client, amount=amount, currency=currency.upper(),
                                               category=category, note=note.strip(), created_by=actor)
        needs_approval = abs(amount) > money_rules().adjustment_approval_over
        if not needs_approval:
            _apply(adjustment, actor=actor)
            adjustment.save(update_fields=["status", "entry_id"])
        audit_record(action="adjustment.created", obj=adjustment, actor=actor, subject=client.pk,
                     reason=f"{category}: {note.strip()}"[:500],
                     changes={"amount": [None, str(amount)], "status": [None, adjustment.status]})
        return adjustment


def adjustment_decide(*, adjustment: Adjustment, actor, approve: bool, reason: str = "") -> Adjustment:
    from tenant_apps.audit.services import audit_lock, audit_record

    if "manager" not in roles_of(actor):
        raise PermissionDeniedError("payments", "adjust")
    with transaction.atomic():
        audit_lock()
        adjustment = Adjustment.objects.select_for_update().get(pk=adjustment.pk)
        if adjustment.status != "pending_approval":
            raise AdjustmentRefused(f"This adjustment is already {adjustment.status}.", code="already_decided")
        if adjustment.created_by_id == actor.pk:
            raise AdjustmentRefused("The maker of an adjustment cannot approve it.", code="maker_checker")
        adjustment.decided_by, adjustment.decided_at = actor, timezone.now()
        if approve:
            _apply(adjustment, actor=actor)
        else:
            adjustment.status = "rejected"
        adjustment.save(update_fields=["status", "entry_id", "decided_by", "decided_at"])
        audit_record(action="adjustment.approved" if approve else "adjustment.rejected", obj=adjustment, actor=actor,
                     subject=adjustment.client_id, reason=reason, changes={"status": ["pending_approval",
                                                                                       adjustment.status]})
        return adjustment
