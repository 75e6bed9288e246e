"""The back office's own queues: KYC, deposits under review, withdrawals by stage, IB reassignments, leverage
requests and reconciliation discrepancies. Each reads its capability's models; decisions stay on their pages."""
from __future__ import annotations

from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tenant_apps.queues.registry import Column, QueueSpec, register


def _kyc_queryset():
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.compliance.states import KycState

    return KycCase.objects.filter(state=KycState.PENDING_REVIEW)


def _kyc_sla() -> int:
    from tenant_apps.compliance.selectors import review_sla_minutes

    return review_sla_minutes()


def _deposits_queryset():
    from tenant_apps.payments.models import Deposit

    return Deposit.objects.filter(status="under_review")


def _withdrawals_queryset():
    from tenant_apps.payments.models import Withdrawal

    return Withdrawal.objects.filter(status__in=("requested", "under_review"))


def _reassignments_queryset():
    from tenant_apps.partners.models import ReassignmentRequest

    return ReassignmentRequest.objects.filter(status=ReassignmentRequest.Status.PENDING)


def _leverage_queryset():
    from tenant_apps.trading.models import LeverageRequest, LeverageRequestState

    return LeverageRequest.objects.filter(state=LeverageRequestState.PENDING)


def _discrepancies_queryset():
    from tenant_apps.payments.models import Discrepancy

    return Discrepancy.objects.filter(status=Discrepancy.Status.OPEN)


def _money(amount, currency) -> str:
    from tenant_apps.ledger.currencies import currency_minor_units, currency_quantum

    if amount is None:
        return ""
    return f"{amount.quantize(currency_quantum(currency_minor_units(currency or 'USD')))} {currency}".strip()


def _reasons(item) -> str:
    return "; ".join(str(r) for r in (item.review_reasons or []))


STAGE_LABELS = {"support": _("Support"), "compliance": _("Compliance"), "finance": _("Finance")}


def register_builtin_queues() -> None:
    register(QueueSpec(
        code="kyc", label=_("KYC cases"), order=10, permission=("kyc", "view"),
        description=_("Identity checks waiting for a decision."),
        queryset=_kyc_queryset, since=Coalesce("submitted_at", "created_at"), sla_minutes=_kyc_sla,
        detail_url=lambda c: reverse("backoffice_kyc_case", args=[c.pk]),
        client_path="client", risk_path="risk_level", select_related=("client",), holder_field="assignee",
        columns=(Column(_("Approvals"), lambda c: _("1 of 2") if c.first_approval_by_id else "—"),),
    ))
    register(QueueSpec(
        code="deposits", label=_("Deposits under review"), order=20, permission=("payments", "view"),
        description=_("Payments received and held for a check before they are credited."),
        queryset=_deposits_queryset, since="status_changed_at", sla_minutes=4 * 60,
        detail_url=lambda d: reverse("backoffice_money_deposit", args=[d.pk]),
        client_path="client", risk_path="client__kyc_case__risk_level", select_related=("client", "method"),
        holder_field="claimed_by",
        columns=(Column(_("Reference"), lambda d: d.reference), Column(_("Method"), lambda d: d.method.display_name),
                 Column(_("Amount"), lambda d: _money(d.amount, d.currency), money=True),
                 Column(_("Why"), _reasons)),
    ))
    register(QueueSpec(
        code="withdrawals", label=_("Withdrawals"), order=30, permission=("payments", "review"),
        description=_("Withdrawal requests by review stage (Support → Compliance → Finance)."),
        queryset=_withdrawals_queryset, since="created_at", sla_minutes=24 * 60,
        detail_url=lambda w: reverse("backoffice_money_withdrawal", args=[w.pk]),
        client_path="client", risk_path="client__kyc_case__risk_level", select_related=("client", "method"),
        tab_field="stage", tabs=tuple(STAGE_LABELS.items()), holder_field="claimed_by",
        columns=(Column(_("Reference"), lambda w: w.reference),
                 Column(_("Stage"), lambda w: STAGE_LABELS.get(w.stage, _("Routing"))),
                 Column(_("Method"), lambda w: w.method.display_name),
                 Column(_("Amount"), lambda w: _money(w.amount, w.currency), money=True),
                 Column(_("Why"), _reasons)),
    ))
    register(QueueSpec(
        code="reassignments", label=_("IB reassignment requests"), order=40, permission=("partners", "view"),
        description=_("Requests to move a client (or an IB) to another IB, waiting for a manager."),
        queryset=_reassignments_queryset, since="requested_at", sla_minutes=2 * 24 * 60,
        detail_url=lambda r: reverse("backoffice_reassignments") + f"#request-{r.pk}",
        client_path="client", risk_path="client__kyc_case__risk_level",
        select_related=("client", "subject_partner", "from_partner", "to_partner", "requested_by"),
        columns=(Column(_("Kind"), lambda r: r.get_kind_display()),
                 Column(_("IB moving"), lambda r: r.subject_partner.code if r.subject_partner_id else "—"),
                 Column(_("From"), lambda r: r.from_partner.code if r.from_partner_id else "—"),
                 Column(_("To"), lambda r: r.to_partner.code if r.to_partner_id else "—"),
                 Column(_("Requested by"), lambda r: r.requested_by.email)),
    ))
    register(QueueSpec(
        code="leverage", label=_("Leverage requests"), order=50, permission=("trading", "manage"),
        description=_("Leverage changes above the automatic limits, waiting for a decision."),
        queryset=_leverage_queryset, since="created_at", sla_minutes=4 * 60,
        detail_url=lambda r: reverse("backoffice_trading_account", args=[r.account_id]),
        client_path="account__client", risk_path="account__client__kyc_case__risk_level",
        select_related=("account", "account__client"),
        columns=(Column(_("Account"), lambda r: r.account.login),
                 Column(_("Change"), lambda r: f"1:{r.previous} → 1:{r.requested}")),
    ))
    register(QueueSpec(
        code="discrepancies", label=_("Reconciliation discrepancies"), order=60, permission=("payments", "reconcile"),
        description=_("Differences between our books and a PSP or trading server, open until resolved."),
        queryset=_discrepancies_queryset, since="detected_at", sla_minutes=24 * 60,
        detail_url=lambda d: reverse("backoffice_money_reconciliation") + f"#discrepancy-{d.pk}",
        client_path=None, risk_path=None,
        columns=(Column(_("Day"), lambda d: d.day.isoformat()), Column(_("Source"), lambda d: d.source),
                 Column(_("Kind"), lambda d: d.get_kind_display()), Column(_("Reference"), lambda d: d.reference),
                 Column(_("Ours"), lambda d: _money(d.our_amount, d.currency), money=True),
                 Column(_("Theirs"), lambda d: _money(d.their_amount, d.currency), money=True)),
    ))
