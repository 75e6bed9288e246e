"""The client's notification for each money stage: called by payments at its single transition point
(services/_flow._move) and where a withdrawal is first requested, inside the same transaction — so a stage that
rolls back never notifies, and a replayed webhook (which makes no new transition) never notifies twice."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

log = logging.getLogger(__name__)
DEPOSIT_KINDS = {
    "pending_psp": "deposit.pending",
    "failed": "deposit.failed",
    "under_review": "deposit.under_review",
    "credited": "deposit.credited",
    "rejected": "deposit.rejected",
}
WITHDRAWAL_KINDS = {
    "requested": "withdrawal.requested",
    "under_review": "withdrawal.under_review",
    "approved": "withdrawal.approved",
    "sent": "withdrawal.sent",
    "received": "withdrawal.received",
    "rejected": "withdrawal.rejected",
    "returned": "withdrawal.returned",
    "cancelled": "withdrawal.cancelled",
}


def _url(name: str, pk: int) -> str:
    return reverse(name, kwargs={"pk": pk}, urlconf="platform_core.urls_tenant")


def withdrawal_expected_at(withdrawal, *, sent_at: datetime | None = None) -> datetime:
    """When the money should arrive: the send time (or now, before it is sent) plus the method's processing time."""
    start = sent_at or (withdrawal.status_changed_at if withdrawal.status in ("sent", "received") else None)
    return (start or timezone.now()) + timedelta(minutes=withdrawal.method.processing_minutes or 0)


def _money(amount, currency: str) -> Decimal:
    """At the currency's precision (100.00 USD, 5000 JPY), as the client's statement shows it."""
    from tenant_apps.payments.money import AmountError, exponent

    try:
        places = exponent(currency)
    except AmountError:
        places = 2
    return Decimal(amount).quantize(Decimal(1).scaleb(-places))


def _deposit_context(deposit, status: str, client_text: str) -> dict:
    return {"reference": deposit.reference, "amount": _money(deposit.amount, deposit.currency),
            "currency": deposit.currency, "credited": _money(deposit.amount - (deposit.fee or 0), deposit.currency),
            "reason": (deposit.failure_message if status == "failed" else client_text) or "",
            "next_step": deposit.failure_next_step or "",
            "method": deposit.method.display_name if deposit.method_id else deposit.provider_code}


def _withdrawal_context(withdrawal, status: str, client_text: str) -> dict:
    method = withdrawal.method
    return {"reference": withdrawal.reference, "amount": _money(withdrawal.amount, withdrawal.currency),
            "currency": withdrawal.currency,
            "method": method.display_name, "eta": method.processing_time,
            "expected_date": withdrawal_expected_at(withdrawal, sent_at=timezone.now() if status == "sent" else None),
            "reason": withdrawal.client_reason or client_text}


def money_event_notify(*, obj, status: str, client_text: str = "", source: str = "") -> None:
    """Notify the client of `obj` (a Deposit or Withdrawal) that it reached `status`; other states say nothing.

    In a savepoint: a notification that cannot be made (a bug in a text, say) is logged and never blocks the money
    step it describes — the step's history (MoneyEvent) is on the client's page either way."""
    try:
        with transaction.atomic():
            _notify(obj=obj, status=status, client_text=client_text)
    except Exception:  # noqa: BLE001 - see above: money first
        log.exception("notification of %s %s → %s failed", type(obj).__name__, getattr(obj, "pk", None), status)


def _notify(*, obj, status: str, client_text: str) -> None:
    from tenant_apps.notifications.services import notify
    from tenant_apps.payments.models import Deposit, Withdrawal

    if isinstance(obj, Deposit):
        kind = DEPOSIT_KINDS.get(status)
        if kind is None:
            return
        if status == "pending_psp" and obj.method.provider.kind == "bank_wire":
            kind = "deposit.awaiting_transfer"  # the client's own bank transfer is what we wait for
        key = f"deposit:{obj.pk}:{status}"
        if status == "failed":  # each different decline is news; the same one again (a duplicate) is not
            key += f":{obj.failure_code or obj.failure_reason}"
        notify(obj.client, kind, context=_deposit_context(obj, status, client_text), link=_url("money_deposit", obj.pk),
               dedupe_key=key)
        return
    kind = WITHDRAWAL_KINDS.get(status) if isinstance(obj, Withdrawal) else None
    if kind is None:
        return
    notify(obj.client, kind, context=_withdrawal_context(obj, status, client_text),
           link=_url("money_withdrawal", obj.pk), dedupe_key=f"withdrawal:{obj.pk}:{status}")
