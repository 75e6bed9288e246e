"""Withdrawals: request with a hold from the first second, routing (auto-approve or review with reasons),
staged approvals by role (maker ≠ checker, dual control), payout through the PSP, paid / returned callbacks."""
from __future__ import annotations

import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from tenancy.context import require_tenant
from tenant_apps.identity.permissions import PermissionDeniedError
from tenant_apps.ledger.errors import InsufficientAvailableBalance
from tenant_apps.payments import states
from tenant_apps.payments.adapters.base import PayoutDestination, PspError
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import Deposit, MoneyEvent, PaymentMethod, Withdrawal, WithdrawalApproval
from tenant_apps.payments.services._flow import (
    InsufficientBalance,
    clearing_of,
    money_rules,
    new_reference,
    roles_of,
    wallet_of,
    withdrawal_move,
)

log = logging.getLogger(__name__)


class WithdrawalRefused(PaymentsError):
    code = "withdrawal_refused"


def _audit(action: str, withdrawal: Withdrawal, *, actor=None, reason: str = "", changes=None):
    from tenant_apps.audit.services import audit_record

    audit_record(action=action, obj=withdrawal, actor=actor if actor is not None else "payments", reason=reason,
                 changes=changes or {}, subject=withdrawal.client_id)


def hold_key(withdrawal: Withdrawal) -> str:
    return f"withdrawal:{withdrawal.reference}:hold"


def _kyc_refresh_months() -> int:
    from tenant_apps.brokerage.models import LegalEntity

    entity = LegalEntity.objects.filter(is_default=True).first()
    return int((entity.rules if entity else {}).get("kyc_refresh_months") or 0)


def withdrawal_risk_reasons(*, client, method: PaymentMethod, amount: Decimal) -> list[str]:
    """Why this request must stop for review (empty: it may be approved automatically). Shown to staff."""
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.compliance.states import KycState
    from tenant_apps.identity.selectors import recent_device_change
    from tenant_apps.payments.models import Adjustment

    rules = money_rules()
    reasons = []
    if amount > rules.withdrawal_auto_approve_max:
        reasons.append(f"amount over the auto-approval limit of {rules.withdrawal_auto_approve_max}")
    case = KycCase.objects.filter(client_id=client.pk).first()
    if case is None or case.state != KycState.APPROVED:
        reasons.append("identity not fully verified")
    else:
        months = _kyc_refresh_months()
        if months and case.approved_at and case.approved_at < timezone.now() - timezone.timedelta(days=30 * months):
            reasons.append(f"KYC approved {case.approved_at:%Y-%m-%d}, older than the jurisdiction's {months} months")
    if recent_device_change(client, within=timezone.timedelta(days=rules.device_change_window_days)):
        reasons.append(f"sign-in from a new device in the last {rules.device_change_window_days} days")
    if (Deposit.objects.filter(client_id=client.pk, disputed_at__isnull=False).exists()
            or Adjustment.objects.filter(client_id=client.pk, category="chargeback").exists()):
        reasons.append("chargeback on record")
    if not Withdrawal.objects.filter(client_id=client.pk, status="received").exists():
        reasons.append("first withdrawal")
    deposit_methods = set(Deposit.objects.filter(client_id=client.pk, status__in=["credited", "reconciled"])
                          .values_list("method_id", flat=True))
    if deposit_methods and method.pk not in deposit_methods:
        reasons.append("method differs from the method used to deposit")
    return reasons


def withdrawal_request(*, client, method: PaymentMethod, amount: Decimal, currency: str, holder_name: str = "",
                       destination_account: str = "", destination_kind: str = "bank_account") -> Withdrawal:
    """The client asks to withdraw: funds are held at once (never overdrawn), then the rules route it."""
    from tenant_apps.audit.services import audit_lock
    from tenant_apps.compliance.selectors import client_may
    from tenant_apps.ledger.services import hold_place

    require_tenant()
    allowed, why = client_may(client, "withdraw")
    if not allowed:
        raise WithdrawalRefused(why, code="kyc_not_allowed")
    currency = currency.upper()
    if (not method.is_enabled or method.direction == PaymentMethod.Direction.DEPOSIT or currency not in method.currencies
            or amount < method.min_amount or (method.max_amount and amount > method.max_amount)):
        raise WithdrawalRefused(gettext("This payment method does not take this withdrawal."), code="method_not_available")
    reasons = withdrawal_risk_reasons(client=client, method=method, amount=amount)
    with transaction.atomic():
        audit_lock()
        withdrawal = Withdrawal.objects.create(
            client=client, method=method, provider_code=method.provider.code, reference=new_reference("WD"),
            amount=amount, currency=currency, holder_name=holder_name or client.full_name,
            destination_account=destination_account, destination_kind=destination_kind, review_reasons=reasons)
        withdrawal.hold_key = hold_key(withdrawal)
        withdrawal.save(update_fields=["hold_key"])
        try:
            hold_place(account=wallet_of(client_id=client.pk, currency=currency), amount=amount,
                       idempotency_key=withdrawal.hold_key, reason=f"Withdrawal {withdrawal.reference}",
                       reference=withdrawal, actor=client)
        except InsufficientAvailableBalance as exc:
            transaction.set_rollback(True)
            raise InsufficientBalance(gettext("Insufficient available balance for this withdrawal.")) from exc
        MoneyEvent.objects.create(withdrawal=withdrawal, to_status="requested", source="client", actor=client,
                                  client_text=states.WITHDRAWAL_CLIENT_STATUS["requested"])
        from tenant_apps.notifications.money import money_event_notify

        money_event_notify(obj=withdrawal, status="requested")
        if reasons:
            withdrawal.stage = states.WITHDRAWAL_STAGES[0]
            withdrawal_move(withdrawal, target="under_review", source="rules",
                            client_text=states.STAGE_CLIENT_TEXT[withdrawal.stage], staff_note="; ".join(reasons),
                            extra_fields=("stage",))
        else:
            withdrawal_move(withdrawal, target="approved", source="rules", staff_note="approved automatically")
            _payout_after_commit(withdrawal)
        _audit("withdrawal.requested", withdrawal, actor=client, reason="; ".join(reasons) or "auto-approved",
               changes={"amount": [None, str(amount)], "status": [None, withdrawal.status]})
    return withdrawal


def _payout_after_commit(withdrawal: Withdrawal) -> None:
    from tenancy.workers import send_on_commit
    from tenant_apps.payments.tasks import withdrawal_payout

    send_on_commit(withdrawal_payout, withdrawal.pk)


def _lock(withdrawal: Withdrawal) -> Withdrawal:
    return Withdrawal.objects.select_for_update().select_related("client", "method").get(pk=withdrawal.pk)


def withdrawal_approve(*, withdrawal: Withdrawal, actor) -> Withdrawal:
    """Approve the current stage. Only its roles may; nobody approves twice (maker ≠ checker); above the dual
    control threshold the finance stage needs two different people. The last approval sends the payout."""
    from tenant_apps.audit.services import audit_lock

    with transaction.atomic():
        audit_lock()
        w = _lock(withdrawal)
        if w.status != "under_review":
            raise WithdrawalRefused(f"Withdrawal {w.reference} is {w.status}, not under review.", code="not_under_review")
        if not roles_of(actor) & states.STAGE_ROLES[w.stage]:
            raise PermissionDeniedError("payments", "review")
        if w.client_id == actor.pk:
            raise WithdrawalRefused(gettext("Nobody approves their own withdrawal."), code="maker_checker")
        try:
            with transaction.atomic():
                WithdrawalApproval.objects.create(withdrawal=w, stage=w.stage, actor=actor)
        except IntegrityError as exc:
            raise WithdrawalRefused("You already approved an earlier step of this withdrawal: another person must "
                                    "approve this one (maker ≠ checker).", code="maker_checker") from exc
        stage = w.stage
        index = states.WITHDRAWAL_STAGES.index(stage)
        needed = 2 if (stage == "finance" and w.amount > money_rules().withdrawal_dual_control_over) else 1
        done = WithdrawalApproval.objects.filter(withdrawal=w, stage=stage).count()
        if done < needed:
            MoneyEvent.objects.create(withdrawal=w, from_status=w.status, to_status=w.status, actor=actor,
                                      source="staff", client_text=states.STAGE_CLIENT_TEXT[stage],
                                      staff_note=f"{stage}: approval {done} of {needed} (dual control)")
        elif index + 1 < len(states.WITHDRAWAL_STAGES):
            w.stage = states.WITHDRAWAL_STAGES[index + 1]
            w.claimed_by = None
            w.save(update_fields=["stage", "claimed_by"])
            MoneyEvent.objects.create(withdrawal=w, from_status=w.status, to_status=w.status, actor=actor,
                                      source="staff", client_text=states.STAGE_CLIENT_TEXT[w.stage],
                                      staff_note=f"{stage} stage approved")
        else:
            w.stage = ""
            withdrawal_move(w, target="approved", actor=actor, source="staff", staff_note="finance approved",
                            extra_fields=("stage",))
            _payout_after_commit(w)
        _audit("withdrawal.approved_stage", w, actor=actor, reason=stage)
        return w


def _release(w: Withdrawal, *, actor, reason: str) -> None:
    from tenant_apps.ledger.selectors import hold_get
    from tenant_apps.ledger.services import hold_release

    hold = hold_get(idempotency_key=w.hold_key)
    if hold is not None and hold.status == "active":
        hold_release(hold=hold, reason=reason, actor=actor)


def withdrawal_reject(*, withdrawal: Withdrawal, actor, reason: str) -> Withdrawal:
    from tenant_apps.audit.services import audit_lock

    if not reason.strip():
        raise WithdrawalRefused(gettext("A rejection needs a reason the client will read."), code="reason_required")
    with transaction.atomic():
        audit_lock()
        w = _lock(withdrawal)
        allowed = states.STAGE_ROLES.get(w.stage, frozenset()) if w.status == "under_review" else frozenset(
            {"finance", "manager"})
        if not roles_of(actor) & allowed:
            raise PermissionDeniedError("payments", "review")
        w.client_reason = reason.strip()[:300]
        withdrawal_move(w, target="rejected", actor=actor, source="staff", client_text=f"Rejected: {w.client_reason}",
                        staff_note=reason, extra_fields=("client_reason",))
        _release(w, actor=actor, reason=f"rejected: {reason}")
        _audit("withdrawal.rejected", w, actor=actor, reason=reason)
        return w


def withdrawal_cancel(*, withdrawal: Withdrawal, client) -> Withdrawal:
    from tenant_apps.audit.services import audit_lock

    with transaction.atomic():
        audit_lock()
        w = _lock(withdrawal)
        if w.client_id != client.pk:
            raise PermissionDeniedError("payments", "view")
        withdrawal_move(w, target="cancelled", actor=client, source="client")
        _release(w, actor=client, reason="cancelled by the client")
        _audit("withdrawal.cancelled", w, actor=client)
        return w


def withdrawal_claim(*, withdrawal: Withdrawal, actor) -> Withdrawal:
    with transaction.atomic():
        w = _lock(withdrawal)
        if w.claimed_by_id and w.claimed_by_id != actor.pk:
            raise WithdrawalRefused(gettext("Another reviewer has claimed this withdrawal."), code="claimed")
        w.claimed_by = actor
        w.save(update_fields=["claimed_by"])
        return w


def _mark_sent(w: Withdrawal, *, provider_payout_id: str, source: str) -> None:
    """Capture the hold (the money leaves the wallet for the PSP's clearing) and move to sent. Lock held."""
    from tenant_apps.ledger.selectors import hold_get
    from tenant_apps.ledger.services import hold_capture

    hold = hold_get(idempotency_key=w.hold_key)
    wallet = wallet_of(client_id=w.client_id, currency=w.currency)
    clearing = clearing_of(provider_code=w.provider_code, currency=w.currency)
    hold_capture(hold=hold, idempotency_key=f"withdrawal:{w.reference}:sent", lines=[(wallet, -w.amount),
                 (clearing, w.amount)], kind="withdrawal.sent", description=f"Withdrawal {w.reference}", reference=w)
    w.provider_payout_id = provider_payout_id or w.provider_payout_id
    withdrawal_move(w, target="sent", source=source, extra_fields=("provider_payout_id",))


def withdrawal_payout_send(*, withdrawal_id: int) -> Withdrawal:
    """Send an approved withdrawal through its PSP (the worker's job; idempotent by our reference)."""
    from tenant_apps.audit.services import audit_lock
    from tenant_apps.payments.services.credentials import psp_adapter, webhook_url

    require_tenant()
    w = Withdrawal.objects.select_related("method__provider").get(pk=withdrawal_id)
    if w.status != "approved":
        return w
    destination = PayoutDestination(kind=w.destination_kind, holder_name=w.holder_name, account=w.destination_account)
    adapter = psp_adapter(provider=w.method.provider)
    try:
        result = adapter.create_payout(amount=w.amount, currency=w.currency, reference=w.reference,
                                       destination=destination, notify_url=webhook_url(provider_code=w.provider_code))
    except PspError as exc:
        if exc.retryable:
            raise  # the actor retries with the same reference: the PSP never pays twice
        with transaction.atomic():
            audit_lock()
            w = _lock(w)
            if w.status == "approved":
                w.client_reason = "The payment provider refused the payout."
                withdrawal_move(w, target="returned", source="psp", client_text=w.client_reason,
                                staff_note=f"{exc.code}: {exc.message}", extra_fields=("client_reason",))
                _release(w, actor=None, reason="payout refused by the PSP")
                _audit("withdrawal.payout_refused", w, reason=exc.message)
        return w
    with transaction.atomic():
        audit_lock()
        w = _lock(w)
        if w.status == "approved":
            _mark_sent(w, provider_payout_id=result.provider_payout_id, source="psp")
            _audit("withdrawal.sent", w, reason=result.provider_payout_id)
        return w


def withdrawal_payout_settled(*, provider_code: str, reference: str, provider_payout_id: str, paid: bool,
                              failure_code: str = "", source: str = "system") -> Withdrawal | None:
    """The PSP's payout callback: received, or returned (the money comes back to the wallet, once)."""
    from tenant_apps.audit.services import audit_lock
    from tenant_apps.ledger.services import ledger_post

    with transaction.atomic():
        audit_lock()
        w = (Withdrawal.objects.select_for_update().filter(provider_code=provider_code, reference=reference).first()
             if reference else None)
        if w is None and provider_payout_id:
            w = Withdrawal.objects.select_for_update().filter(provider_code=provider_code,
                                                              provider_payout_id=provider_payout_id).first()
        if w is None or w.status in ("received", "returned", "rejected", "cancelled"):
            return w
        if w.status == "approved":  # the callback beat our own bookkeeping of the send
            if not paid:
                w.client_reason = "Returned by the receiving bank."
                withdrawal_move(w, target="returned", source=source, client_text=w.client_reason,
                                staff_note=failure_code, extra_fields=("client_reason",))
                _release(w, actor=None, reason=f"payout failed: {failure_code}")
                _audit("withdrawal.returned", w, reason=failure_code)
                return w
            _mark_sent(w, provider_payout_id=provider_payout_id, source=source)
        if paid:
            withdrawal_move(w, target="received", source=source)
            _audit("withdrawal.received", w)
        else:
            wallet = wallet_of(client_id=w.client_id, currency=w.currency)
            clearing = clearing_of(provider_code=w.provider_code, currency=w.currency)
            ledger_post(idempotency_key=f"withdrawal:{w.reference}:returned", lines=[(clearing, -w.amount),
                        (wallet, w.amount)], kind="withdrawal.returned", description=f"Returned {w.reference}",
                        reference=w)
            w.client_reason = "Returned by the receiving bank: the amount is back in your wallet."
            withdrawal_move(w, target="returned", source=source, staff_note=failure_code,
                            extra_fields=("client_reason",))
            _audit("withdrawal.returned", w, reason=failure_code)
        return w


def _ours(found, data):
    from tenant_apps.payments.webhooks import IgnoreEvent

    if found is None:
        raise IgnoreEvent(f"no withdrawal with reference {data.reference!r} / payout {data.provider_payment_id!r}")


def withdrawal_webhook_paid(*, event, data) -> None:
    found = withdrawal_payout_settled(provider_code=event.provider_code, reference=data.reference,
                              provider_payout_id=data.provider_payment_id, paid=True, source=f"webhook:{event.event_id}")
    _ours(found, data)


def withdrawal_webhook_failed(*, event, data) -> None:
    found = withdrawal_payout_settled(provider_code=event.provider_code, reference=data.reference,
                              provider_payout_id=data.provider_payment_id, paid=False, failure_code=data.failure_code,
                              source=f"webhook:{event.event_id}")
    _ours(found, data)


def withdrawal_eta(withdrawal: Withdrawal) -> str:
    """What the client reads as the ETA: the method's processing time once sent."""
    return withdrawal.method.processing_time
