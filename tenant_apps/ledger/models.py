"""Double-entry money of one brokerage: accounts, immutable journal entries and their lines, holds.

Sign convention: an amount is a credit when positive and a debit when negative, and an account's balance is
the sum of its lines. What the brokerage owes someone (a client's wallet, an IB's unpaid commission) is
therefore positive; money that came in from outside shows as a negative balance on the account it came
through (PSP clearing, bank). Every entry sums to zero per currency, so all balances of one currency sum to
zero too (the trial balance).

Rows are written only by `services.py`. The database refuses everything else that would break the books
(migration 0002): lines and entries can't be updated, deleted or truncated; balances and held amounts change
only through lines and holds (triggers keep them, so the cached balance is the sum of the lines by
construction); an entry that doesn't balance per currency, or a client account whose available balance ends
below zero, is refused at commit; a line's currency and precision must be its account's (composite FK and
CHECKs).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now, Round


class AccountKind(models.TextChoices):
    CLIENT_WALLET = "client_wallet", "Client wallet"
    CLIENT_TRADING_MIRROR = "client_trading_mirror", "Client trading account (mirror of the platform balance)"
    CLIENT_RECEIVABLE = "client_receivable", "Owed by the client (e.g. a chargeback beyond the balance)"
    IB_COMMISSIONS_PAYABLE = "ib_commissions_payable", "IB commissions payable"
    PSP_CLEARING = "psp_clearing", "PSP clearing"
    BANK = "bank", "Bank account"
    FEES = "fees", "Fees charged to clients"
    PSP_FEES = "psp_fees", "Fees paid to PSPs"
    BROKER_REVENUE = "broker_revenue", "Broker revenue"
    TRADING_PNL = "trading_pnl", "Clients' trading profit and loss"
    MANUAL_ADJUSTMENTS = "manual_adjustments", "Manual adjustments"
    FX_CONVERSION = "fx_conversion", "Currency conversion"
    SUSPENSE = "suspense", "Suspense (unidentified or unmatched money)"


class OwnerType(models.TextChoices):
    HOUSE = "", "The brokerage itself"
    CLIENT = "client", "Client (user id)"
    TRADING_ACCOUNT = "trading_account", "Trading account (platform login)"
    IB = "ib", "Introducing broker (user id)"
    PROVIDER = "provider", "Payment provider or bank (code)"


# Who owns each kind of account. The database checks the same table (ledger_account_owner_matches_kind).
KIND_OWNER_TYPE: dict[str, str] = {
    AccountKind.CLIENT_WALLET: OwnerType.CLIENT,
    AccountKind.CLIENT_TRADING_MIRROR: OwnerType.TRADING_ACCOUNT,
    AccountKind.CLIENT_RECEIVABLE: OwnerType.CLIENT,
    AccountKind.IB_COMMISSIONS_PAYABLE: OwnerType.IB,
    AccountKind.PSP_CLEARING: OwnerType.PROVIDER,
    AccountKind.BANK: OwnerType.PROVIDER,
    AccountKind.FEES: OwnerType.HOUSE,
    AccountKind.PSP_FEES: OwnerType.HOUSE,
    AccountKind.BROKER_REVENUE: OwnerType.HOUSE,
    AccountKind.TRADING_PNL: OwnerType.HOUSE,
    AccountKind.MANUAL_ADJUSTMENTS: OwnerType.HOUSE,
    AccountKind.FX_CONVERSION: OwnerType.HOUSE,
    AccountKind.SUSPENSE: OwnerType.HOUSE,
}
# Money that belongs to a client or IB: its available balance (balance − active holds) never goes below zero.
# Migration 0002's deferred trigger spells the same list; a test checks they agree.
NON_NEGATIVE_KINDS: frozenset[str] = frozenset({
    AccountKind.CLIENT_WALLET, AccountKind.CLIENT_TRADING_MIRROR, AccountKind.IB_COMMISSIONS_PAYABLE,
})
HOLDABLE_KINDS = NON_NEGATIVE_KINDS


def _one_of(values) -> str:
    # A regex rather than IN (...): pg_dump re-spells an IN list over varchar, and the blueprint path must
    # deparse to exactly what migrations built.
    return rf"^({'|'.join(sorted(values))})$"


def _owner_matches_kind() -> Q:
    condition = Q()
    for owner_type in OwnerType.values:
        kinds = [k for k, o in KIND_OWNER_TYPE.items() if o == owner_type]
        if not kinds:
            continue
        owner = Q(owner_type="", owner_id="") if owner_type == "" else Q(owner_type=owner_type) & ~Q(owner_id="")
        condition |= Q(kind__regex=_one_of(kinds)) & owner
    return condition


@dataclass(frozen=True)
class Owner:
    """Who an account belongs to. `None` stands for the brokerage itself (house accounts)."""

    type: str
    id: str

    @classmethod
    def client(cls, user_id) -> Owner:
        return cls(OwnerType.CLIENT, str(user_id))

    @classmethod
    def trading_account(cls, login) -> Owner:
        return cls(OwnerType.TRADING_ACCOUNT, str(login))

    @classmethod
    def ib(cls, user_id) -> Owner:
        return cls(OwnerType.IB, str(user_id))

    @classmethod
    def provider(cls, code: str) -> Owner:
        return cls(OwnerType.PROVIDER, str(code))


AMOUNT = {"max_digits": 20, "decimal_places": 8}


class LedgerAccount(models.Model):
    kind = models.CharField(max_length=32, choices=AccountKind.choices)
    owner_type = models.CharField(max_length=16, choices=OwnerType.choices, blank=True)
    owner_id = models.CharField(max_length=64, blank=True,
                                help_text="Client or IB user id, trading-account login, provider code; blank for house.")
    currency = models.CharField(max_length=8)
    # Copied from currencies.DECIMAL_PLACES when the account is opened; never changes afterwards.
    decimal_places = models.PositiveSmallIntegerField()
    # Kept by triggers from lines (balance, line_count) and active holds (held); nothing else can change them.
    balance = models.DecimalField(**AMOUNT, default=0)
    held = models.DecimalField(**AMOUNT, default=0)
    line_count = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "owner_type", "owner_id", "currency"],
                                    name="ledger_account_one_per_owner_kind_currency"),
            # Target of the lines' and holds' composite foreign keys (currency and precision are the account's).
            models.UniqueConstraint(fields=["id", "currency", "decimal_places"], name="ledger_account_currency_key"),
            models.CheckConstraint(condition=Q(kind__regex=_one_of(AccountKind.values)), name="ledger_account_kind_valid"),
            models.CheckConstraint(condition=_owner_matches_kind(), name="ledger_account_owner_matches_kind"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3,5}$"), name="ledger_account_currency_code"),
            models.CheckConstraint(condition=Q(decimal_places__lte=8), name="ledger_account_decimal_places_max"),
            models.CheckConstraint(condition=Q(held__gte=0), name="ledger_account_held_not_negative"),
            models.CheckConstraint(condition=Q(line_count__gte=0), name="ledger_account_line_count_not_negative"),
            models.CheckConstraint(condition=Q(balance=Round(F("balance"), F("decimal_places")))
                                   & Q(held=Round(F("held"), F("decimal_places"))), name="ledger_account_scale"),
        ]

    def __str__(self):
        owner = f" {self.owner_type}:{self.owner_id}" if self.owner_type else ""
        return f"{self.kind}{owner} {self.currency}"

    @property
    def owner(self) -> Owner | None:
        return Owner(self.owner_type, self.owner_id) if self.owner_type else None

    @property
    def available(self):
        """Balance minus active holds, as of when this row was read."""
        return self.balance - self.held

    @property
    def is_non_negative(self) -> bool:
        return self.kind in NON_NEGATIVE_KINDS


class JournalEntry(models.Model):
    """One business event's movement of money. Immutable; a correction is a new entry."""

    idempotency_key = models.CharField(max_length=200)
    # sha256 of what the entry does (kind, lines, reference): a replay must match it or is a conflict.
    fingerprint = models.CharField(max_length=64)
    kind = models.CharField(max_length=64, help_text='What happened, e.g. "deposit.credited".')
    description = models.TextField(blank=True)
    object_type = models.CharField(max_length=64, blank=True, help_text='The business object, e.g. "payments.deposit".')
    object_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    created_by_id = models.BigIntegerField(null=True, blank=True, help_text="The acting user's id in this brokerage.")
    metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    # Not stored: the services set it True when a call with an already-used key returned this earlier entry.
    replayed = False

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "journal entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="ledger_entry_by_object")]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="ledger_entry_idempotency_key_unique"),
            models.CheckConstraint(condition=~Q(idempotency_key=""), name="ledger_entry_idempotency_key_set"),
            models.CheckConstraint(condition=Q(kind__regex=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"),
                                   name="ledger_entry_kind_format"),
            models.CheckConstraint(condition=Q(fingerprint__regex=r"^[0-9a-f]{64}$"), name="ledger_entry_fingerprint"),
            models.CheckConstraint(condition=Q(object_type="", object_id="") | (~Q(object_type="") & ~Q(object_id="")),
                                   name="ledger_entry_reference_complete"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.kind} ({self.idempotency_key})"

    @property
    def reference(self) -> tuple[str, str] | None:
        return (self.object_type, self.object_id) if self.object_type else None


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="lines", db_index=False)
    amount = models.DecimalField(**AMOUNT, help_text="Credit when positive, debit when negative; never zero.")
    # The account's, denormalised so the database can check them: (account, currency, decimal_places) is a
    # foreign key to the account, and the amount's scale a CHECK.
    currency = models.CharField(max_length=8)
    decimal_places = models.PositiveSmallIntegerField()
    # Set by the insert trigger under the account's row lock: the line's number in the account (1, 2, 3, ...
    # in the order the account's balance moved, even for concurrent raw inserts) and the balance right after.
    account_seq = models.BigIntegerField()
    balance_after = models.DecimalField(**AMOUNT)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Also the statement's index: an account's lines in order, paged by account_seq.
            models.UniqueConstraint(fields=["account", "account_seq"], name="ledger_line_account_seq_unique"),
            models.CheckConstraint(condition=Q(account_seq__gte=1), name="ledger_line_account_seq_positive"),
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_line_amount_not_zero"),
            models.CheckConstraint(condition=Q(amount=Round(F("amount"), F("decimal_places"))),
                                   name="ledger_line_amount_scale"),
        ]

    def __str__(self):
        return f"{self.amount} {self.currency} → account {self.account_id} (entry {self.entry_id})"


class HoldStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RELEASED = "released", "Released"
    CAPTURED = "captured", "Captured"


class Hold(models.Model):
    """Funds reserved on a client account (a withdrawal from its first second): they stay in the balance but
    leave the available balance until the hold is released or captured (captured = the money moved)."""

    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="holds")
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=8)
    decimal_places = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    idempotency_key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    created_by_id = models.BigIntegerField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    captured_amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    capture_entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="captured_holds")

    # Not stored: True when hold_place/hold_release returned an earlier effect instead of making one.
    replayed = False

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["account"], condition=Q(status="active"), name="ledger_hold_active_by_account"),
            models.Index(fields=["object_type", "object_id"], name="ledger_hold_by_object"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="ledger_hold_idempotency_key_unique"),
            models.CheckConstraint(condition=~Q(idempotency_key=""), name="ledger_hold_idempotency_key_set"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_hold_amount_positive"),
            models.CheckConstraint(condition=Q(amount=Round(F("amount"), F("decimal_places"))),
                                   name="ledger_hold_amount_scale"),
            models.CheckConstraint(condition=Q(status__regex=_one_of(HoldStatus.values)), name="ledger_hold_status_valid"),
            models.CheckConstraint(condition=Q(status="active", closed_at__isnull=True)
                                   | (~Q(status="active") & Q(closed_at__isnull=False)), name="ledger_hold_closed_at"),
            models.CheckConstraint(
                condition=(Q(status="captured", capture_entry__isnull=False, captured_amount__gt=0,
                             captured_amount__lte=F("amount"))
                           | (~Q(status="captured") & Q(capture_entry__isnull=True, captured_amount__isnull=True))),
                name="ledger_hold_capture_recorded",
            ),
            models.CheckConstraint(condition=Q(object_type="", object_id="") | (~Q(object_type="") & ~Q(object_id="")),
                                   name="ledger_hold_reference_complete"),
        ]

    def __str__(self):
        return f"hold #{self.pk} {self.amount} {self.currency} on account {self.account_id} ({self.status})"
