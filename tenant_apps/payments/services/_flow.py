"""Shared steps of the money workflows: rules, method selection, ledger accounts, moving a state with history."""
from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.utils import timezone, translation

from tenant_apps.ledger.models import AccountKind, Owner
from tenant_apps.ledger.services import account_get_or_create
from tenant_apps.payments import states
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import Deposit, MoneyEvent, MoneyRules, Withdrawal


class TransitionRefused(PaymentsError):
    code = "transition_not_allowed"


class InsufficientBalance(PaymentsError):
    code = "insufficient_available_balance"


def money_rules() -> MoneyRules:
    rules = MoneyRules.objects.order_by("pk").first()
    return rules if rules is not None else MoneyRules.objects.create()


def new_reference(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(5).upper()}"


def roles_of(user) -> frozenset[str]:
    if user is None:
        return frozenset({states.SYSTEM})
    if getattr(user, "kind", "") == "client":
        return frozenset({"client"})
    return frozenset(r.code for r in user.roles.all())


def wallet_of(*, client_id: int, currency: str):
    return account_get_or_create(kind=AccountKind.CLIENT_WALLET, owner=Owner.client(client_id), currency=currency)


def clearing_of(*, provider_code: str, currency: str):
    return account_get_or_create(kind=AccountKind.PSP_CLEARING, owner=Owner.provider(provider_code), currency=currency)


def method_fee(method, amount: Decimal) -> Decimal:
    fee = amount * method.fee_percent / Decimal(100) + method.fee_fixed
    return fee.quantize(Decimal("0.01"))


def _move(obj, *, target: str, transition, actor, source: str, client_text: str, staff_note: str, extra_fields=()):
    if not states.may_move(transition, roles_of(actor)):
        raise TransitionRefused(f"{type(obj).__name__} {obj.reference} cannot move {obj.status} → {target} "
                                f"by {', '.join(sorted(roles_of(actor)))}.")
    before = obj.status
    obj.status = target
    obj.status_changed_at = timezone.now()
    obj.save(update_fields=["status", "status_changed_at", *extra_fields])
    kwargs = {"deposit": obj} if isinstance(obj, Deposit) else {"withdrawal": obj}
    # Stored in the catalogue's source language (whoever acts, in whatever language): shown translated to each reader.
    with translation.override(settings.LANGUAGE_CODE):
        stored_text = str(client_text)[:300]
    event = MoneyEvent.objects.create(**kwargs, from_status=before, to_status=target, client_text=stored_text,
                                      staff_note=staff_note, actor=actor if getattr(actor, "pk", None) else None,
                                      source=source[:40])
    from tenant_apps.notifications.money import money_event_notify

    # The client hears of every stage, in this transaction: a step that rolls back never notifies.
    money_event_notify(obj=obj, status=target, client_text=client_text, source=source)
    return event


def deposit_move(deposit: Deposit, *, target: str, actor=None, source: str = "system", client_text: str = "",
                 staff_note: str = "", extra_fields=()) -> MoneyEvent:
    """Move a (locked) deposit along states.DEPOSIT_TRANSITIONS and record the step."""
    return _move(deposit, target=target, transition=states.deposit_transition(deposit.status, target), actor=actor,
                 source=source, client_text=client_text or states.DEPOSIT_CLIENT_STATUS[target],
                 staff_note=staff_note, extra_fields=extra_fields)


def withdrawal_move(withdrawal: Withdrawal, *, target: str, actor=None, source: str = "system",
                    client_text: str = "", staff_note: str = "", extra_fields=()) -> MoneyEvent:
    return _move(withdrawal, target=target, transition=states.withdrawal_transition(withdrawal.status, target),
                 actor=actor, source=source, client_text=client_text or states.WITHDRAWAL_CLIENT_STATUS[target],
                 staff_note=staff_note, extra_fields=extra_fields)
