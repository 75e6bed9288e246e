"""Writes on brokerages: status changes (suspend, resume, archive, activate) and the platform audit trail."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tenancy.context import platform_context
from tenancy.errors import ReasonRequired, TransitionNotAllowed
from tenancy.models import Brokerage, PlatformAuditEvent
from tenancy.states import TRANSITIONS


def platform_audit(*, actor=None, actor_label: str = "", action: str, brokerage: Brokerage | None = None,
                   brokerage_slug: str = "", old_value: str = "", new_value: str = "", reason: str = "",
                   source_ip: str | None = None) -> PlatformAuditEvent:
    label = actor_label or (getattr(actor, "email", "") if actor is not None else "") or "system"
    return PlatformAuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=label,
        action=action,
        brokerage=brokerage,
        brokerage_slug=brokerage_slug or (brokerage.slug if brokerage else ""),
        old_value=old_value,
        new_value=new_value,
        reason=reason,
        source_ip=source_ip,
    )


def brokerage_change_status(*, brokerage_id: int, action: str, actor=None, actor_label: str = "",
                            reason: str = "", source_ip: str | None = None) -> Brokerage:
    """Apply one lifecycle transition under a row lock, audited. Raises TransitionNotAllowed/ReasonRequired."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise TransitionNotAllowed(f"Unknown action '{action}'.")
    reason = (reason or "").strip()
    if transition.needs_reason and not reason:
        raise ReasonRequired(f"A reason is required to {action} a brokerage.", field="reason")
    with platform_context(), transaction.atomic():
        brokerage = Brokerage.objects.select_for_update().get(pk=brokerage_id)
        if not brokerage.is_brokerage:
            raise TransitionNotAllowed(f"'{brokerage.slug}' is not a brokerage.")
        if brokerage.status not in transition.source:
            raise TransitionNotAllowed(
                f"Cannot {action} '{brokerage.slug}': it is {brokerage.get_status_display().lower()}."
            )
        old = brokerage.status
        brokerage.status = transition.target
        brokerage.status_reason = reason
        brokerage.updated_at = timezone.now()
        brokerage.save(update_fields=["status", "status_reason", "updated_at"])
        platform_audit(actor=actor, actor_label=actor_label, action=f"brokerage.{action}", brokerage=brokerage,
                       old_value=old, new_value=brokerage.status, reason=reason, source_ip=source_ip)
    return brokerage
