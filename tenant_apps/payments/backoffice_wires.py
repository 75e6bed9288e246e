"""Back-office bank wires (/backoffice/money/wires/…): Finance's queue, statement import and manual entry, one
wire with its candidate deposits. Thin: services/wires.py decides; the matrix's payments.wires rules who."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_date
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.brokerage.models import PaymentProviderConfig
from tenant_apps.identity.permissions import PermissionDeniedError, has_perm
from tenant_apps.ledger.errors import LedgerError
from tenant_apps.payments import selectors
from tenant_apps.payments.adapters.bank_wire import (
    wire_reference_compact,
    wire_reference_format,
    wire_reference_valid,
)
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import WIRE_OPEN, Deposit, IncomingWire, WireStatus
from tenant_apps.payments.services import wires
from tenant_apps.payments.services.wires import StatementRejected

REFUSALS = (PaymentsError, LedgerError, PermissionDeniedError)
AGE_FILTERS = {"": None, "24": 24, "72": 72}


def _status_of(exc) -> int:
    return 403 if isinstance(exc, PermissionDeniedError) else 409


def _bank_accounts():
    return list(PaymentProviderConfig.objects.filter(kind=PaymentProviderConfig.Kind.BANK_WIRE, is_enabled=True)
                .order_by("display_name"))


class WireQueueView(StaffPermissionMixin, View):
    """Open wires first-in first-out, the age class of each (SLA), filters by status, age and currency."""

    permission = ("payments.wires", "view")

    def get(self, request):
        status = request.GET.get("status", "open")
        if status not in ("open", "all", *WireStatus.values):
            status = "open"
        age = request.GET.get("age", "")
        rows = selectors.wires_queue(status=status, older_than_h=AGE_FILTERS.get(age),
                                     currency=request.GET.get("currency", "")[:3])
        return render(request, "payments/bo_wires.html", {
            "rows": rows, "status": status, "age": age, "statuses": WireStatus.choices,
            "counts": selectors.wires_open_counts(), "may_match": has_perm(request.user, "payments.wires", "match"),
            "sla_warn_h": selectors.WIRE_SLA_WARN_H, "sla_breach_h": selectors.WIRE_SLA_BREACH_H})


class WireImportView(StaffPermissionMixin, View):
    """Upload a bank statement CSV (or type in one wire); the summary or every bad row is shown."""

    permission = ("payments.wires", "match")

    def _page(self, request, *, status=200, **extra):
        return render(request, "payments/bo_wires_import.html", {
            "accounts": _bank_accounts(), "imports": selectors.statement_imports_recent(), **extra}, status=status)

    def get(self, request):
        return self._page(request)

    def post(self, request):
        provider_code = request.POST.get("provider", "")
        if request.POST.get("action") == "enter":
            return self._enter(request, provider_code)
        upload = request.FILES.get("statement")
        if upload is None:
            messages.error(request, "Choose the statement file (CSV) to upload.")
            return self._page(request, status=400)
        if upload.size > wires.MAX_STATEMENT_BYTES:
            messages.error(request, "The file is larger than 5 MB.")
            return self._page(request, status=400)
        try:
            record = wires.statement_import(provider_code=provider_code, file_name=upload.name,
                                            content=upload.read(), actor=request.user)
        except StatementRejected as exc:
            messages.error(request, exc.message)
            return self._page(request, status=400, row_errors=exc.errors)
        except REFUSALS as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
            return self._page(request, status=400 if isinstance(exc, PaymentsError) else _status_of(exc))
        return self._page(request, summary=record)

    def _enter(self, request, provider_code: str):
        try:
            amount = Decimal(request.POST.get("amount", "").strip())
        except InvalidOperation:
            amount = None
        value_date = parse_date(request.POST.get("value_date", "") or "") if request.POST.get("value_date") else None
        if amount is None or value_date is None:
            messages.error(request, "Enter the amount (e.g. 1500.00) and the value date (YYYY-MM-DD).")
            return self._page(request, status=400)
        try:
            wire = wires.wire_enter(
                actor=request.user, provider_code=provider_code, value_date=value_date, amount=amount,
                currency=request.POST.get("currency", ""), payer_name=request.POST.get("payer_name", ""),
                payer_account=request.POST.get("payer_account", ""),
                bank_reference=request.POST.get("bank_reference", ""),
                bank_transaction_id=request.POST.get("bank_transaction_id", ""))
        except REFUSALS as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
            return self._page(request, status=400 if isinstance(exc, PaymentsError) else _status_of(exc))
        return redirect("backoffice_money_wire", pk=wire.pk)


class WireDetailView(StaffPermissionMixin, View):
    """One wire: what the bank said, why it waits, candidate deposits; Finance matches, returns or ignores."""

    permission = ("payments.wires", "view")
    write_permission = ("payments.wires", "match")

    def _page(self, request, wire, status=200):
        user = request.user
        is_open = wire.status in WIRE_OPEN
        return render(request, "payments/bo_wires_detail.html", {
            "w": wire, "is_open": is_open,
            "candidates": selectors.wire_candidates(wire=wire) if is_open and not wire.proposed_deposit_id else [],
            "may_match": has_perm(user, "payments.wires", "match"),
            "may_approve": has_perm(user, "payments.wires", "approve") and wire.proposed_by_id != user.pk},
            status=status)

    def _wire(self, pk: int) -> IncomingWire:
        return get_object_or_404(IncomingWire.objects.select_related(
            "deposit__client", "proposed_deposit__client", "proposed_by", "matched_by", "approved_by", "decided_by",
            "entered_by", "statement"), pk=pk)

    def get(self, request, pk: int):
        return self._page(request, self._wire(pk))

    def post(self, request, pk: int):
        wire = self._wire(pk)
        action, note = request.POST.get("action"), request.POST.get("note", "")
        try:
            if action == "match":
                typed = request.POST.get("deposit", "").strip()
                if wire_reference_valid(typed):  # "bw 7q4x 92k" as read out over the phone
                    typed = wire_reference_format(wire_reference_compact(typed))
                deposit = Deposit.objects.filter(reference__iexact=typed).first()
                if deposit is None:
                    raise wires.WireRefused("Choose a deposit (its reference) to match the wire to.",
                                            code="deposit_required")
                wires.wire_match(wire=wire, deposit=deposit, actor=request.user, note=note)
            elif action == "return":
                wires.wire_return(wire=wire, actor=request.user, note=note)
            elif action == "ignore":
                wires.wire_ignore(wire=wire, actor=request.user, note=note)
            elif action == "rematch":
                wires.wire_auto_match(wire_id=wire.pk)
            else:
                raise Http404
        except REFUSALS as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
            return self._page(request, self._wire(pk), status=_status_of(exc))
        return redirect("backoffice_money_wire", pk=pk)


class WireApproveView(StaffPermissionMixin, View):
    """Compliance or a Manager approves (or declines) a match proposed despite a payer-name difference."""

    permission = ("payments.wires", "approve")

    def post(self, request, pk: int):
        wire = get_object_or_404(IncomingWire, pk=pk)
        try:
            if request.POST.get("action") == "decline":
                wires.wire_match_decline(wire=wire, actor=request.user, note=request.POST.get("note", ""))
            else:
                wires.wire_match_approve(wire=wire, actor=request.user, note=request.POST.get("note", ""))
        except REFUSALS as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
            return WireDetailView()._page(request, WireDetailView()._wire(pk), status=_status_of(exc))
        return redirect("backoffice_money_wire", pk=pk)
