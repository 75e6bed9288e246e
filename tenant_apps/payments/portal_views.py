"""Trader's Room money pages (/money/…): balances, deposit, withdraw, transfer, history. Thin: services decide."""
from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.translation import gettext

from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import PermissionDeniedError
from tenant_apps.ledger.errors import LedgerError
from tenant_apps.payments import selectors, states
from tenant_apps.payments.adapters.base import PspError
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import PaymentMethod
from tenant_apps.payments.services import deposits, trading_transfers, withdrawals
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
            messages.error(request, gettext("Choose a payment method, a currency and a positive amount."))
        else:
            try:
                target = (request.POST.get("target") or "wallet").strip()
                if target != "wallet":  # one of the client's active live trading accounts in that currency
                    trading_transfers.deposit_target_account(client=user, login=target, currency=currency)
                deposit = deposits.deposit_start(
                    client=user, method=method, amount=amount, currency=currency, country=_country(user),
                    payer_name=request.POST.get("payer_name", ""),
                    target_trading_login="" if target == "wallet" else target,
                    return_url=request.build_absolute_uri(reverse("money_deposit_return")))
            except (PaymentsError, PspError) as exc:
                messages.error(request, exc.message)
            else:
                return redirect(deposit.hosted_url or reverse("money_deposit", args=[deposit.pk]))
    return render(request, "payments/deposit_start.html", {
        "methods": methods, "targets": [row for row in selectors.transfer_endpoints(client=user, live=False)
                                        if row["kind"] == "trading" and row["usable"]],
    }, status=200 if request.method == "GET" else 400)


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
        "deposit": deposit, "status_line": selectors.deposit_status_line(deposit), "events": deposit.events.all(),
        "wire": selectors.wire_instructions(deposit)})


@client_required
def withdraw(request):
    user = request.user
    methods = methods_for_client(user=user, direction="withdrawal", country=_country(user))
    status = 200
    if request.method == "POST":
        method = next((m for m in methods if m.code == request.POST.get("method")), None)
        amount = _amount(request.POST.get("amount"))
        if method is None or amount is None:
            messages.error(request, gettext("Choose a payment method and a positive amount."))
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
        "eta": w.method.processing_time, "may_cancel": w.status in ("requested", "under_review"),
        "expected_at": _withdrawal_expected_at(w)})


def _withdrawal_expected_at(w):
    """When the money should arrive (send time, or now while not yet sent, plus the method's processing time);
    None once there is nothing more to wait for."""
    from tenant_apps.notifications.money import withdrawal_expected_at

    return withdrawal_expected_at(w) if w.status in ("requested", "under_review", "approved", "sent") else None


def _transfer_end(user, key: str, endpoints: dict):
    """A form's source/destination: "w<pk>" (or a bare pk) for a wallet, "t<pk>" for a trading account —
    looked up among the client's own only, so anything else is simply unknown."""
    key = (key or "").strip()
    row = endpoints.get(key) or endpoints.get(f"w{key}")
    return row["object"] if row else None


def _transfer_page(request, *, status=200, result=None):
    user = request.user
    return render(request, "payments/transfer.html", {
        "endpoints": selectors.transfer_endpoints(client=user), "transfers": selectors.transfers_for_client(client=user),
        "statuses": states.TRANSFER_CLIENT_STATUS, "result": result, "form": request.POST if status != 200 else {},
        # a one-time token per rendered form: a double submit or a resent POST returns the first transfer
        "idempotency_key": uuid.uuid4().hex,
    }, status=status)


@client_required
def transfer(request):
    """Between the client's wallets and live trading accounts (services: transfers / trading_transfers)."""
    user = request.user
    if request.method != "POST":
        done = request.GET.get("done", "")
        result = user.transfers.filter(pk=int(done)).first() if done.isdigit() else None
        return _transfer_page(request, result=result)
    endpoints = {row["key"]: row for row in selectors.transfer_endpoints(client=user, live=False)}
    source = _transfer_end(user, request.POST.get("source", ""), endpoints)
    destination = _transfer_end(user, request.POST.get("destination", ""), endpoints)
    amount = _amount(request.POST.get("amount"))
    if source is None or destination is None or amount is None:
        messages.error(request, gettext("Choose two of your wallets or trading accounts and a positive amount."))
        return _transfer_page(request, status=400)
    try:
        made = trading_transfers.transfer_request(client=user, source=source, destination=destination, amount=amount,
                                                  idempotency_key=request.POST.get("idempotency_key", "").strip())
    except (PaymentsError, LedgerError, PermissionDeniedError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return _transfer_page(request, status=409 if isinstance(exc, trading_transfers.IdempotencyKeyReused)
                              else 400)
    return redirect(f"{reverse('money_transfer')}?done={made.pk}")


@client_required
def statement(request):
    def day(raw: str):
        try:
            return parse_date(raw) if raw else None
        except ValueError:  # well formed but no such day (2026-02-30): treated as no filter, and said so
            messages.error(request, gettext("%(value)s is not a date: that filter was ignored.") % {"value": raw})
            return None

    filters = {"currency": request.GET.get("currency", ""), "kind": request.GET.get("kind", ""),
               "date_from": day(request.GET.get("from", "")), "date_to": day(request.GET.get("to", ""))}
    if request.GET.get("format") == "pdf":
        from tenant_apps.payments.statement_pdf import client_statement_pdf

        pdf = client_statement_pdf(client=request.user, currency=filters["currency"], date_from=filters["date_from"],
                                   date_to=filters["date_to"])
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="statement.pdf"'
        return response
    rows = selectors.client_statement(client=request.user, **filters)
    if request.GET.get("format") == "csv":
        response = HttpResponse(selectors.statement_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="statement.csv"'
        return response
    return render(request, "payments/statement.html", {"rows": rows, "filters": request.GET})


_ = PaymentMethod
