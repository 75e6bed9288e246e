"""Every write of the commission capability: plans and versions, IB → plan assignments, computing a period
(accrue / recompute with adjustments), approving a period into the ledger and paying IBs into their wallets."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from tenancy.context import require_tenant
from tenant_apps.commissions import engine
from tenant_apps.commissions.errors import CommissionsError, InvalidPlan, NothingToPay
from tenant_apps.commissions.models import (
    AccrualKind,
    AccrualStatus,
    CommissionAccrual,
    CommissionApproval,
    CommissionPayout,
    CommissionPlan,
    CommissionRule,
    CommissionRun,
    PlanAssignment,
    PlanVersion,
    RuleKind,
)
from tenant_apps.identity.permissions import permission_require


def _audit(**kwargs):
    from tenant_apps.audit.services import audit_record

    return audit_record(**kwargs)


def _audit_lock():
    from tenant_apps.audit.services import audit_lock

    audit_lock()


def _aware(value: datetime) -> datetime:
    """A naive moment is the brokerage's wall clock."""
    if timezone.is_naive(value):
        return value.replace(tzinfo=engine.tenant_zone())
    return value


def _decimal(value, *, field: str, minimum: Decimal = Decimal(0), maximum: Decimal | None = None) -> Decimal:
    try:
        number = Decimal(str(value).strip() or "0")
    except (InvalidOperation, TypeError) as exc:
        raise InvalidPlan(f"{field}: {value!r} is not a number.", field=field) from exc
    if not number.is_finite() or number < minimum or (maximum is not None and number > maximum):
        bound = f" and at most {maximum}" if maximum is not None else ""
        raise InvalidPlan(f"{field} must be at least {minimum}{bound}.", field=field)
    return number


# --- plans ---------------------------------------------------------------------------------------------------

def _rules_clean(rules: list[dict]) -> list[dict]:
    from tenant_apps.brokerage.models import AccountType

    cleaned = []
    for index, rule in enumerate(rules, start=1):
        kind = rule.get("kind")
        if kind not in RuleKind.values:
            raise InvalidPlan(f"Rule {index}: unknown kind {kind!r} (one of {', '.join(RuleKind.values)}).",
                              field="kind")
        level = int(rule.get("level") or 0)
        if kind == RuleKind.OVERRIDE and level < 1:
            raise InvalidPlan(f"Rule {index}: an override is for an upline level (1 = the parent IB).", field="level")
        if kind != RuleKind.OVERRIDE and level != 0:
            raise InvalidPlan(f"Rule {index}: a {kind} rule pays the client's own IB (level 0).", field="level")
        per_lot = _decimal(rule.get("per_lot", 0), field=f"Rule {index} per lot")
        percent = _decimal(rule.get("percent", 0), field=f"Rule {index} percent", maximum=Decimal(100))
        if kind == RuleKind.REBATE and percent:
            raise InvalidPlan(f"Rule {index}: a rebate is an amount per lot, not a percent.", field="percent")
        if kind == RuleKind.REVENUE_SHARE and per_lot:
            raise InvalidPlan(f"Rule {index}: a revenue share is a percent, not an amount per lot.", field="per_lot")
        if kind == RuleKind.OVERRIDE and per_lot and percent:
            raise InvalidPlan(f"Rule {index}: an override is either a percent of the child's commission or an amount "
                              f"per lot, not both.", field="percent")
        symbols = rule.get("symbols") or []
        if isinstance(symbols, str):
            symbols = [s.strip().upper() for s in symbols.replace(";", ",").split(",") if s.strip()]
        account_type = rule.get("account_type")
        if account_type not in (None, ""):
            account_type = AccountType.objects.filter(pk=getattr(account_type, "pk", account_type)).first()
            if account_type is None:
                raise InvalidPlan(f"Rule {index}: no such account type.", field="account_type")
        else:
            account_type = None
        cleaned.append({"kind": kind, "level": level, "per_lot": per_lot, "percent": percent, "symbols": symbols,
                        "symbol_group": str(rule.get("symbol_group") or "")[:60], "account_type": account_type})
    return cleaned


VERSION_FIELDS = ("exclude_own_trades", "min_hold_seconds", "hedged_pairs_once", "include_swap_in_revenue",
                  "cap_per_period", "cpa_amount", "cpa_min_first_deposit", "cpa_min_lots", "cpa_within_days", "note")


def _version_terms(terms: dict) -> dict:
    out = {}
    for key in VERSION_FIELDS:
        if key not in terms:
            continue
        value = terms[key]
        if key in ("cap_per_period", "cpa_min_first_deposit", "cpa_min_lots"):
            value = None if value in (None, "") else _decimal(value, field=key)
        elif key == "cpa_amount":
            value = _decimal(value or 0, field=key)
        elif key in ("min_hold_seconds", "cpa_within_days"):
            value = None if value in (None, "") and key == "cpa_within_days" else int(value or 0)
            if value is not None and value < 0:
                raise InvalidPlan(f"{key} cannot be negative.", field=key)
        elif key == "note":
            value = str(value or "")[:300]
        else:
            value = bool(value)
        out[key] = value
    return out


@transaction.atomic
def plan_create(*, actor, name: str, currency: str = "USD", description: str = "", valid_from: datetime,
                rules: list[dict], terms: dict | None = None, request=None) -> CommissionPlan:
    """A new plan with its first version (open-ended from `valid_from`)."""
    require_tenant()
    permission_require(actor, "commissions", "manage")
    name, currency = (name or "").strip(), (currency or "").strip().upper()
    if not name:
        raise InvalidPlan("Give the plan a name.", field="name")
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidPlan("The currency is a three-letter code, e.g. USD.", field="currency")
    if CommissionPlan.objects.filter(name__iexact=name).exists():
        raise InvalidPlan(f"A plan named {name!r} exists already.", field="name")
    cleaned = _rules_clean(rules)
    version_terms = _version_terms(terms or {})
    _audit_lock()
    plan = CommissionPlan.objects.create(name=name[:120], currency=currency, description=description,
                                         created_by=actor)
    version = PlanVersion.objects.create(plan=plan, valid_from=_aware(valid_from), created_by=actor, **version_terms)
    CommissionRule.objects.bulk_create([CommissionRule(version=version, **r) for r in cleaned])
    _audit(action="commissions.plan_created", obj=plan, actor=actor, request=request,
           changes={"name": [None, plan.name], "currency": [None, currency], "version": [None, version.pk],
                    "rules": [None, len(cleaned)]})
    return plan


@transaction.atomic
def plan_version_add(*, actor, plan: CommissionPlan, valid_from: datetime, rules: list[dict],
                     terms: dict | None = None, request=None) -> PlanVersion:
    """New terms for the plan from `valid_from`: the version open at that moment ends there. Deals before it keep
    the old terms; a later version cannot be rewritten from here."""
    require_tenant()
    permission_require(actor, "commissions", "manage")
    valid_from = _aware(valid_from)
    cleaned = _rules_clean(rules)
    version_terms = _version_terms(terms or {})
    _audit_lock()
    versions = list(PlanVersion.objects.select_for_update().filter(plan=plan).order_by("valid_from"))
    if any(v.valid_from >= valid_from for v in versions):
        raise InvalidPlan("A version starting at or after that moment exists already.", field="valid_from")
    current = next((v for v in versions if v.valid_to is None or v.valid_to > valid_from), None)
    old_to = None
    if current is not None:
        old_to = current.valid_to
        current.valid_to = valid_from
        current.save(update_fields=["valid_to"])
    try:
        with transaction.atomic():
            version = PlanVersion.objects.create(plan=plan, valid_from=valid_from, valid_to=old_to, created_by=actor,
                                                 **version_terms)
    except IntegrityError as exc:
        raise InvalidPlan("These dates overlap another version of the plan.", field="valid_from") from exc
    CommissionRule.objects.bulk_create([CommissionRule(version=version, **r) for r in cleaned])
    _audit(action="commissions.plan_version_added", obj=version, actor=actor, request=request,
           changes={"plan": [None, plan.name], "valid_from": [None, valid_from.isoformat()],
                    "previous_version": [None, current.pk if current else None], "rules": [None, len(cleaned)]})
    return version


@transaction.atomic
def plan_assign(*, actor, partner, plan: CommissionPlan, valid_from: datetime, request=None) -> PlanAssignment:
    """The IB is on `plan` from `valid_from` (its current plan interval ends there). Deals before it keep the
    old plan: a mid-month change splits the month by deal time."""
    require_tenant()
    permission_require(actor, "commissions", "manage")
    valid_from = _aware(valid_from)
    _audit_lock()
    rows = list(PlanAssignment.objects.select_for_update().filter(partner=partner).order_by("valid_from"))
    if any(r.valid_from >= valid_from for r in rows):
        raise InvalidPlan("A plan change at or after that moment is recorded already.", field="valid_from")
    current = next((r for r in rows if r.valid_to is None or r.valid_to > valid_from), None)
    if current is not None and current.plan_id == plan.pk:
        raise InvalidPlan(f"The IB is already on {plan.name} then.", field="plan")
    old_to = None
    if current is not None:
        old_to = current.valid_to
        current.valid_to = valid_from
        current.save(update_fields=["valid_to"])
    assignment = PlanAssignment.objects.create(partner=partner, plan=plan, valid_from=valid_from, valid_to=old_to,
                                               assigned_by=actor)
    _audit(action="commissions.plan_assigned", obj=assignment, actor=actor, request=request, subject=partner.user_id,
           changes={"plan": [current.plan.name if current else None, plan.name],
                    "valid_from": [None, valid_from.isoformat()]})
    return assignment


# --- computing -----------------------------------------------------------------------------------------------

def _run(*, period: date, mode: str, since: datetime | None, client_ids, actor, reason: str) -> CommissionRun:
    require_tenant()
    scope = engine.scope_for(period=period, since=since, client_ids=client_ids)
    with transaction.atomic():
        # Lock order everywhere: the period, then the audit trail (approvals take them the same way).
        engine.period_lock(period)
        engine.session_tune()
        run = CommissionRun.objects.create(period=period, mode=mode, since=since, reason=reason[:300],
                                           started_by=actor if getattr(actor, "pk", None) else None)
        started = timezone.now()
        engine.expected_build(scope)
        if mode == CommissionRun.Mode.ACCRUE:
            run.accruals_written = engine.accrue_new(scope=scope, run_id=run.pk)
        else:
            originals, adjustments, total = engine.adjust_differences(scope=scope, run_id=run.pk)
            run.accruals_written, run.adjustments_written, run.adjustments_total = originals, adjustments, total
        run.duration_ms = int((timezone.now() - started).total_seconds() * 1000)
        run.save(update_fields=["accruals_written", "adjustments_written", "adjustments_total", "duration_ms"])
        _audit_lock()
        _audit(action=f"commissions.period_{'accrued' if mode == 'accrue' else 'recomputed'}", obj=run,
               actor=actor if actor is not None else "commissions", reason=reason[:300],
               changes={"period": [None, f"{period:%Y-%m}"], "since": [None, since.isoformat() if since else None],
                        "accruals": [None, run.accruals_written], "adjustments": [None, run.adjustments_written],
                        "adjustments_total": [None, str(run.adjustments_total)]})
    return run


def commission_period_accrue(*, period: date, actor=None, reason: str = "") -> CommissionRun:
    """Accrue the period's deals that have no accrual yet (the scheduled run; safe to repeat)."""
    if actor is not None:
        permission_require(actor, "commissions", "approve")
    return _run(period=period, mode=CommissionRun.Mode.ACCRUE, since=None, client_ids=None, actor=actor,
                reason=reason)


def commission_period_recompute(*, period: date, actor=None, since: datetime | None = None, client_ids=None,
                                reason: str = "") -> CommissionRun:
    """Recompute the period (from `since`, for some clients) and write the differences against what is accrued
    as adjustment rows — never editing a row. Idempotent: a second run finds no difference and writes nothing."""
    if actor is not None:
        permission_require(actor, "commissions", "approve")
    return _run(period=period, mode=CommissionRun.Mode.RECOMPUTE, since=since, client_ids=client_ids, actor=actor,
                reason=reason)


def on_reassignment_approved(*, request_id: int, client_id: int | None, effective_at: datetime, mode: str) -> None:
    """partners' hook, after the approval committed. "recalculate": the recomputation is queued for the commissions
    worker (a parent-IB change recomputes whole periods for everyone — not work for the manager's request);
    "future_only": nothing retroactive — deals already accrued keep their IB."""
    if mode != "recalculate":
        return
    from tenant_apps.commissions.tasks import commissions_reassignment_recompute

    commissions_reassignment_recompute.send(request_id, client_id, effective_at.isoformat())


def reassignment_recompute(*, request_id: int, client_id: int | None, effective_at: datetime) -> list[CommissionRun]:
    """Every period from the effective moment's to the current one recomputed from that moment (for the client,
    or everyone for a parent-IB change): differences become adjustment rows. Idempotent — a repeated message
    finds no difference. Periods with nothing accrued yet are left to the scheduled accrual."""
    runs = []
    period, last = engine.period_of(effective_at), engine.period_of(timezone.now())
    while period <= last:
        if CommissionAccrual.objects.filter(period=period).exists():
            runs.append(commission_period_recompute(
                period=period, since=effective_at, client_ids=[client_id] if client_id is not None else None,
                reason=f"reassignment request #{request_id} (recalculate)"))
        period = engine.period_next(period)
    return runs


# --- money ---------------------------------------------------------------------------------------------------

def _payable(partner_user_id: int, currency: str):
    from tenant_apps.ledger.models import AccountKind, Owner
    from tenant_apps.ledger.services import account_get_or_create

    return account_get_or_create(kind=AccountKind.IB_COMMISSIONS_PAYABLE, owner=Owner.ib(partner_user_id),
                                 currency=currency)


def _expense(currency: str):
    # The brokerage's cost of IB commissions is booked against its revenue (a debit of broker revenue).
    from tenant_apps.ledger.models import AccountKind
    from tenant_apps.ledger.services import account_get_or_create

    return account_get_or_create(kind=AccountKind.BROKER_REVENUE, owner=None, currency=currency)


def commission_period_approve(*, period: date, actor, request=None) -> CommissionApproval:
    """Approve the period's accrued rows (deal commissions and adjustments): ONE ledger entry debits the
    brokerage and credits each IB's commissions payable by its net. An IB whose net is negative (clawbacks) and
    larger than its unpaid payable keeps its rows accrued — carried forward against later commissions."""
    from tenant_apps.ledger.services import ledger_post
    from tenant_apps.partners.models import Partner

    require_tenant()
    permission_require(actor, "commissions", "approve")
    with transaction.atomic():
        engine.period_lock(period)
        _audit_lock()
        # No row locks needed: everything that writes this period's accrued rows (engine runs, approvals) holds
        # the period lock, and payouts only touch approved rows. Summed in the database (millions of rows).
        rows = CommissionAccrual.objects.filter(period=period, status=AccrualStatus.ACCRUED)
        nets = defaultdict(Decimal)
        for partner_id, currency, amount in (rows.order_by().values_list("partner_id", "currency")
                                             .annotate(net=Sum("amount")).values_list("partner_id", "currency", "net")):
            nets[(partner_id, currency)] += amount
        if not nets:
            raise CommissionsError(f"Nothing accrued to approve in {period:%Y-%m}.", code="nothing_to_approve")
        users = dict(Partner.objects.filter(pk__in={p for p, _ in nets}).values_list("pk", "user_id"))
        lines, carried, totals = [], [], defaultdict(Decimal)
        for (partner_id, currency), net in sorted(nets.items()):
            if net == 0:
                continue
            payable = _payable(users[partner_id], currency)
            if net < 0 and payable.available < -net:
                carried.append({"partner_id": partner_id, "currency": currency, "net": str(net),
                                "payable": str(payable.available)})
                continue
            lines.append((payable, net))
            totals[currency] += net
        for currency, total in totals.items():
            if total:
                lines.append((_expense(currency), -total))
        approval = CommissionApproval.objects.create(period=period, approved_by=actor, carried_forward=carried,
                                                     totals={c: str(t) for c, t in totals.items()})
        left = Q()
        for c in carried:
            left |= Q(partner_id=c["partner_id"], currency=c["currency"])
        updated = (rows.exclude(left) if carried else rows).update(status=AccrualStatus.APPROVED, approval=approval)
        entry = None
        if lines:
            entry = ledger_post(idempotency_key=f"commissions:approval:{approval.pk}", lines=lines,
                                kind="commissions.approved", reference=approval, actor=actor,
                                description=f"IB commissions {period:%Y-%m} approved")
        approval.rows, approval.entry = updated, entry
        approval.save(update_fields=["rows", "entry"])
        _audit(action="commissions.period_approved", obj=approval, actor=actor, request=request,
               changes={"period": [None, f"{period:%Y-%m}"], "rows": [None, updated],
                        "totals": [None, approval.totals], "carried_forward": [None, len(carried)]})
    return approval


def commission_payout(*, partner, currency: str, actor, request=None) -> CommissionPayout:
    """Pay the IB everything approved and unpaid in `currency`: its commissions payable → its wallet (from there
    it withdraws through the ordinary withdrawal workflow)."""
    from tenant_apps.ledger.models import AccountKind, Owner
    from tenant_apps.ledger.services import account_get_or_create, ledger_transfer

    require_tenant()
    permission_require(actor, "commissions", "pay")
    currency = (currency or "").upper()
    with transaction.atomic():
        _audit_lock()
        rows = CommissionAccrual.objects.select_for_update().filter(
            partner=partner, currency=currency, status=AccrualStatus.APPROVED)
        locked = list(rows.values_list("pk", "amount"))
        amount = sum((a for _, a in locked), Decimal(0))
        if amount <= 0:
            raise NothingToPay(f"{partner.code} has no approved {currency} commission to pay.")
        payable = _payable(partner.user_id, currency)
        if payable.available < amount:
            raise NothingToPay(f"{partner.code}'s commissions payable ({payable.available} {currency}) is below the "
                               f"approved amount {amount}; approve the period first.")
        payout = CommissionPayout.objects.create(partner=partner, amount=amount, currency=currency,
                                                 rows=len(locked), paid_by=actor)
        CommissionAccrual.objects.filter(pk__in=[pk for pk, _ in locked]).update(status=AccrualStatus.PAID,
                                                                                 payout=payout)
        wallet = account_get_or_create(kind=AccountKind.CLIENT_WALLET, owner=Owner.client(partner.user_id),
                                       currency=currency)
        payout.entry = ledger_transfer(idempotency_key=f"commissions:payout:{payout.pk}", source=payable,
                                       destination=wallet, amount=amount, kind="commissions.paid", reference=payout,
                                       actor=actor, description=f"IB commission payout to {partner.code}")
        payout.save(update_fields=["entry"])
        _audit(action="commissions.paid", obj=payout, actor=actor, request=request, subject=partner.user_id,
               changes={"amount": [None, str(amount)], "currency": [None, currency], "rows": [None, len(locked)]})
    return payout


def commission_payout_request(*, partner, method, amount: Decimal, currency: str, **destination):
    """The IB withdraws from its wallet: exactly the clients' withdrawal workflow (holds, review, PSP payout)."""
    from tenant_apps.payments.services.withdrawals import withdrawal_request

    return withdrawal_request(client=partner.user, method=method, amount=amount, currency=currency, **destination)


def period_default() -> date:
    """The period before the current one (the one usually being closed)."""
    today = engine.period_of(timezone.now())
    return engine.period_of(datetime(today.year, today.month, 1, tzinfo=engine.tenant_zone()) - timedelta(days=1))


__all__ = [
    "AccrualKind", "plan_create", "plan_version_add", "plan_assign", "commission_period_accrue",
    "commission_period_recompute", "on_reassignment_approved", "commission_period_approve", "commission_payout",
    "commission_payout_request", "period_default",
]
