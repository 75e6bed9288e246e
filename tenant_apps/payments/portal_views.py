"""Trader's Room money pages (/money/…): balances, deposit, withdraw, transfer, history. Thin: services decide."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date

from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import PermissionDeniedError
from tenant_apps.ledger.errors import LedgerError
from tenant_apps.payments import selectors, states
from tenant_apps.payments.adapters.base import PspError
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import PaymentMethod
from tenant_apps.payments.services import deposits, transfers, withdrawals
from tenant_apps.payments.services.methods import methods_for_client


def client_required(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if request.user.kind != UserKind.CLIENT:
            raise PermissionDenied  # staff and IBs have no wallet here
        return view(request, *args, **kwargs)
    wrapped.__name__ = view.__name__
    return wrapped


def _country(user) -> str:
    record = getattr(user, "client_record", None)
    return (getattr(record, "country", "") or "").upper()


def _amount(raw) -> Decimal | None:
    try:
        value = Decimal(str(raw or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


@client_required
def money_home(request):
    user = request.user
    return render(request, "payments/money_home.html", {
        "wallets": selectors.wallet_balances(client=user),
        "deposits": user.deposits.select_related("method")[:20],
        "withdrawals": user.withdrawals.select_related("method")[:20],
        "deposit_methods": methods_for_client(user=user, direction="deposit", country=_country(user)),
        "withdrawal_methods": methods_for_client(user=user, direction="withdrawal", country=_country(user)),
        "statuses": states.WITHDRAWAL_CLIENT_STATUS,
    })


@client_required
def deposit_start(request):
    user = request.user
    methods = methods_for_client(user=user, direction="deposit", country=_country(user))
    if request.method == "POST":
        method = next((m for m in methods if m.code == request.POST.get("method")), None)
        amount = _amount(request.POST.get("amount"))
        currency = (request.POST.get("currency") or "").upper()
        if method is None or amount is None or not currency:
            messages.error(request, "Choose a payment method, a currency and a positive amount.")
        else:
            try:
                deposit = deposits.deposit_start(
                    client=user, method=method, amount=amount, currency=currency, country=_country(user),
                    payer_name=request.POST.get("payer_name", ""),
                    return_url=request.build_absolute_uri(reverse("money_deposit_return")))
            except (PaymentsError, PspError) as exc:
                messages.error(request, exc.message)
            else:
                return redirect(deposit.hosted_url or reverse("money_deposit", args=[deposit.pk]))
    return render(request, "payments/deposit_start.html", {"methods": methods}, status=200 if request.method == "GET" else 400)


@client_required
def deposit_return(request):
    """Where the PSP's page sends the client back: straight to the deposit's own page."""
    deposit = request.user.deposits.filter(provider_payment_id=request.GET.get("payment_id", "")).first()
    return redirect(reverse("money_deposit", args=[deposit.pk]) if deposit else reverse("money_home"))


@client_required
def deposit_detail(request, pk: int):
    deposit = selectors.deposit_for_client(client=request.user, pk=pk)
    if deposit is None:
        raise Http404
    return render(request, "payments/deposit_detail.html", {
        "deposit": deposit, "status_line": selectors.deposit_status_line(deposit), "events": deposit.events.all()})


@client_required
def withdraw(request):
    user = request.user
    methods = methods_for_client(user=user, direction="withdrawal", country=_country(user))
    status = 200
    if request.method == "POST":
        method = next((m for m in methods if m.code == request.POST.get("method")), None)
        amount = _amount(request.POST.get("amount"))
        if method is None or amount is None:
            messages.error(request, "Choose a payment method and a positive amount.")
        else:
            try:
                w = withdrawals.withdrawal_request(client=user, method=method, amount=amount,
                                                   currency=request.POST.get("currency", ""),
                                                   holder_name=request.POST.get("holder_name", ""),
                                                   destination_account=request.POST.get("account", ""))
            except PaymentsError as exc:
                messages.error(request, exc.message)
            else:
                return redirect("money_withdrawal", pk=w.pk)
        status = 400
    return render(request, "payments/withdraw.html", {"methods": methods}, status=status)


@client_required
def withdrawal_detail(request, pk: int):
    w = selectors.withdrawal_for_client(client=request.user, pk=pk)
    if w is None:
        raise Http404
    if request.method == "POST" and request.POST.get("action") == "cancel":
        try:
            withdrawals.withdrawal_cancel(withdrawal=w, client=request.user)
        except PaymentsError as exc:
            messages.error(request, exc.message)
        return redirect("money_withdrawal", pk=w.pk)
    return render(request, "payments/withdrawal_detail.html", {
        "w": w, "events": w.events.all(), "status_line": states.WITHDRAWAL_CLIENT_STATUS[w.status],
        "eta": w.method.processing_time, "may_cancel": w.status in ("requested", "under_review")})


@client_required
def transfer(request):
    user = request.user
    wallets = {str(a.pk): a for a in transfers.client_wallets(client=user)}
    if request.method == "POST":
        source, destination = wallets.get(request.POST.get("source", "")), wallets.get(request.POST.get("destination", ""))
        amount = _amount(request.POST.get("amount"))
        if source is None or destination is None or amount is None:
            messages.error(request, "Choose two of your wallets and a positive amount.")
        else:
            try:
                transfers.transfer_between_wallets(client=user, source=source, destination=destination, amount=amount)
            except (PaymentsError, LedgerError, PermissionDeniedError) as exc:
                messages.error(request, getattr(exc, "message", str(exc)))
            else:
                messages.success(request, "Transfer done.")
                return redirect("money_home")
        return render(request, "payments/transfer.html", {"wallets": wallets.values()}, status=400)
    return render(request, "payments/transfer.html", {"wallets": wallets.values()})


@client_required
def statement(request):
    filters = {"currency": request.GET.get("currency", ""), "kind": request.GET.get("kind", ""),
               "date_from": parse_date(request.GET.get("from", "") or "") if request.GET.get("from") else None,
               "date_to": parse_date(request.GET.get("to", "") or "") if request.GET.get("to") else None}
    rows = selectors.client_statement(client=request.user, **filters)
    if request.GET.get("format") == "csv":
        response = HttpResponse(selectors.statement_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="statement.csv"'
        return response
    return render(request, "payments/statement.html", {"rows": rows, "filters": request.GET})


_ = PaymentMethod
