"""Back-office money queues (/backoffice/money/…): deposits under review, withdrawals by stage, adjustments.
Each page names its matrix permission; the services check roles and maker ≠ checker again."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.identity.models import User, UserKind
from tenant_apps.identity.permissions import PermissionDeniedError, has_perm
from tenant_apps.ledger.errors import LedgerError
from tenant_apps.payments import selectors, states
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import Adjustment, AdjustmentCategory, Deposit, Withdrawal
from tenant_apps.payments.services import adjustments, deposits, withdrawals

REFUSALS = (PaymentsError, LedgerError, PermissionDeniedError)


def _message(exc) -> str:
    return getattr(exc, "message", None) or str(exc)


class DepositQueueView(StaffPermissionMixin, View):
    permission = ("payments", "view")
    write_permission = ("payments", "approve")

    def get(self, request):
        return render(request, "payments/bo_deposits.html", {"deposits": selectors.deposits_under_review()})


class DepositDetailView(StaffPermissionMixin, View):
    permission = ("payments", "view")
    write_permission = ("payments", "approve")

    def get(self, request, pk: int):
        deposit = get_object_or_404(Deposit.objects.select_related("client", "method"), pk=pk)
        return render(request, "payments/bo_deposit.html", {"d": deposit, "events": deposit.events.all()})

    def post(self, request, pk: int):
        deposit = get_object_or_404(Deposit, pk=pk)
        action = request.POST.get("action")
        try:
            if action == "claim":
                Deposit.objects.filter(pk=pk, claimed_by__isnull=True).update(claimed_by=request.user)
            elif action in ("approve", "reject"):
                deposits.deposit_review_decide(deposit=deposit, actor=request.user, approve=action == "approve",
                                               reason=request.POST.get("reason", ""))
            else:
                raise Http404
        except REFUSALS as exc:
            messages.error(request, _message(exc))
            return render(request, "payments/bo_deposit.html", {"d": deposit, "events": deposit.events.all()},
                          status=409)
        return redirect("backoffice_money_deposit", pk=pk)


class WithdrawalQueueView(StaffPermissionMixin, View):
    permission = ("payments", "review")

    def get(self, request):
        status = request.GET.get("status", "under_review")
        if status not in states.WITHDRAWAL_CLIENT_STATUS:
            status = "under_review"
        stage = request.GET.get("stage", "")
        rows = selectors.withdrawals_queue(status=status, stage=stage, currency=request.GET.get("currency", ""))
        return render(request, "payments/bo_withdrawals.html", {
            "rows": rows, "status": status, "stage": stage, "stages": states.WITHDRAWAL_STAGES,
            "statuses": states.WITHDRAWAL_CLIENT_STATUS, "amounts": has_perm(request.user, "clients", "view_all")})


class WithdrawalDetailView(StaffPermissionMixin, View):
    permission = ("payments", "review")

    def _page(self, request, w, status=200):
        return render(request, "payments/bo_withdrawal.html", {
            "w": w, "events": w.events.all(), "approvals": w.approvals.select_related("actor")}, status=status)

    def get(self, request, pk: int):
        return self._page(request, get_object_or_404(Withdrawal.objects.select_related("client", "method"), pk=pk))

    def post(self, request, pk: int):
        w = get_object_or_404(Withdrawal.objects.select_related("client", "method"), pk=pk)
        action = request.POST.get("action")
        try:
            if action == "claim":
                withdrawals.withdrawal_claim(withdrawal=w, actor=request.user)
            elif action == "approve":
                withdrawals.withdrawal_approve(withdrawal=w, actor=request.user)
            elif action == "reject":
                withdrawals.withdrawal_reject(withdrawal=w, actor=request.user, reason=request.POST.get("reason", ""))
            else:
                raise Http404
        except REFUSALS as exc:
            messages.error(request, _message(exc))
            w.refresh_from_db()
            return self._page(request, w, status=403 if isinstance(exc, PermissionDeniedError) else 409)
        return redirect("backoffice_money_withdrawal", pk=pk)


class AdjustmentListView(StaffPermissionMixin, View):
    """Support reads adjustments and their reasons; Finance makes them; a Manager approves large ones."""

    permission = ("payments", "view")
    write_permission = ("payments", "adjust")

    def _page(self, request, status=200):
        return render(request, "payments/bo_adjustments.html", {
            "rows": selectors.adjustments_list(), "categories": AdjustmentCategory.choices,
            "may_adjust": has_perm(request.user, "payments", "adjust")}, status=status)

    def get(self, request):
        return self._page(request)

    def post(self, request):
        client = User.objects.filter(kind=UserKind.CLIENT, email__iexact=request.POST.get("client_email", "")).first()
        try:
            amount = Decimal(request.POST.get("amount", ""))
        except InvalidOperation:
            amount = None
        if client is None or amount is None or not amount.is_finite():
            messages.error(request, "Enter an existing client's e-mail and an amount.")
            return self._page(request, status=400)
        try:
            adjustments.adjustment_create(actor=request.user, client=client, amount=amount,
                                          currency=request.POST.get("currency", "USD"),
                                          category=request.POST.get("category", ""), note=request.POST.get("note", ""))
        except REFUSALS as exc:
            messages.error(request, _message(exc))
            return self._page(request, status=400)
        return redirect("backoffice_money_adjustments")


class AdjustmentDecideView(StaffPermissionMixin, View):
    permission = ("payments", "adjust")

    def post(self, request, pk: int):
        adjustment = get_object_or_404(Adjustment, pk=pk)
        try:
            adjustments.adjustment_decide(adjustment=adjustment, actor=request.user,
                                          approve=request.POST.get("action") == "approve",
                                          reason=request.POST.get("reason", ""))
        except REFUSALS as exc:
            messages.error(request, _message(exc))
            return redirect("backoffice_money_adjustments")
        return redirect("backoffice_money_adjustments")


class ReconciliationView(StaffPermissionMixin, View):
    """Both sides of every reconciliation difference; Finance and Managers resolve them with a note."""

    permission = ("payments", "view")

    def get(self, request):
        from tenant_apps.payments.reconciliation import discrepancies_list

        status = request.GET.get("status", "open")
        return render(request, "payments/bo_reconciliation.html", {
            "rows": discrepancies_list(status=status), "status": status,
            "may_resolve": has_perm(request.user, "payments", "reconcile")})


class DiscrepancyResolveView(StaffPermissionMixin, View):
    permission = ("payments", "reconcile")

    def post(self, request, pk: int):
        from tenant_apps.payments.models import Discrepancy
        from tenant_apps.payments.reconciliation import ResolutionRefused, discrepancy_resolve

        case = get_object_or_404(Discrepancy, pk=pk)
        try:
            discrepancy_resolve(discrepancy=case, actor=request.user, note=request.POST.get("note", ""))
        except (ResolutionRefused, *REFUSALS) as exc:
            messages.error(request, _message(exc))
            return redirect("backoffice_money_reconciliation")
        return redirect("backoffice_money_reconciliation")


class TransferListView(StaffPermissionMixin, View):
    """Every internal transfer (read-only): what moved where, each stage's time, platform tickets, and the ones
    that need Finance (needs_attention) with the technical note."""

    permission = ("payments", "view")

    def get(self, request):
        status = request.GET.get("status", "")
        if status not in states.TRANSFER_CLIENT_STATUS:
            status = ""
        return render(request, "payments/bo_transfers.html", {
            "rows": selectors.transfers_list(status=status), "status": status,
            "statuses": states.TRANSFER_CLIENT_STATUS})


class TransferDetailView(StaffPermissionMixin, View):
    """One transfer: both legs in the books (journal entries) and on the platform (our tickets and what the
    platform's deal history shows for each reference now, read-only), and Finance's two resolutions of a transfer
    in needs_attention, each with a mandatory note: retry now, or mark failed and return the money."""

    permission = ("payments", "view")
    write_permission = ("payments", "approve")

    def _page(self, request, transfer, status=200):
        from tenant_apps.payments.services.trading_transfers import transfer_platform_check

        return render(request, "payments/bo_transfer.html", {
            "t": transfer, "entries": selectors.transfer_entries(transfer),
            "legs": transfer_platform_check(transfer) if transfer.status == "needs_attention" else [],
            "may_resolve": transfer.status == "needs_attention" and has_perm(request.user, "payments", "approve")},
            status=status)

    def _get(self, pk: int):
        return get_object_or_404(selectors.transfers_qs(), pk=pk)

    def get(self, request, pk: int):
        return self._page(request, self._get(pk))

    def post(self, request, pk: int):
        from tenant_apps.payments.services import trading_transfers

        transfer = self._get(pk)
        action, note = request.POST.get("action"), request.POST.get("note", "")
        try:
            if action == "retry":
                trading_transfers.transfer_retry_now(transfer=transfer, actor=request.user, note=note)
            elif action == "fail_return":
                trading_transfers.transfer_fail_and_return(transfer=transfer, actor=request.user, note=note)
            else:
                raise Http404
        except REFUSALS as exc:
            messages.error(request, _message(exc))
            return self._page(request, self._get(pk), status=403 if isinstance(exc, PermissionDeniedError) else 409)
        return redirect("backoffice_money_transfer", pk=pk)
