"""What every ledger service shares: input parsing, fingerprints, row locks, the available-balance check, audit."""
from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from tenant_apps.ledger.currencies import amount_validate, currency_quantum
from tenant_apps.ledger.errors import (
    CurrencyMismatch,
    InsufficientAvailableBalance,
    InvalidAccount,
    InvalidEntry,
    UnbalancedEntry,
)
from tenant_apps.ledger.models import NON_NEGATIVE_KINDS, JournalEntry, LedgerAccount, Owner, OwnerType

KIND_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
KEY_MAX = 200
REF_MAX = 64
MAX_LINES = 500

# A line: (account, amount) or (account, amount, currency) — the currency, when given, must be the account's.
Line = tuple


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    amount: Decimal

    @property
    def account_id(self) -> int:
        return self.account.pk


# --- input ------------------------------------------------------------------------------------------

def clean_text(value: str) -> str:
    return str(value).replace("\x00", "\ufffd")


def key_validate(idempotency_key) -> str:
    if not isinstance(idempotency_key, str) or not idempotency_key.strip() or len(idempotency_key) > KEY_MAX \
            or "\x00" in idempotency_key:
        raise InvalidEntry(f"An idempotency key is a non-blank string of at most {KEY_MAX} characters.",
                           idempotency_key=idempotency_key)
    return idempotency_key


def kind_validate(kind) -> str:
    if not isinstance(kind, str) or len(kind) > 64 or not KIND_RE.match(kind):
        raise InvalidEntry(f"Entry kind {kind!r} must look like 'deposit.credited' (lower case, at most 64).", kind=kind)
    return kind


def reference_parse(reference) -> tuple[str, str]:
    """(object_type, object_id) of the business object: a model instance, a pair, or None."""
    if reference is None:
        return "", ""
    if isinstance(reference, models.Model):
        if reference.pk is None:
            raise InvalidEntry("The referenced object has not been saved.")
        object_type, object_id = reference._meta.label_lower, str(reference.pk)
    elif isinstance(reference, tuple | list) and len(reference) == 2:
        object_type, object_id = (clean_text(part) for part in reference)
    else:
        raise InvalidEntry("A reference is a saved model instance or an (object_type, object_id) pair.")
    if not object_type or not object_id or len(object_type) > REF_MAX or len(object_id) > REF_MAX:
        raise InvalidEntry(f"A reference's type and id are non-empty, at most {REF_MAX} characters each.")
    return object_type, object_id


def owner_parse(owner) -> tuple[str, str]:
    if owner is None:
        return OwnerType.HOUSE, ""
    if isinstance(owner, Owner):
        owner_type, owner_id = owner.type, owner.id
    elif isinstance(owner, tuple | list) and len(owner) == 2:
        owner_type, owner_id = str(owner[0]), str(owner[1])
    else:
        raise InvalidAccount("An owner is an Owner (Owner.client(user_id), ...) or None for the brokerage itself.")
    if owner_type not in OwnerType.values or not owner_id or len(owner_id) > 64:
        raise InvalidAccount(f"Unknown owner {owner_type!r}:{owner_id!r}.", owner_type=owner_type, owner_id=owner_id)
    return owner_type, clean_text(owner_id)


def actor_id_of(actor) -> int | None:
    """The acting user's id in this brokerage (platform operators' ids belong to another schema)."""
    if actor is None or isinstance(actor, str) or not getattr(actor, "is_authenticated", False):
        return None
    if getattr(actor, "kind", None) == "operator":
        return None
    return getattr(actor, "pk", None)


def fingerprint_of(payload: dict) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def legs_parse(lines: Sequence[Line]) -> list[Leg]:
    if not isinstance(lines, list | tuple) or not 2 <= len(lines) <= MAX_LINES:
        raise InvalidEntry(f"An entry has between 2 and {MAX_LINES} lines.")
    legs: list[Leg] = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        if not isinstance(line, tuple | list) or len(line) not in (2, 3):
            raise InvalidEntry("A line is (account, amount) or (account, amount, currency).")
        account, amount = line[0], line[1]
        if not isinstance(account, LedgerAccount) or account.pk is None:
            raise InvalidAccount("A line's account is a saved LedgerAccount (see account_get_or_create).")
        if len(line) == 3 and line[2] != account.currency:
            raise CurrencyMismatch(f"A {line[2]} amount cannot be booked to a {account.currency} account.",
                                   account_id=account.pk, currency=line[2], account_currency=account.currency)
        amount = amount_validate(amount, currency=account.currency, decimal_places=account.decimal_places)
        legs.append(Leg(account, amount))
        totals[account.currency] += amount
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        detail = ", ".join(f"{currency} {total:+}" for currency, total in sorted(unbalanced.items()))
        raise UnbalancedEntry(f"The lines must sum to zero in each currency; they are off by {detail}.",
                              unbalanced={c: str(t) for c, t in unbalanced.items()})
    return legs


def entry_fingerprint(*, kind: str, legs: Iterable[Leg], reference: tuple[str, str], capture: int | None = None) -> str:
    payload = {
        "kind": kind,
        "lines": sorted([leg.account_id, str(leg.amount)] for leg in legs),
        "reference": list(reference),
    }
    if capture is not None:
        payload["capture"] = capture
    return fingerprint_of(payload)


# --- locks and checks ---------------------------------------------------------------------------------

def at_precision(value: Decimal, account: LedgerAccount) -> Decimal:
    """A stored numeric(20, 8) value at its currency's precision (0E-8 → 0.00), for messages and callers."""
    return value.quantize(currency_quantum(account.decimal_places))


def account_identity(account: LedgerAccount) -> tuple:
    return account.kind, account.owner_type, account.owner_id, account.currency, account.decimal_places


def _audit_lock() -> None:
    try:
        from tenant_apps.audit.services import audit_lock
    except ImportError:  # the audit capability isn't installed in this build
        return
    audit_lock()


def accounts_lock(accounts: Iterable[LedgerAccount]) -> dict[int, LedgerAccount]:
    """Lock the accounts in id order (the one order every ledger service uses, so two postings over the same
    accounts never deadlock) and return their current rows. FOR NO KEY UPDATE: foreign keys to an account
    (KEY SHARE) don't wait on it."""
    given = {account.pk: account for account in accounts}
    # Lock order, everywhere: the audit chain first (every posting writes an audit entry), then accounts by id.
    _audit_lock()
    rows = {row.pk: row for row in
            LedgerAccount.objects.filter(pk__in=list(given)).order_by("pk").select_for_update(no_key=True)}
    for pk, account in given.items():
        row = rows.get(pk)
        # A stale or foreign instance (an account loaded in another brokerage has another row under its id here).
        if row is None or account_identity(row) != account_identity(account):
            raise InvalidAccount(f"Ledger account {pk} ({account}) does not exist in this brokerage.", account_id=pk)
    return rows


def available_check(rows: dict[int, LedgerAccount], legs: Iterable[Leg], *, released: dict[int, Decimal] | None = None):
    """Refuse the legs if any client account would end with balance − active holds below zero.

    `released`: held amounts that this same transaction releases (a capture closes its hold first)."""
    net: dict[int, Decimal] = defaultdict(Decimal)
    for leg in legs:
        net[leg.account_id] += leg.amount
    for pk, change in net.items():
        row = rows[pk]
        if change >= 0 or row.kind not in NON_NEGATIVE_KINDS:
            continue
        available = at_precision(row.balance - row.held + (released or {}).get(pk, Decimal(0)), row)
        if available + change < 0:
            raise InsufficientAvailableBalance(
                f"Insufficient available balance: {available} {row.currency} available, {-change} needed.",
                account_id=pk, available=available, requested=-change, currency=row.currency,
            )


# --- audit (optional until the audit app ships) ------------------------------------------------------

@functools.cache
def audit_recorder():
    """tenant_apps.audit.services.audit_record, or None while the audit app isn't installed (imported lazily so
    the ledger works, and its tests run, without it)."""
    if not apps.is_installed("tenant_apps.audit"):
        return None
    try:
        from tenant_apps.audit.services import audit_record
    except ModuleNotFoundError as exc:
        if exc.name in ("tenant_apps.audit", "tenant_apps.audit.services"):
            return None
        raise
    return audit_record


def audit(**kwargs) -> None:
    record = audit_recorder()
    if record is not None:
        record(**kwargs)


def subject_of(accounts: Iterable[LedgerAccount]) -> int | None:
    """The client or IB the money belongs to, so it shows in their history."""
    for account in accounts:
        if account.owner_type in (OwnerType.CLIENT, OwnerType.IB) and account.owner_id.isdigit():
            return int(account.owner_id)
    return None


def audit_entry(entry: JournalEntry, legs: list[Leg], *, actor) -> None:
    """One audit entry per posting: its key, kind, reference and every line (account, owner, amount)."""
    audit(
        action="ledger.entry_posted", object_type="ledger.journalentry", object_id=entry.pk, actor=actor,
        reason=entry.description,
        subject=subject_of(leg.account for leg in legs),
        changes={
            "idempotency_key": entry.idempotency_key, "kind": entry.kind,
            "reference": [entry.object_type, entry.object_id] if entry.object_type else None,
            "lines": [[leg.account_id, leg.account.kind, leg.account.owner_id, leg.account.currency, leg.amount]
                      for leg in legs],
        },
    )
