"""Reads of the ledger: balances, available balances, statements, trial balance, and an integrity report.

Every read is one or two queries whatever the data size (the statement pages by line id; the running balance
is stored on each line). `ledger_integrity_problems` scans everything and is meant for tests and the nightly
reconciliation, not for pages.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Sum

from tenancy.context import require_tenant
from tenant_apps.ledger.models import (
    NON_NEGATIVE_KINDS,
    Hold,
    HoldStatus,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Owner,
)
from tenant_apps.ledger.services._common import owner_parse, reference_parse

STATEMENT_PAGE_MAX = 500


def account_get(*, kind: str, owner: Owner | None, currency: str) -> LedgerAccount | None:
    require_tenant()
    owner_type, owner_id = owner_parse(owner)
    return LedgerAccount.objects.filter(kind=kind, owner_type=owner_type, owner_id=owner_id, currency=currency).first()


def accounts_of_owner(*, owner: Owner) -> list[LedgerAccount]:
    require_tenant()
    owner_type, owner_id = owner_parse(owner)
    return list(LedgerAccount.objects.filter(owner_type=owner_type, owner_id=owner_id).order_by("kind", "currency"))


def account_balance(*, account: LedgerAccount) -> Decimal:
    """The balance now (committed, or this transaction's), quantized to the currency."""
    require_tenant()
    balance, places = LedgerAccount.objects.values_list("balance", "decimal_places").get(pk=account.pk)
    return balance.quantize(Decimal(1).scaleb(-places))


def account_available_balance(*, account: LedgerAccount) -> Decimal:
    """Balance minus active holds: what the owner can withdraw or transfer now."""
    require_tenant()
    balance, held, places = LedgerAccount.objects.values_list("balance", "held", "decimal_places").get(pk=account.pk)
    return (balance - held).quantize(Decimal(1).scaleb(-places))


@dataclass(frozen=True)
class StatementLine:
    seq: int  # the line's number in the account: 1, 2, 3, ...
    entry_id: int
    created_at: datetime
    kind: str
    description: str
    object_type: str
    object_id: str
    amount: Decimal
    balance_after: Decimal
    currency: str


@dataclass(frozen=True)
class StatementPage:
    account_id: int
    currency: str
    lines: list[StatementLine]  # newest first
    next_before: int | None  # pass as `before` for the next (older) page; None on the last page
    balance_before_page: Decimal | None = None  # balance just before the oldest line shown


def account_statement(*, account: LedgerAccount, before: int | None = None, limit: int = 50) -> StatementPage:
    """One page of the account's lines, newest first, each with the balance right after it. Pages by the
    line's number in the account (an index range scan, whatever the account's history)."""
    require_tenant()
    limit = max(1, min(int(limit), STATEMENT_PAGE_MAX))
    q = Decimal(1).scaleb(-account.decimal_places)
    lines = JournalLine.objects.filter(account_id=account.pk)
    if before is not None:
        lines = lines.filter(account_seq__lt=before)
    rows = list(lines.order_by("-account_seq").select_related("entry")[: limit + 1])
    more = len(rows) > limit
    page = [
        StatementLine(seq=r.account_seq, entry_id=r.entry_id, created_at=r.entry.created_at, kind=r.entry.kind,
                      description=r.entry.description, object_type=r.entry.object_type, object_id=r.entry.object_id,
                      amount=r.amount.quantize(q), balance_after=r.balance_after.quantize(q), currency=r.currency)
        for r in rows[:limit]
    ]
    opening = (page[-1].balance_after - page[-1].amount) if page else None
    return StatementPage(account_id=account.pk, currency=account.currency, lines=page,
                         next_before=page[-1].seq if more else None, balance_before_page=opening)


def entry_get(*, idempotency_key: str) -> JournalEntry | None:
    require_tenant()
    return JournalEntry.objects.prefetch_related("lines__account").filter(idempotency_key=idempotency_key).first()


def entries_for_object(*, reference) -> list[JournalEntry]:
    """Every entry posted for a business object (a deposit, a withdrawal), oldest first, lines loaded."""
    require_tenant()
    object_type, object_id = reference_parse(reference)
    return list(JournalEntry.objects.filter(object_type=object_type, object_id=object_id)
                .prefetch_related("lines__account").order_by("id"))


def hold_get(*, idempotency_key: str) -> Hold | None:
    require_tenant()
    return Hold.objects.select_related("account").filter(idempotency_key=idempotency_key).first()


def holds_for_object(*, reference) -> list[Hold]:
    require_tenant()
    object_type, object_id = reference_parse(reference)
    return list(Hold.objects.filter(object_type=object_type, object_id=object_id).select_related("account").order_by("id"))


def active_holds(*, account: LedgerAccount) -> list[Hold]:
    require_tenant()
    return list(Hold.objects.filter(account_id=account.pk, status=HoldStatus.ACTIVE).order_by("id"))


@dataclass
class TrialBalance:
    # {currency: {account kind: sum of balances}}
    by_kind: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    # {currency: sum of every account's balance} — zero in a sound ledger
    totals: dict[str, Decimal] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return all(total == 0 for total in self.totals.values())


def trial_balance() -> TrialBalance:
    """Balances summed per currency and account kind; each currency's total is zero in a sound ledger."""
    require_tenant()
    result = TrialBalance()
    by_kind: dict[str, dict[str, Decimal]] = defaultdict(dict)
    rows = LedgerAccount.objects.values("currency", "kind").annotate(total=Sum("balance"), n=Count("id"))
    for row in rows.order_by("currency", "kind"):
        by_kind[row["currency"]][row["kind"]] = row["total"]
        result.totals[row["currency"]] = result.totals.get(row["currency"], Decimal(0)) + row["total"]
    result.by_kind = dict(by_kind)
    return result


# Each query returns rows describing a broken rule; an empty result everywhere means the books are sound.
INTEGRITY_CHECKS: dict[str, str] = {
    "entry does not balance in a currency": """
        SELECT entry_id, currency, sum(amount) FROM ledger_journalline
        GROUP BY entry_id, currency HAVING sum(amount) <> 0""",
    "entry has fewer than two lines": """
        SELECT e.id, count(l.id) FROM ledger_journalentry e LEFT JOIN ledger_journalline l ON l.entry_id = e.id
        GROUP BY e.id HAVING count(l.id) < 2""",
    "cached balance differs from the sum of the account's lines": """
        SELECT a.id, a.balance, coalesce(s.total, 0) FROM ledger_ledgeraccount a
        LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_journalline GROUP BY account_id) s
               ON s.account_id = a.id
        WHERE a.balance <> coalesce(s.total, 0)""",
    "held amount differs from the account's active holds": """
        SELECT a.id, a.held, coalesce(h.total, 0) FROM ledger_ledgeraccount a
        LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_hold WHERE status = 'active'
                   GROUP BY account_id) h ON h.account_id = a.id
        WHERE a.held <> coalesce(h.total, 0)""",
    "a line's running balance is not the sum of the lines before it": """
        SELECT id, account_id, account_seq, balance_after, running FROM (
            SELECT id, account_id, account_seq, balance_after,
                   sum(amount) OVER (PARTITION BY account_id ORDER BY account_seq) AS running
            FROM ledger_journalline) t
        WHERE balance_after <> running""",
    "account's lines are not numbered 1..n (n = its line count)": """
        SELECT a.id, a.line_count, count(l.id), coalesce(max(l.account_seq), 0) FROM ledger_ledgeraccount a
        LEFT JOIN ledger_journalline l ON l.account_id = a.id
        GROUP BY a.id, a.line_count
        HAVING a.line_count <> count(l.id) OR a.line_count <> coalesce(max(l.account_seq), 0)""",
    "line currency or precision differs from its account's": """
        SELECT l.id, l.currency, a.currency FROM ledger_journalline l JOIN ledger_ledgeraccount a ON a.id = l.account_id
        WHERE l.currency <> a.currency OR l.decimal_places <> a.decimal_places""",
    "client account's available balance is below zero": """
        SELECT id, kind, balance, held FROM ledger_ledgeraccount
        WHERE kind = ANY(%(non_negative)s) AND balance - held < 0""",
    "captured hold does not match its entry's debit of the account": """
        SELECT h.id, h.captured_amount, coalesce(-sum(l.amount), 0) FROM ledger_hold h
        LEFT JOIN ledger_journalline l ON l.entry_id = h.capture_entry_id AND l.account_id = h.account_id
        WHERE h.status = 'captured' GROUP BY h.id, h.captured_amount
        HAVING h.captured_amount IS DISTINCT FROM coalesce(-sum(l.amount), 0)""",
    "balances of a currency do not sum to zero (trial balance)": """
        SELECT currency, sum(balance) FROM ledger_ledgeraccount GROUP BY currency HAVING sum(balance) <> 0""",
}


def ledger_integrity_problems(*, limit_per_check: int = 5) -> list[str]:
    """Every broken invariant in the current brokerage's ledger, as readable lines (empty when sound).

    The database refuses these states as they are written; this re-checks the stored result (e.g. after a
    restore, or if triggers were bypassed by a superuser)."""
    require_tenant()
    problems: list[str] = []
    with connection.cursor() as cursor:
        for rule, sql in INTEGRITY_CHECKS.items():
            params = {"non_negative": sorted(NON_NEGATIVE_KINDS)} if "%(" in sql else None
            cursor.execute(f"{sql} LIMIT {int(limit_per_check)}", params)
            problems += [f"{rule}: {row}" for row in cursor.fetchall()]
    return problems
