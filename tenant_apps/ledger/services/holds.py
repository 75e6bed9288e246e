"""Holds: reserve available balance, release it, or capture it (post the entry and close the hold at once)."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db import connection, transaction
from django.db.models.functions import Now

from tenancy.context import require_tenant
from tenant_apps.ledger.currencies import amount_validate
from tenant_apps.ledger.errors import (
    CurrencyMismatch,
    HoldCaptureInvalid,
    HoldNotActive,
    HoldNotAllowed,
    IdempotencyConflict,
    InsufficientAvailableBalance,
    InvalidAccount,
    InvalidEntry,
)
from tenant_apps.ledger.models import HOLDABLE_KINDS, Hold, HoldStatus, JournalEntry, LedgerAccount
from tenant_apps.ledger.services._common import (
    Line,
    accounts_lock,
    actor_id_of,
    at_precision,
    audit,
    clean_text,
    entry_fingerprint,
    fingerprint_of,
    key_validate,
    kind_validate,
    legs_parse,
    reference_parse,
    subject_of,
)
from tenant_apps.ledger.services.entries import entry_replay, post_locked
from tenant_apps.ledger.states import hold_can_move


def hold_replay(key: str, fingerprint: str) -> Hold | None:
    hold = Hold.objects.filter(idempotency_key=key).first()
    if hold is None:
        return None
    if hold.fingerprint != fingerprint:
        raise IdempotencyConflict(f"Idempotency key {key!r} was already used for a different hold (#{hold.pk}).",
                                  idempotency_key=key, hold_id=hold.pk)
    hold.replayed = True
    return hold


def hold_lock(hold: Hold) -> Hold:
    current = Hold.objects.select_for_update(no_key=True).filter(pk=hold.pk).first()
    if current is None or current.idempotency_key != hold.idempotency_key:
        raise InvalidEntry(f"Hold {hold.pk} does not exist in this brokerage.", hold_id=hold.pk)
    return current


def hold_place(*, account: LedgerAccount, amount: Decimal, idempotency_key: str, reason: str = "",
               reference=None, actor=None, currency: str | None = None) -> Hold:
    """Reserve `amount` of a client account's available balance (checked under the account's row lock).

    Returns the hold (`.replayed` True when the key was already used for this same hold). Raises
    InsufficientAvailableBalance, HoldNotAllowed, InvalidAmount, CurrencyMismatch, IdempotencyConflict."""
    require_tenant()
    key = key_validate(idempotency_key)
    if not isinstance(account, LedgerAccount) or account.pk is None:
        raise InvalidAccount("A hold is placed on a saved LedgerAccount.")
    if account.kind not in HOLDABLE_KINDS:
        raise HoldNotAllowed(f"Holds are placed on client and IB accounts, not on {account.kind}.", kind=account.kind)
    if currency is not None and currency != account.currency:
        raise CurrencyMismatch(f"A {currency} hold cannot be placed on a {account.currency} account.",
                               currency=currency, account_currency=account.currency)
    amount = amount_validate(amount, currency=account.currency, decimal_places=account.decimal_places, positive=True)
    ref = reference_parse(reference)
    fingerprint = fingerprint_of({"hold": account.pk, "amount": str(amount), "reference": list(ref)})
    replay = hold_replay(key, fingerprint)
    if replay is not None:
        return replay
    table = Hold._meta.db_table
    with transaction.atomic():
        row = accounts_lock([account])[account.pk]
        available = at_precision(row.balance - row.held, row)
        if amount > available:
            replay = hold_replay(key, fingerprint)
            if replay is not None:
                return replay
            raise InsufficientAvailableBalance(
                f"Insufficient available balance: {available} {row.currency} available, {amount} needed.",
                account_id=row.pk, available=available, requested=amount, currency=row.currency,
            )
        created_by = actor_id_of(actor)
        reason = clean_text(reason or "")
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (account_id, amount, currency, decimal_places, status, idempotency_key, "
                f"fingerprint, reason, object_type, object_id, created_by_id) "
                f"VALUES (%s, %s, %s, %s, 'active', %s, %s, %s, %s, %s, %s) "
                f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, created_at",
                [row.pk, amount, row.currency, row.decimal_places, key, fingerprint, reason, ref[0], ref[1], created_by],
            )
            inserted = cursor.fetchone()
        if inserted is None:
            replay = hold_replay(key, fingerprint)
            if replay is None:
                raise IdempotencyConflict(f"Idempotency key {key!r} is being used concurrently; retry.",
                                          idempotency_key=key)
            return replay
        hold = Hold(id=inserted[0], account=row, amount=amount, currency=row.currency, decimal_places=row.decimal_places,
                    status=HoldStatus.ACTIVE, idempotency_key=key, fingerprint=fingerprint, reason=reason,
                    object_type=ref[0], object_id=ref[1], created_at=inserted[1], created_by_id=created_by)
        hold._state.adding = False
        hold.replayed = False
        audit(action="ledger.hold_placed", object_type="ledger.hold", object_id=hold.pk, actor=actor, reason=reason,
              subject=subject_of([row]),
              changes={"status": [None, HoldStatus.ACTIVE], "amount": [None, amount], "currency": row.currency,
                       "account": row.pk, "idempotency_key": key,
                       "reference": list(ref) if ref[0] else None})
    return hold


def hold_release(*, hold: Hold, reason: str = "", actor=None) -> Hold:
    """Give a hold's amount back to the available balance. Releasing a released hold is a no-op (returns it);
    a captured hold raises HoldNotActive."""
    require_tenant()
    with transaction.atomic():
        accounts_lock([hold.account])
        current = hold_lock(hold)
        if current.status == HoldStatus.RELEASED:
            current.replayed = True
            return current
        if not hold_can_move(current.status, HoldStatus.RELEASED):
            raise HoldNotActive(f"Hold {current.pk} is {current.status}; only an active hold can be released.",
                                hold_id=current.pk, status=current.status)
        Hold.objects.filter(pk=current.pk).update(status=HoldStatus.RELEASED, closed_at=Now())
        current.refresh_from_db()
        current.replayed = False
        audit(action="ledger.hold_released", object_type="ledger.hold", object_id=current.pk, actor=actor,
              reason=clean_text(reason or ""), subject=subject_of([hold.account]),
              changes={"status": [HoldStatus.ACTIVE, HoldStatus.RELEASED], "amount": current.amount})
    return current


def hold_capture(*, hold: Hold, idempotency_key: str, lines: Sequence[Line], kind: str, description: str = "",
                 reference=None, actor=None, metadata: dict | None = None) -> JournalEntry:
    """Spend a hold: post `lines` and close the hold, atomically. The lines must debit the held account by
    at most the hold's amount (the rest is released). Returns the entry (`.replayed` True on a replay).

    Raises HoldNotActive (released, or captured under another key), HoldCaptureInvalid, and ledger_post's errors.
    """
    require_tenant()
    key, kind = key_validate(idempotency_key), kind_validate(kind)
    legs = legs_parse(lines)
    captured = -sum((leg.amount for leg in legs if leg.account_id == hold.account_id), Decimal(0))
    if captured <= 0:
        raise HoldCaptureInvalid(f"A capture debits the held account ({hold.account_id}); these lines don't.",
                                 hold_id=hold.pk)
    ref = reference_parse(reference)
    fingerprint = entry_fingerprint(kind=kind, legs=legs, reference=ref, capture=hold.pk)
    replay = entry_replay(key, fingerprint)
    if replay is not None:
        return replay
    with transaction.atomic():
        rows = accounts_lock([hold.account, *(leg.account for leg in legs)])
        current = hold_lock(hold)
        if not hold_can_move(current.status, HoldStatus.CAPTURED):
            replay = entry_replay(key, fingerprint)
            if replay is not None:
                return replay
            raise HoldNotActive(f"Hold {current.pk} is {current.status}; only an active hold can be captured.",
                                hold_id=current.pk, status=current.status)
        if captured > current.amount:
            raise HoldCaptureInvalid(f"The capture debits {captured} {current.currency}, more than the {current.amount} held.",
                                     hold_id=current.pk, captured=captured, held=current.amount)

        def close_hold(entry: JournalEntry) -> None:
            # Before the lines: the hold's amount leaves `held` as the debit leaves `balance`.
            Hold.objects.filter(pk=current.pk).update(status=HoldStatus.CAPTURED, closed_at=Now(),
                                                      captured_amount=captured, capture_entry_id=entry.pk)

        entry = post_locked(rows=rows, key=key, fingerprint=fingerprint, kind=kind, legs=legs, description=description,
                            reference=ref, actor=actor, metadata=metadata, released={hold.account_id: current.amount},
                            before_lines=close_hold)
        if not entry.replayed:
            audit(action="ledger.hold_captured", object_type="ledger.hold", object_id=current.pk, actor=actor,
                  reason=entry.description, subject=subject_of([rows[hold.account_id]]),
                  changes={"status": [HoldStatus.ACTIVE, HoldStatus.CAPTURED], "amount": current.amount,
                           "captured_amount": captured, "entry": entry.pk})
    return entry
