"""Posting journal entries: idempotent, balanced per currency, under row locks taken in account-id order."""
from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from tenancy.context import require_tenant
from tenant_apps.ledger.currencies import amount_validate
from tenant_apps.ledger.errors import CurrencyMismatch, IdempotencyConflict, InsufficientAvailableBalance
from tenant_apps.ledger.models import JournalEntry, JournalLine, LedgerAccount
from tenant_apps.ledger.services._common import (
    Leg,
    Line,
    accounts_lock,
    actor_id_of,
    at_precision,
    audit_entry,
    available_check,
    clean_text,
    entry_fingerprint,
    key_validate,
    kind_validate,
    legs_parse,
    reference_parse,
)


def entry_replay(key: str, fingerprint: str) -> JournalEntry | None:
    """The entry already posted under this key (marked replayed), None if there is none, or a conflict."""
    entry = JournalEntry.objects.filter(idempotency_key=key).first()
    if entry is None:
        return None
    if entry.fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"Idempotency key {key!r} was already used for a different entry (#{entry.pk}, {entry.kind}).",
            idempotency_key=key, entry_id=entry.pk,
        )
    entry.replayed = True
    return entry


def entry_insert(*, key: str, fingerprint: str, kind: str, description: str, reference: tuple[str, str],
                 actor, metadata: dict | None) -> JournalEntry | None:
    """INSERT the entry row; None when a concurrent transaction committed the same key first."""
    table = JournalEntry._meta.db_table
    description = clean_text(description or "")
    metadata_json = json.dumps(metadata or {}, cls=DjangoJSONEncoder).replace("\\u0000", "\ufffd")
    created_by = actor_id_of(actor)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (idempotency_key, fingerprint, kind, description, object_type, object_id, "
            f"created_by_id, metadata) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb) "
            f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, created_at, metadata",
            [key, fingerprint, kind, description, reference[0], reference[1], created_by, metadata_json],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    entry = JournalEntry(id=row[0], idempotency_key=key, fingerprint=fingerprint, kind=kind, description=description,
                         object_type=reference[0], object_id=reference[1], created_at=row[1],
                         created_by_id=created_by, metadata=row[2] if isinstance(row[2], dict) else json.loads(row[2]))
    entry._state.adding = False
    entry.replayed = False
    return entry


def lines_insert(entry: JournalEntry, legs: list[Leg]) -> list[JournalLine]:
    """One multi-row INSERT; the trigger moves each account's balance and numbers the line in its account
    (account_seq, balance_after: the zeros sent here are overwritten)."""
    table = JournalLine._meta.db_table
    values, params = [], []
    for leg in legs:
        values.append("(%s, %s, %s, %s, %s, 0, 0)")
        params += [entry.pk, leg.account_id, leg.amount, leg.account.currency, leg.account.decimal_places]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (entry_id, account_id, amount, currency, decimal_places, account_seq, balance_after) "
            f"VALUES {', '.join(values)} RETURNING id, account_seq, balance_after",
            params,
        )
        returned = cursor.fetchall()
    lines = []
    for leg, (line_id, account_seq, balance_after) in zip(legs, returned, strict=True):
        line = JournalLine(id=line_id, entry=entry, account=leg.account, amount=leg.amount,
                           currency=leg.account.currency, decimal_places=leg.account.decimal_places,
                           account_seq=account_seq, balance_after=at_precision(balance_after, leg.account))
        line._state.adding = False
        lines.append(line)
    # entry.lines.all() answers from memory, as after prefetch_related("lines").
    cached = JournalLine.objects.filter(entry=entry)
    cached._result_cache, cached._prefetch_done = lines, True
    entry._prefetched_objects_cache = {"lines": cached}
    return lines


def post_locked(*, rows: dict[int, LedgerAccount], key: str, fingerprint: str, kind: str, legs: list[Leg],
                description: str, reference: tuple[str, str], actor, metadata: dict | None,
                released: dict[int, Decimal] | None = None, before_lines=None) -> JournalEntry:
    """The posting itself, with the accounts already locked: check, insert entry and lines, audit."""
    try:
        available_check(rows, legs, released=released)
    except InsufficientAvailableBalance:
        # We may have waited on the lock behind a replay of this very entry, which has spent the money.
        replay = entry_replay(key, fingerprint)
        if replay is not None:
            return replay
        raise
    entry = entry_insert(key=key, fingerprint=fingerprint, kind=kind, description=description, reference=reference,
                         actor=actor, metadata=metadata)
    if entry is None:
        replay = entry_replay(key, fingerprint)
        if replay is None:  # the other transaction rolled back after all: nothing to replay, try again
            raise IdempotencyConflict(f"Idempotency key {key!r} is being used concurrently; retry.", idempotency_key=key)
        return replay
    if before_lines is not None:
        before_lines(entry)
    # Legs carry the locked rows (current balances) from here on.
    legs = [Leg(rows[leg.account_id], leg.amount) for leg in legs]
    lines_insert(entry, legs)
    audit_entry(entry, legs, actor=actor)
    return entry


def ledger_post(*, idempotency_key: str, lines: Sequence[Line], kind: str, description: str = "",
                reference=None, actor=None, metadata: dict | None = None) -> JournalEntry:
    """Post one balanced journal entry and return it (with `.lines` loaded and `.replayed` False).

    lines: [(account, Decimal amount), ...] — credit positive, debit negative, summing to zero per currency;
    an optional third element asserts the currency. reference: the business object (model instance or
    (object_type, object_id)). Raises InvalidAmount, CurrencyMismatch, UnbalancedEntry, InvalidEntry,
    InvalidAccount, InsufficientAvailableBalance, IdempotencyConflict.
    """
    require_tenant()
    key, kind = key_validate(idempotency_key), kind_validate(kind)
    legs = legs_parse(lines)
    ref = reference_parse(reference)
    fingerprint = entry_fingerprint(kind=kind, legs=legs, reference=ref)
    replay = entry_replay(key, fingerprint)
    if replay is not None:
        return replay
    with transaction.atomic():
        rows = accounts_lock(leg.account for leg in legs)
        return post_locked(rows=rows, key=key, fingerprint=fingerprint, kind=kind, legs=legs,
                           description=description, reference=ref, actor=actor, metadata=metadata)


def ledger_transfer(*, idempotency_key: str, source: LedgerAccount, destination: LedgerAccount, amount: Decimal,
                    kind: str, description: str = "", reference=None, actor=None,
                    metadata: dict | None = None) -> JournalEntry:
    """Move `amount` (positive) from `source` (debited) to `destination` (credited), same currency."""
    if source.currency != destination.currency:
        raise CurrencyMismatch(f"A transfer stays in one currency ({source.currency} → {destination.currency}); "
                               "post a conversion with both currencies' legs instead.")
    amount = amount_validate(amount, currency=source.currency, decimal_places=source.decimal_places, positive=True)
    return ledger_post(idempotency_key=idempotency_key, lines=[(source, -amount), (destination, amount)], kind=kind,
                       description=description, reference=reference, actor=actor, metadata=metadata)
