"""Reconciliation: the PSPs' settlement reports against our deposits and payouts, and the trading platform's
balances against the ledger's trading-account mirrors. Every difference becomes a Discrepancy for Finance with
both sides recorded; nothing is corrected here. A matched deposit moves credited → reconciled through the
state machine (states.DEPOSIT_TRANSITIONS). Re-running a day finds the same keys and creates nothing new.

Matching by the PSP's id: a settlement line of type "payment" is ours when a credited (or reconciled) deposit
of that provider has its provider_payment_id, whatever day it was credited; a deposit credited on the day whose
id the report lacks is "ledger_only". Payouts: a "payout" line (negative amount) against a withdrawal sent or
received with that provider_payout_id; a withdrawal sent on the day and missing from the report is "ledger_only".
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from tenancy.context import require_tenant
from tenant_apps.payments.models import Deposit, Discrepancy, DiscrepancyKind, MoneyEvent, Withdrawal

log = logging.getLogger(__name__)

DEPOSIT_BOOKED = ("credited", "reconciled")
PAYOUT_BOOKED = ("sent", "received")


@dataclass
class RunResult:
    day: date
    matched: int = 0
    reconciled: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)  # new ones only
    skipped: list[str] = field(default_factory=list)               # sources that could not be read


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _money(value) -> str:
    return "" if value is None else str(value)


def _open(result: RunResult, *, day: date, source: str, kind: str, reference: str, currency: str = "",
          our_amount=None, their_amount=None, our_side=None, their_side=None, deposit=None, withdrawal=None):
    """Record a discrepancy unless this (day, source, kind, reference) is already known (open or resolved)."""
    if Discrepancy.objects.filter(day=day, source=source, kind=kind, reference=reference).exists():
        return
    from tenant_apps.audit.services import audit_lock, audit_record

    try:
        with transaction.atomic():
            audit_lock()
            case = Discrepancy.objects.create(
                day=day, source=source, kind=kind, reference=reference[:255], currency=currency,
                our_amount=our_amount, their_amount=their_amount, our_side=our_side or {},
                their_side=their_side or {}, deposit=deposit, withdrawal=withdrawal)
            audit_record(action="reconciliation.discrepancy_found", obj=case, actor="reconciliation",
                         changes={"kind": kind, "reference": reference, "our_amount": _money(our_amount),
                                  "their_amount": _money(their_amount), "currency": currency},
                         subject=deposit.client_id if deposit else (withdrawal.client_id if withdrawal else None))
    except IntegrityError:  # a concurrent run recorded it first
        return
    result.discrepancies.append(case)


def _deposit_side(d: Deposit) -> dict:
    return {"deposit": d.reference, "status": d.status, "amount": str(d.amount), "currency": d.currency,
            "provider_payment_id": d.provider_payment_id}


def _withdrawal_side(w: Withdrawal) -> dict:
    return {"withdrawal": w.reference, "status": w.status, "amount": str(w.amount), "currency": w.currency,
            "provider_payout_id": w.provider_payout_id}


def _line_side(line) -> dict:
    return {"line": line.provider_line_id, "type": line.type, "payment_id": line.provider_payment_id,
            "reference": line.reference, "amount": str(line.amount), "fee": str(line.fee), "net": str(line.net),
            "currency": line.currency, "settled_at": line.settled_at.isoformat() if line.settled_at else ""}


def _reconcile_deposit(deposit_pk: int) -> bool:
    from tenant_apps.audit.services import audit_lock, audit_record
    from tenant_apps.payments.services._flow import deposit_move

    with transaction.atomic():
        audit_lock()
        deposit = Deposit.objects.select_for_update().get(pk=deposit_pk)
        if deposit.status != "credited":
            return False
        deposit_move(deposit, target="reconciled", source="reconciliation",
                     staff_note="Matched the PSP's settlement report.")
        audit_record(action="deposit.reconciled", obj=deposit, actor="reconciliation", subject=deposit.client_id,
                     changes={"status": ["credited", "reconciled"]})
    return True


def reconcile_psp_day(*, provider_code: str, lines, day: date, result: RunResult) -> None:
    """Compare one provider's settlement lines of `day` with our deposits and payouts."""
    source = f"psp:{provider_code}"
    start, end = _bounds(day)
    payments = {line.provider_payment_id: line for line in lines if line.type == "payment"}
    payouts = {line.provider_payment_id: line for line in lines if line.type == "payout"}

    deposits = {d.provider_payment_id: d for d in Deposit.objects.filter(
        provider_code=provider_code, provider_payment_id__in=list(payments), status__in=DEPOSIT_BOOKED)}
    for payment_id, line in payments.items():
        deposit = deposits.get(payment_id)
        if deposit is None:
            _open(result, day=day, source=source, kind=DiscrepancyKind.PSP_ONLY, reference=payment_id,
                  currency=line.currency, their_amount=line.amount, their_side=_line_side(line),
                  deposit=Deposit.objects.filter(provider_code=provider_code, provider_payment_id=payment_id).first())
        elif deposit.amount != line.amount or deposit.currency != line.currency:
            _open(result, day=day, source=source, kind=DiscrepancyKind.AMOUNT_MISMATCH, reference=payment_id,
                  currency=deposit.currency, our_amount=deposit.amount, their_amount=line.amount,
                  our_side=_deposit_side(deposit), their_side=_line_side(line), deposit=deposit)
        else:
            result.matched += 1
            if deposit.status == "credited" and _reconcile_deposit(deposit.pk):
                result.reconciled += 1
    credited_today = Deposit.objects.filter(
        provider_code=provider_code, status__in=DEPOSIT_BOOKED,
        pk__in=MoneyEvent.objects.filter(to_status="credited", at__gte=start, at__lt=end).values("deposit_id"),
    ).exclude(provider_payment_id__in=list(payments))
    for deposit in credited_today:
        _open(result, day=day, source=source, kind=DiscrepancyKind.LEDGER_ONLY,
              reference=deposit.provider_payment_id or deposit.reference, currency=deposit.currency,
              our_amount=deposit.amount, our_side=_deposit_side(deposit), deposit=deposit)

    withdrawals = {w.provider_payout_id: w for w in Withdrawal.objects.filter(
        provider_code=provider_code, provider_payout_id__in=list(payouts), status__in=PAYOUT_BOOKED)}
    for payout_id, line in payouts.items():
        withdrawal = withdrawals.get(payout_id)
        paid = -line.amount  # money leaving is negative in the report
        if withdrawal is None:
            _open(result, day=day, source=source, kind=DiscrepancyKind.PSP_ONLY, reference=payout_id,
                  currency=line.currency, their_amount=paid, their_side=_line_side(line))
        elif withdrawal.amount != paid or withdrawal.currency != line.currency:
            _open(result, day=day, source=source, kind=DiscrepancyKind.AMOUNT_MISMATCH, reference=payout_id,
                  currency=withdrawal.currency, our_amount=withdrawal.amount, their_amount=paid,
                  our_side=_withdrawal_side(withdrawal), their_side=_line_side(line), withdrawal=withdrawal)
        else:
            result.matched += 1
    sent_today = Withdrawal.objects.filter(
        provider_code=provider_code, status__in=PAYOUT_BOOKED,
        pk__in=MoneyEvent.objects.filter(to_status="sent", at__gte=start, at__lt=end).values("withdrawal_id"),
    ).exclude(provider_payout_id__in=list(payouts))
    for withdrawal in sent_today:
        _open(result, day=day, source=source, kind=DiscrepancyKind.LEDGER_ONLY,
              reference=withdrawal.provider_payout_id or withdrawal.reference, currency=withdrawal.currency,
              our_amount=withdrawal.amount, our_side=_withdrawal_side(withdrawal), withdrawal=withdrawal)


def reconcile_psps(*, day: date, result: RunResult) -> None:
    from tenant_apps.brokerage.models import PaymentProviderConfig
    from tenant_apps.payments.adapters.base import PspError
    from tenant_apps.payments.services import psp_adapter

    for config in PaymentProviderConfig.objects.filter(is_enabled=True).order_by("code"):
        try:
            lines = psp_adapter(provider=config).fetch_settlement_report(day=day)
        except (PspError, NotImplementedError) as exc:  # not supported, not configured, unreachable
            result.skipped.append(f"psp:{config.code}: {exc}")
            log.warning("reconciliation: no settlement report from %s for %s: %s", config.code, day, exc)
            continue
        reconcile_psp_day(provider_code=config.code, lines=lines, day=day, result=result)


def reconcile_trading_balances(*, day: date, result: RunResult) -> None:
    """Each active live account's platform balance (live, else the last synced snapshot) against its ledger
    mirror, where the ledger keeps one."""
    from tenant_apps.ledger.models import AccountKind, Owner
    from tenant_apps.ledger.selectors import account_balance, account_get
    from tenant_apps.trading.adapters.base import TradingPlatformError
    from tenant_apps.trading.models import AccountSnapshot, AccountStatus, TradingAccount
    from tenant_apps.trading.services import adapter_for

    accounts = TradingAccount.objects.filter(status=AccountStatus.ACTIVE, is_demo=False).select_related("server")
    for account in accounts:
        mirror = account_get(kind=AccountKind.CLIENT_TRADING_MIRROR, owner=Owner.trading_account(account.login),
                             currency=account.currency)
        if mirror is None:
            continue
        source = f"platform:{account.server.code}"
        try:
            platform, seen = adapter_for(account.server).get_account_state(account.login).balance, "live"
        except TradingPlatformError:
            snapshot = AccountSnapshot.objects.filter(account=account).first()
            if snapshot is None:
                result.skipped.append(f"{source}: {account.login} unreachable and never synced")
                continue
            platform, seen = snapshot.balance, f"snapshot {snapshot.synced_at.isoformat()}"
        ours = account_balance(account=mirror)
        if Decimal(platform) == ours:
            result.matched += 1
            continue
        _open(result, day=day, source=source, kind=DiscrepancyKind.BALANCE_MISMATCH, reference=str(account.login),
              currency=account.currency, our_amount=ours, their_amount=Decimal(platform),
              our_side={"ledger_account": mirror.pk, "balance": str(ours)},
              their_side={"login": account.login, "balance": str(platform), "read": seen})


def reconciliation_run(*, day: date | None = None) -> RunResult:
    """Reconcile the current brokerage for `day` (default: yesterday, the last complete day, UTC)."""
    require_tenant()
    day = day or (timezone.now().astimezone(UTC).date() - timedelta(days=1))
    result = RunResult(day=day)
    reconcile_psps(day=day, result=result)
    reconcile_trading_balances(day=day, result=result)
    return result


class ResolutionRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def discrepancy_resolve(*, discrepancy: Discrepancy, actor, note: str) -> Discrepancy:
    """Finance closes a case with a mandatory note; the money itself is corrected (if at all) by the usual
    services (an adjustment, a refund), never here."""
    from tenant_apps.audit.services import audit_lock, audit_record
    from tenant_apps.identity.permissions import permission_require

    permission_require(actor, "payments", "reconcile")
    note = (note or "").strip()
    if not note:
        raise ResolutionRefused("A resolution note is required.")
    with transaction.atomic():
        audit_lock()
        case = Discrepancy.objects.select_for_update().get(pk=discrepancy.pk)
        if case.status != Discrepancy.Status.OPEN:
            raise ResolutionRefused("This discrepancy is already resolved.")
        case.status, case.resolution_note = Discrepancy.Status.RESOLVED, note
        case.resolved_by, case.resolved_at = actor, timezone.now()
        case.save(update_fields=["status", "resolution_note", "resolved_by", "resolved_at"])
        audit_record(action="reconciliation.resolved", obj=case, actor=actor, reason=note,
                     changes={"status": ["open", "resolved"], "kind": case.kind, "reference": case.reference})
    return case


def discrepancies_list(*, status: str = "open", limit: int = 200):
    qs = Discrepancy.objects.select_related("deposit", "withdrawal", "resolved_by")
    if status in Discrepancy.Status.values:
        qs = qs.filter(status=status)
    return list(qs[:limit])
