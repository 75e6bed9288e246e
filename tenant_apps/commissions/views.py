"""Back-office commission pages (/backoffice/commissions/…): periods (compute, recompute, approve), the plan editor,
payouts. Thin: selectors read, services write; bad input is a message and a 400, never a 500."""
from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.commissions import selectors, services
from tenant_apps.commissions.errors import CommissionsError
from tenant_apps.commissions.models import CommissionPlan, RuleKind
from tenant_apps.identity.permissions import PermissionDeniedError, has_perm


def _moment(raw: str) -> datetime | None:
    """'2026-10-14T00:00' (the brokerage's wall clock) → a naive datetime the services read as local."""
    try:
        return datetime.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _rules_from_post(post) -> list[dict]:
    rules = []
    for kind, level, per_lot, percent, symbols, group in zip(
            post.getlist("rule_kind"), post.getlist("rule_level"), post.getlist("rule_per_lot"),
            post.getlist("rule_percent"), post.getlist("rule_symbols"), post.getlist("rule_group"), strict=False):
        if not kind:
            continue
        if level and not level.strip().isdigit():
            raise CommissionsError("A rule's level is a whole number (0 = the client's own IB).", code="invalid_plan")
        rules.append({"kind": kind, "level": int(level or 0), "per_lot": per_lot or "0", "percent": percent or "0",
                      "symbols": symbols, "symbol_group": group})
    if not rules:
        raise CommissionsError("A plan version needs at least one rule.", code="invalid_plan")
    return rules


def _terms_from_post(post) -> dict:
    terms = {key: post.get(key, "") for key in ("min_hold_seconds", "cap_per_period", "cpa_amount",
                                                  "cpa_min_first_deposit", "cpa_min_lots", "cpa_within_days")
             if key in post}
    for flag in ("exclude_own_trades", "hedged_pairs_once", "include_swap_in_revenue"):
        terms[flag] = post.get(flag) == "on"
    for key in ("min_hold_seconds", "cpa_within_days"):
        if terms.get(key) and not str(terms[key]).strip().isdigit():
            raise CommissionsError(f"{key.replace('_', ' ')} is a whole number.", code="invalid_plan")
    return terms


class PeriodsView(StaffPermissionMixin, View):
    permission = ("commissions", "view")
    write_permission = ("commissions", "approve")

    def _render(self, request, status=200, period=None):
        period = period or services.period_default()
        return render(request, "commissions/backoffice/periods.html", {
            "overview": selectors.periods_overview(), "period": period,
            "by_partner": selectors.period_by_partner(period),
            "approvals": selectors.approvals_recent(),
            "can_approve": has_perm(request.user, "commissions", "approve"),
        }, status=status)

    def get(self, request):
        period = selectors.period_parse(request.GET.get("period", "")) if request.GET.get("period") else None
        return self._render(request, period=period)

    def post(self, request):
        period = selectors.period_parse(request.POST.get("period", ""))
        action = request.POST.get("action", "")
        if period is None or action not in ("accrue", "recompute", "approve"):
            messages.error(request, "Choose a period (YYYY-MM) and an action.")
            return self._render(request, status=400)
        try:
            if action == "accrue":
                run = services.commission_period_accrue(period=period, actor=request.user, reason="back office")
                messages.success(request, f"{period:%Y-%m}: {run.accruals_written} new accruals.")
            elif action == "recompute":
                run = services.commission_period_recompute(period=period, actor=request.user,
                                                           reason=request.POST.get("reason", "back office"))
                messages.success(request, f"{period:%Y-%m}: {run.adjustments_written} adjustments "
                                          f"({run.adjustments_total}), {run.accruals_written} new accruals.")
            else:
                approval = services.commission_period_approve(period=period, actor=request.user, request=request)
                messages.success(request, f"{period:%Y-%m}: {approval.rows} rows approved into IB commissions "
                                          f"payable.")
        except PermissionDeniedError as exc:
            messages.error(request, str(exc))
            return self._render(request, status=403, period=period)
        except CommissionsError as exc:
            messages.error(request, exc.message)
            return self._render(request, status=400, period=period)
        return redirect(f"{request.path}?period={period:%Y-%m}")


class PlanListView(StaffPermissionMixin, View):
    permission = ("commissions", "view")
    write_permission = ("commissions", "manage")

    def _render(self, request, status=200):
        return render(request, "commissions/backoffice/plans.html", {
            "plans": selectors.plans_list(), "rule_kinds": RuleKind.choices,
            "can_manage": has_perm(request.user, "commissions", "manage"), "form": request.POST}, status=status)

    def get(self, request):
        return self._render(request)

    def post(self, request):
        valid_from = _moment(request.POST.get("valid_from", ""))
        try:
            if valid_from is None:
                raise CommissionsError("Give the date and time the plan starts (brokerage time).", code="invalid_plan")
            plan = services.plan_create(actor=request.user, name=request.POST.get("name", ""),
                                        currency=request.POST.get("currency", "USD"),
                                        description=request.POST.get("description", ""), valid_from=valid_from,
                                        rules=_rules_from_post(request.POST), terms=_terms_from_post(request.POST),
                                        request=request)
        except CommissionsError as exc:
            messages.error(request, exc.message)
            return self._render(request, status=400)
        messages.success(request, f"Plan {plan.name} created.")
        return redirect("backoffice_commission_plan", pk=plan.pk)


class PlanDetailView(StaffPermissionMixin, View):
    permission = ("commissions", "view")
    write_permission = ("commissions", "manage")

    def _plan(self, pk) -> CommissionPlan:
        plan = CommissionPlan.objects.filter(pk=pk).first()
        if plan is None:
            raise Http404("No such plan.")
        return plan

    def _render(self, request, plan, status=200):
        return render(request, "commissions/backoffice/plan.html", {
            "plan": plan, "versions": plan.versions.prefetch_related("rules__account_type").order_by("-valid_from"),
            "assignments": plan.assignments.select_related("partner").order_by("-valid_from")[:200],
            "rule_kinds": RuleKind.choices, "can_manage": has_perm(request.user, "commissions", "manage")},
            status=status)

    def get(self, request, pk):
        return self._render(request, self._plan(pk))

    def post(self, request, pk):
        from tenant_apps.partners.models import Partner

        plan = self._plan(pk)
        valid_from = _moment(request.POST.get("valid_from", ""))
        try:
            if valid_from is None:
                raise CommissionsError("Give the date and time it takes effect (brokerage time).", code="invalid_plan")
            if request.POST.get("action") == "assign":
                partner = Partner.objects.filter(code__iexact=request.POST.get("partner_code", "").strip()).first()
                if partner is None:
                    raise CommissionsError("No IB with that code.", code="invalid_plan")
                services.plan_assign(actor=request.user, partner=partner, plan=plan, valid_from=valid_from,
                                     request=request)
                messages.success(request, f"{partner.code} is on {plan.name} from {valid_from:%Y-%m-%d %H:%M}.")
            else:
                services.plan_version_add(actor=request.user, plan=plan, valid_from=valid_from,
                                          rules=_rules_from_post(request.POST), terms=_terms_from_post(request.POST),
                                          request=request)
                messages.success(request, f"New terms from {valid_from:%Y-%m-%d %H:%M}.")
        except CommissionsError as exc:
            messages.error(request, exc.message)
            return self._render(request, plan, status=400)
        return redirect("backoffice_commission_plan", pk=plan.pk)


class PayoutsView(StaffPermissionMixin, View):
    permission = ("commissions", "view")
    write_permission = ("commissions", "pay")

    def _render(self, request, status=200):
        from tenant_apps.commissions.models import CommissionPayout

        return render(request, "commissions/backoffice/payouts.html", {
            "payable": selectors.payable_by_partner(),
            "payouts": CommissionPayout.objects.select_related("partner", "paid_by").order_by("-created_at")[:100],
            "can_pay": has_perm(request.user, "commissions", "pay")}, status=status)

    def get(self, request):
        return self._render(request)

    def post(self, request):
        from tenant_apps.partners.models import Partner

        raw = request.POST.get("partner_id", "")
        partner = Partner.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if partner is None:
            messages.error(request, "Choose an IB to pay.")
            return self._render(request, status=400)
        try:
            payout = services.commission_payout(partner=partner, currency=request.POST.get("currency", ""),
                                                actor=request.user, request=request)
        except CommissionsError as exc:
            messages.error(request, exc.message)
            return self._render(request, status=400)
        messages.success(request, f"Paid {payout.amount} {payout.currency} to {partner.code}'s wallet.")
        return redirect("backoffice_commission_payouts")


def statement_response(statement, fmt: str, filename: str):
    if fmt == "csv":
        response = HttpResponse(statement.csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    if fmt == "pdf":
        response = HttpResponse(statement.pdf(), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}.pdf"'
        return response
    return None


class StatementView(StaffPermissionMixin, View):
    """Staff see an IB's statement (?period=YYYY-MM) as the IB does (clients masked the same way)."""

    permission = ("commissions", "view")

    def get(self, request, pk):
        from tenant_apps.partners.models import Partner

        partner = Partner.objects.select_related("user").filter(pk=pk).first()
        parsed = selectors.period_parse(request.GET.get("period", ""))
        if partner is None or parsed is None:
            raise Http404("No such statement.")
        stmt = selectors.statement(partner, parsed)
        fmt = request.GET.get("format", "")
        response = statement_response(stmt, fmt, f"commissions-{partner.code}-{parsed:%Y-%m}")
        if response is not None:
            return response
        return render(request, "commissions/backoffice/statement.html", {"statement": stmt})
