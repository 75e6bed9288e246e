"""Deposits: start one at the PSP, settle it from webhooks or the status poll, review, credit the wallet once.

Exactly-once: the deposit row is locked (FOR UPDATE) before any decision, a success is final (a late or stale
failure never overwrites it), and the credit's ledger idempotency key is derived from the PSP payment id —
so a duplicate callback, the poll and a late callback all end in one entry.

Trading accounts (hook for the trading capability): a deposit may name `target_trading_login`. The money is
always credited to the client's wallet first; then every function registered with
`register_deposit_credited_hook(fn)` is called after commit as fn(deposit_id=...) — the trading capability moves
wallet → trading account there with its own idempotent balance operation (key f"deposit:{id}:to-trading").
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from tenancy.context import require_tenant
from tenant_apps.identity.permissions import permission_require
from tenant_apps.payments import states
from tenant_apps.payments.adapters.base import Customer, decline_reason
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import Deposit, PaymentMethod
from tenant_apps.payments.services._flow import (
    clearing_of,
    deposit_move,
    method_fee,
    money_rules,
    new_reference,
    wallet_of,
)

log = logging.getLogger(__name__)
_CREDITED_HOOKS: list[Callable[..., None]] = []


class DepositRefused(PaymentsError):
    code = "deposit_refused"


def register_deposit_credited_hook(fn: Callable[..., None]) -> Callable[..., None]:
    if fn not in _CREDITED_HOOKS:
        _CREDITED_HOOKS.append(fn)
    return fn


def _audit(action: str, deposit: Deposit, *, actor=None, reason: str = "", changes=None):
    from tenant_apps.audit.services import audit_record

    audit_record(action=action, obj=deposit, actor=actor if actor is not None else "payments", reason=reason,
                 changes=changes or {}, subject=deposit.client_id)


def credit_key(deposit: Deposit) -> str:
    return f"psp:{deposit.provider_code}:{deposit.provider_payment_id or deposit.reference}:deposit"


def deposit_start(*, client, method: PaymentMethod, amount: Decimal, currency: str, return_url: str,
                  country: str = "", payer_name: str = "", target_trading_login: str = "") -> Deposit:
    """The client asks to deposit: checks, a Deposit row, the PSP payment (hosted page) → pending_psp."""
    from tenant_apps.compliance.selectors import client_may
    from tenant_apps.payments.services.credentials import psp_adapter, webhook_url
    from tenant_apps.payments.services.methods import methods_for_client

    require_tenant()
    allowed, why = client_may(client, "deposit")
    if not allowed:
        raise DepositRefused(why, code="kyc_not_allowed")
    currency = currency.upper()
    if method not in methods_for_client(user=client, direction="deposit", country=country, currency=currency):
        raise DepositRefused(gettext("This payment method is not available for your country, currency or account state."),
                             code="method_not_available")
    if amount < method.min_amount or (method.max_amount and amount > method.max_amount):
        raise DepositRefused(gettext("The amount must be between %(min)s and %(max)s %(currency)s.") % {
            "min": method.min_amount, "max": method.max_amount, "currency": currency},
                             code="amount_out_of_range")
    if target_trading_login:  # one of the client's own active live trading accounts, in this currency
        from tenant_apps.payments.services.trading_transfers import deposit_target_account

        target_trading_login = str(deposit_target_account(client=client, login=target_trading_login,
                                                          currency=currency).login)
    with transaction.atomic():
        deposit = Deposit.objects.create(client=client, method=method, provider_code=method.provider.code,
                                         reference=_reference_for(method), amount=amount, currency=currency,
                                         fee=method_fee(method, amount), payer_name=payer_name,
                                         target_trading_login=target_trading_login)
        from tenant_apps.payments.models import MoneyEvent
        MoneyEvent.objects.create(deposit=deposit, to_status="initiated", source="client", actor=client,
                                  client_text=states.DEPOSIT_CLIENT_STATUS["initiated"])
        _audit("deposit.initiated", deposit, actor=client, changes={"amount": [None, str(amount)]})
    adapter = psp_adapter(provider=method.provider)
    session = adapter.create_payment(
        amount=amount, currency=currency, reference=deposit.reference,
        customer=Customer(client_id=str(client.pk), email=client.email, name=client.full_name, country=country),
        return_url=return_url, notify_url=webhook_url(provider_code=method.provider.code))
    with transaction.atomic():
        deposit = Deposit.objects.select_for_update().get(pk=deposit.pk)
        deposit.provider_payment_id = session.provider_payment_id
        deposit.hosted_url = session.hosted_url or ""
        if deposit.status == "initiated":  # a callback may already have settled it
            deposit_move(deposit, target="pending_psp", source="client", extra_fields=("provider_payment_id", "hosted_url"),
                         client_text=states.DEPOSIT_WIRE_AWAITING if session.instructions else "")
        else:
            deposit.save(update_fields=["provider_payment_id", "hosted_url"])
    return deposit


def _locked(*, provider_code: str, reference: str = "", provider_payment_id: str = "") -> Deposit | None:
    qs = Deposit.objects.select_for_update().filter(provider_code=provider_code)
    if reference:
        found = qs.filter(reference=reference).first()
        if found is not None:
            return found
    if provider_payment_id:
        return qs.filter(provider_payment_id=provider_payment_id).first()
    return None


def _reference_for(method: PaymentMethod) -> str:
    """A bank wire's reference is typed by the client into their bank: short, checksummed (adapters/bank_wire.py)."""
    if method.provider.kind == "bank_wire":
        from tenant_apps.payments.adapters.bank_wire import wire_reference_new

        return wire_reference_new()
    return new_reference("DEP")


def _review_reasons(deposit: Deposit, *, payer_name: str, risk_flag: bool, name_checked: bool = False) -> list[str]:
    rules = money_rules()
    reasons = []
    if rules.review_first_deposit and not Deposit.objects.filter(
            client_id=deposit.client_id, status__in=["credited", "reconciled"]).exclude(pk=deposit.pk).exists():
        reasons.append("first deposit")
    if deposit.amount > rules.deposit_review_over:
        reasons.append(f"amount over {rules.deposit_review_over} threshold")
    name = (payer_name or deposit.payer_name).strip().casefold()
    if name and not name_checked and deposit.client.full_name and set(name.split()) != set(deposit.client.full_name.casefold().split()):
        reasons.append(f"payer name '{payer_name or deposit.payer_name}' differs from the client's name")
    if risk_flag:
        reasons.append("risk flag from the payment provider")
    return reasons


def _credit(deposit: Deposit, *, actor=None, source: str) -> None:
    """Post the credit (idempotent by PSP payment id) and move to credited. Caller holds the deposit lock."""
    from tenant_apps.ledger.services import ledger_post

    wallet = wallet_of(client_id=deposit.client_id, currency=deposit.currency)
    clearing = clearing_of(provider_code=deposit.provider_code, currency=deposit.currency)
    lines = [(clearing, -deposit.amount), (wallet, deposit.amount - deposit.fee)]
    if deposit.fee:
        from tenant_apps.ledger.models import AccountKind
        from tenant_apps.ledger.services import account_get_or_create
        lines.append((account_get_or_create(kind=AccountKind.FEES, owner=None, currency=deposit.currency), deposit.fee))
    entry = ledger_post(idempotency_key=credit_key(deposit), lines=lines, kind="deposit.credited",
                        description=f"Deposit {deposit.reference}", reference=deposit, actor=actor)
    deposit.credit_entry_id = entry.pk
    deposit_move(deposit, target="credited", actor=actor, source=source, extra_fields=("credit_entry_id",))
    after_credit(deposit)
    for hook in list(_CREDITED_HOOKS):
        transaction.on_commit(lambda hook=hook, pk=deposit.pk: hook(deposit_id=pk))


def after_credit(deposit: Deposit) -> None:
    """The follow-up of a credit inside the same transaction (tests raise here to simulate a crash between the
    ledger credit and what follows it: everything rolls back and the retry completes once)."""


def deposit_payment_succeeded(*, provider_code: str, reference: str = "", provider_payment_id: str = "",
                              amount: Decimal | None = None, currency: str = "", payer_name: str = "",
                              risk_flag: bool = False, source: str = "system", name_checked: bool = False) -> Deposit | None:
    """The PSP says the payment succeeded (webhook or poll). Moves money at most once."""
    from tenant_apps.audit.services import audit_lock

    require_tenant()
    with transaction.atomic():
        audit_lock()
        deposit = _locked(provider_code=provider_code, reference=reference, provider_payment_id=provider_payment_id)
        if deposit is None:
            return None
        if deposit.status in states.DEPOSIT_MONEY_RECEIVED:
            return deposit  # duplicate or late: the money already moved (or is with a reviewer)
        if provider_payment_id and not deposit.provider_payment_id:
            deposit.provider_payment_id = provider_payment_id
            deposit.save(update_fields=["provider_payment_id"])
        deposit_move(deposit, target="succeeded", source=source)
        # name_checked: the caller compared the payer with the client already (bank wires: services/wires.py)
        reasons = _review_reasons(deposit, payer_name=payer_name, risk_flag=risk_flag, name_checked=name_checked)
        if amount is not None and (amount != deposit.amount or (currency and currency.upper() != deposit.currency)):
            reasons.append(f"the provider confirmed {amount} {currency.upper()}, not {deposit.amount} {deposit.currency}")
        if reasons:
            deposit.review_reasons = reasons
            deposit_move(deposit, target="under_review", source=source, staff_note="; ".join(reasons),
                         extra_fields=("review_reasons",))
            _audit("deposit.under_review", deposit, reason="; ".join(reasons))
        else:
            _credit(deposit, source=source)
            _audit("deposit.credited", deposit, changes={"status": ["succeeded", "credited"]})
        return deposit


def deposit_payment_failed(*, provider_code: str, reference: str = "", provider_payment_id: str = "",
                           failure_code: str = "", source: str = "system") -> Deposit | None:
    """The PSP says the payment failed. Never overwrites a success (a stale failure after it is only audited)."""
    from tenant_apps.audit.services import audit_lock

    require_tenant()
    with transaction.atomic():
        audit_lock()
        deposit = _locked(provider_code=provider_code, reference=reference, provider_payment_id=provider_payment_id)
        if deposit is None:
            return None
        if deposit.status in states.DEPOSIT_MONEY_RECEIVED:
            _audit("deposit.stale_failure_ignored", deposit, reason=f"{source}: {failure_code} after success")
            return deposit
        shown = decline_reason(failure_code)
        deposit.failure_reason, deposit.failure_code = shown.reason, failure_code[:64]
        deposit.failure_message, deposit.failure_next_step = str(shown.message), str(shown.next_step)
        deposit_move(deposit, target="failed", source=source, client_text=f"{shown.message} {shown.next_step}",
                     staff_note=f"PSP code: {failure_code}",
                     extra_fields=("failure_reason", "failure_code", "failure_message", "failure_next_step"))
        _audit("deposit.failed", deposit, reason=failure_code)
        return deposit


def deposit_disputed(*, provider_code: str, provider_payment_id: str) -> Deposit | None:
    """A chargeback was opened: recorded on the deposit (a risk signal for withdrawals)."""
    with transaction.atomic():
        deposit = _locked(provider_code=provider_code, provider_payment_id=provider_payment_id)
        if deposit is None or deposit.disputed_at:
            return deposit
        deposit.disputed_at = timezone.now()
        deposit.save(update_fields=["disputed_at"])
        _audit("deposit.disputed", deposit, reason="chargeback opened by the payer's bank")
        return deposit


def deposit_review_decide(*, deposit: Deposit, actor, approve: bool, reason: str = "") -> Deposit:
    """A reviewer credits (approve) or rejects a deposit under review."""
    from tenant_apps.audit.services import audit_lock

    permission_require(actor, "payments", "approve")
    if not approve and not reason.strip():
        raise DepositRefused(gettext("A rejection needs a reason."), code="reason_required")
    with transaction.atomic():
        audit_lock()
        deposit = Deposit.objects.select_for_update().select_related("client").get(pk=deposit.pk)
        if approve:
            _credit(deposit, actor=actor, source="staff")
            _audit("deposit.approved", deposit, actor=actor, reason=reason)
        else:
            deposit_move(deposit, target="rejected", actor=actor, source="staff", client_text=reason,
                         staff_note=reason)
            _audit("deposit.rejected", deposit, actor=actor, reason=reason)
        return deposit


def deposits_poll_pending() -> int:
    """Settle deposits whose callback never came by asking the PSP (payment_status); returns how many settled."""
    from tenant_apps.payments.services.credentials import psp_adapter

    require_tenant()
    rules = money_rules()
    cutoff = timezone.now() - timezone.timedelta(seconds=rules.pending_psp_poll_after_s)
    settled = 0
    for deposit in Deposit.objects.filter(status="pending_psp", status_changed_at__lte=cutoff).exclude(
            provider_payment_id="").order_by("pk")[:200]:
        adapter = psp_adapter(provider=deposit.provider_code)
        if not hasattr(adapter, "payment_status"):
            continue
        try:
            state = adapter.payment_status(deposit.provider_payment_id)
        except Exception:  # the PSP is down: try again next round
            log.warning("status poll of %s failed", deposit.reference, exc_info=True)
            continue
        if state.get("status") == "succeeded":
            deposit_payment_succeeded(provider_code=deposit.provider_code, provider_payment_id=deposit.provider_payment_id,
                                      source="poll")
            settled += 1
        elif (state.get("last_payment_error") or {}).get("code"):
            error = state["last_payment_error"]
            deposit_payment_failed(provider_code=deposit.provider_code, provider_payment_id=deposit.provider_payment_id,
                                   failure_code=error.get("decline_code") or error.get("code"), source="poll")
            settled += 1
    return settled


def _ours(found, data):
    from tenant_apps.payments.webhooks import IgnoreEvent

    if found is None:
        raise IgnoreEvent(f"no deposit with reference {data.reference!r} / payment {data.provider_payment_id!r}")


def deposit_webhook_succeeded(*, event, data) -> None:
    found = deposit_payment_succeeded(provider_code=event.provider_code, reference=data.reference,
                              provider_payment_id=data.provider_payment_id, amount=data.amount, currency=data.currency,
                              payer_name=str((data.metadata or {}).get("payer_name", "")),
                              risk_flag=str((data.metadata or {}).get("risk_flag", "")).lower() == "true",
                              source=f"webhook:{event.event_id}")
    _ours(found, data)


def deposit_webhook_failed(*, event, data) -> None:
    found = deposit_payment_failed(provider_code=event.provider_code, reference=data.reference,
                           provider_payment_id=data.provider_payment_id, failure_code=data.failure_code,
                           source=f"webhook:{event.event_id}")
    _ours(found, data)


def deposit_webhook_disputed(*, event, data) -> None:
    _ours(deposit_disputed(provider_code=event.provider_code, provider_payment_id=data.provider_payment_id), data)


_ = connection  # the schema the hooks run in is the caller's (on_commit keeps the connection's tenant)
