"""Payments data: the durable webhook inbox and the encrypted credentials of each PSP connection."""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", "Received"     # stored, waiting for the worker
    PROCESSED = "processed", "Processed"  # a handler ran and its writes committed with this status
    IGNORED = "ignored", "Ignored"        # genuine, but no handler for its type
    FAILED = "failed", "Failed"           # the handler kept failing: needs a person (retries exhausted)
    REJECTED = "rejected", "Rejected"     # signature invalid or payload unreadable: kept for forensics, never processed


class WebhookEvent(models.Model):
    """One delivery from a PSP, stored raw before anything else happens.

    Genuine events are unique per (provider, PSP event id), so a redelivery is absorbed by the database
    (INSERT … ON CONFLICT DO NOTHING). Rejected deliveries are all kept, each with the reason, and the
    database guarantees a delivery with a bad signature can only ever be `rejected`.
    """

    provider_code = models.CharField(max_length=40, help_text="brokerage.PaymentProviderConfig.code")
    provider_kind = models.CharField(max_length=16)
    # The PSP's event id. For a rejected delivery, whatever id the body claimed (untrusted), or "".
    event_id = models.CharField(max_length=255, blank=True)
    # Our normalised type (payment.succeeded, …) or, for types we do not map, the PSP's own type.
    event_type = models.CharField(max_length=100, blank=True)
    provider_event_type = models.CharField(max_length=100, blank=True)
    provider_payment_id = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=100, blank=True, help_text="Our reference, echoed by the PSP.")
    raw_body = models.BinaryField()
    headers = models.JSONField(default=dict, blank=True, help_text="The headers that matter (signature, type, agent).")
    remote_addr = models.CharField(max_length=45, blank=True)
    signature_valid = models.BooleanField()
    signature_error = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    processing_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Set after a handler failure (backoff).")
    last_error = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=WebhookStatus.choices)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider_code", "event_id"],
                                    condition=Q(signature_valid=True) & ~Q(event_id=""),
                                    name="webhook_event_once_per_provider"),
            models.CheckConstraint(condition=Q(signature_valid=True) | Q(status=WebhookStatus.REJECTED),
                                   name="webhook_event_unsigned_is_rejected"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in WebhookStatus]),
                                   name="webhook_event_status_valid"),
            models.CheckConstraint(
                condition=~Q(status__in=[WebhookStatus.PROCESSED, WebhookStatus.IGNORED]) | Q(processed_at__isnull=False),
                name="webhook_event_done_has_time"),
        ]
        indexes = [
            # The worker's and the sweep's work list stays tiny: only rows still waiting, in arrival order.
            models.Index(fields=["id"], condition=Q(status=WebhookStatus.RECEIVED), name="webhook_event_waiting"),
            models.Index(fields=["provider_code", "provider_payment_id"], name="webhook_event_payment"),
        ]

    def __str__(self):
        return f"{self.provider_code}:{self.event_id or '-'} {self.event_type} ({self.status})"


class PspCredentials(models.Model):
    """Secrets of one PSP connection, encrypted at rest (payments.crypto). Never rendered back in full:
    staff see the hints."""

    provider = models.OneToOneField("brokerage.PaymentProviderConfig", on_delete=models.CASCADE,
                                    related_name="credentials")
    api_key_encrypted = models.TextField(blank=True)
    # A JSON list of webhook signing secrets, newest first: during a rotation every listed secret is accepted.
    webhook_secrets_encrypted = models.TextField(blank=True)
    api_key_hint = models.CharField(max_length=24, blank=True)
    webhook_secret_hints = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "PSP credentials"

    def __str__(self):
        return f"credentials of {self.provider_id}"


# --- money workflows: payment methods, deposits, withdrawals, transfers, manual adjustments ------------------
# States and who may move them are in states.py; every write is in services/ (deposits.py, withdrawals.py, ...).

MONEY = {"max_digits": 20, "decimal_places": 8}


class MoneyRules(models.Model):
    """The brokerage's thresholds for routing money (one row; services.money_rules() creates it)."""

    deposit_review_over = models.DecimalField(**MONEY, default=10000,
                                              help_text="Deposits above this amount stop for manual review.")
    withdrawal_auto_approve_max = models.DecimalField(**MONEY, default=500,
                                                      help_text="Trusted, verified clients' withdrawals up to this "
                                                                "amount are approved automatically.")
    withdrawal_dual_control_over = models.DecimalField(**MONEY, default=5000,
                                                       help_text="Above this, the finance stage needs two people.")
    adjustment_approval_over = models.DecimalField(**MONEY, default=1000,
                                                   help_text="Manual adjustments above this need a Manager.")
    device_change_window_days = models.PositiveSmallIntegerField(default=7)
    review_first_deposit = models.BooleanField(default=True)
    pending_psp_poll_after_s = models.PositiveIntegerField(default=300,
                                                           help_text="Ask the PSP about a deposit silent this long.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "money rules"

    def __str__(self):
        return "money rules"


class PaymentMethod(models.Model):
    """What a client may pay in or out with: a PSP connection plus the rules of who sees it."""

    class Direction(models.TextChoices):
        DEPOSIT = "deposit", "Deposits"
        WITHDRAWAL = "withdrawal", "Withdrawals"
        BOTH = "both", "Deposits and withdrawals"

    code = models.SlugField(max_length=40, unique=True)
    display_name = models.CharField(max_length=80)
    provider = models.ForeignKey("brokerage.PaymentProviderConfig", on_delete=models.PROTECT, related_name="methods")
    direction = models.CharField(max_length=12, choices=Direction.choices, default=Direction.BOTH)
    countries = models.JSONField(default=list, blank=True, help_text="ISO codes allowed; empty = every country.")
    currencies = models.JSONField(default=list, help_text="ISO codes accepted.")
    kyc_states = models.JSONField(default=list, blank=True, help_text="KYC states allowed; empty = every state.")
    min_amount = models.DecimalField(**MONEY, default=0)
    max_amount = models.DecimalField(**MONEY, null=True, blank=True)
    fee_percent = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    fee_fixed = models.DecimalField(**MONEY, default=0)
    processing_time = models.CharField(max_length=80, help_text='What the client reads, e.g. "Instant".')
    processing_minutes = models.PositiveIntegerField(default=0, help_text="For sorting by speed and the ETA.")
    is_enabled = models.BooleanField(default=True)
    legal_entities = models.ManyToManyField("brokerage.LegalEntity", blank=True, related_name="payment_methods",
                                            help_text="Entities whose clients see it; none = every entity.")
    risk_levels = models.JSONField(default=list, blank=True,
                                   help_text="Client risk levels allowed (low, medium, high); empty = every level.")

    class Meta:
        ordering = ["processing_minutes", "display_name"]
        constraints = [
            models.CheckConstraint(condition=Q(min_amount__gte=0), name="payment_method_min_not_negative"),
            models.CheckConstraint(condition=Q(max_amount__isnull=True) | Q(max_amount__gte=models.F("min_amount")),
                                   name="payment_method_max_over_min"),
            models.CheckConstraint(condition=Q(fee_percent__gte=0) & Q(fee_fixed__gte=0),
                                   name="payment_method_fee_not_negative"),
        ]

    def __str__(self):
        return self.display_name


class Deposit(models.Model):
    client = models.ForeignKey("identity.User", on_delete=models.PROTECT, related_name="deposits")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="deposits")
    provider_code = models.CharField(max_length=40)
    reference = models.CharField(max_length=40, unique=True)
    amount = models.DecimalField(**MONEY)
    fee = models.DecimalField(**MONEY, default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, default="initiated")
    provider_payment_id = models.CharField(max_length=255, blank=True)
    hosted_url = models.URLField(max_length=500, blank=True)
    # Where the money goes once credited: the wallet, or (trading engineer's hook) a trading-account login.
    target_trading_login = models.CharField(max_length=32, blank=True)
    payer_name = models.CharField(max_length=200, blank=True)
    review_reasons = models.JSONField(default=list, blank=True)
    failure_reason = models.CharField(max_length=40, blank=True)
    failure_code = models.CharField(max_length=64, blank=True, help_text="The PSP's code: staff only.")
    failure_message = models.CharField(max_length=300, blank=True)
    failure_next_step = models.CharField(max_length=300, blank=True)
    credit_entry_id = models.BigIntegerField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True, help_text="A chargeback was opened on it.")
    claimed_by = models.ForeignKey("identity.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="deposit_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__regex=r"^(initiated|pending_psp|succeeded|failed|under_review|credited|"
                                          r"rejected|reconciled)$"), name="deposit_status_valid"),
            # Credited means the ledger entry exists: the two never disagree.
            models.CheckConstraint(condition=~Q(status__regex=r"^(credited|reconciled)$") | Q(credit_entry_id__isnull=False),
                                   name="deposit_credited_has_entry"),
            models.UniqueConstraint(fields=["provider_code", "provider_payment_id"], condition=~Q(provider_payment_id=""),
                                    name="deposit_one_per_psp_payment"),
        ]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="deposit_by_status")]

    def __str__(self):
        return f"deposit {self.reference} {self.amount} {self.currency} ({self.status})"


class Withdrawal(models.Model):
    client = models.ForeignKey("identity.User", on_delete=models.PROTECT, related_name="withdrawals")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="withdrawals")
    provider_code = models.CharField(max_length=40)
    reference = models.CharField(max_length=40, unique=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, default="requested")
    # Which role's turn it is while under review: support → compliance → finance.
    stage = models.CharField(max_length=16, blank=True)
    destination_kind = models.CharField(max_length=20, default="bank_account")
    holder_name = models.CharField(max_length=200, blank=True)
    destination_account = models.CharField(max_length=64, blank=True)
    review_reasons = models.JSONField(default=list, blank=True)
    hold_key = models.CharField(max_length=200, blank=True)
    provider_payout_id = models.CharField(max_length=255, blank=True)
    client_reason = models.CharField(max_length=300, blank=True, help_text="Why it was rejected or returned.")
    claimed_by = models.ForeignKey("identity.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="withdrawal_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__regex=r"^(requested|under_review|approved|sent|received|rejected|returned|"
                                          r"cancelled)$"), name="withdrawal_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "stage"], name="withdrawal_by_status_stage")]

    def __str__(self):
        return f"withdrawal {self.reference} {self.amount} {self.currency} ({self.status})"


class WithdrawalApproval(models.Model):
    """One person's approval of one stage. A person approves a withdrawal at most once (maker ≠ checker)."""

    withdrawal = models.ForeignKey(Withdrawal, on_delete=models.CASCADE, related_name="approvals")
    stage = models.CharField(max_length=16)
    actor = models.ForeignKey("identity.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["withdrawal", "actor"], name="withdrawal_approval_once_per_person")]

    def __str__(self):
        return f"{self.stage} approval of withdrawal {self.withdrawal_id} by {self.actor_id}"


class MoneyEvent(models.Model):
    """A deposit's or withdrawal's history: every step, with its time, what the client reads and staff notes."""

    deposit = models.ForeignKey(Deposit, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    withdrawal = models.ForeignKey(Withdrawal, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    client_text = models.CharField(max_length=300)
    staff_note = models.TextField(blank=True)
    actor = models.ForeignKey("identity.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=40, blank=True, help_text="client, staff, webhook:<event id>, poll, rules")

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.CheckConstraint(
            condition=Q(deposit__isnull=False, withdrawal__isnull=True) | Q(deposit__isnull=True, withdrawal__isnull=False),
            name="money_event_one_subject")]

    def __str__(self):
        return f"{self.from_status or '-'} → {self.to_status} at {self.at:%Y-%m-%d %H:%M:%S}"


class Transfer(models.Model):
    """A client's own money moving between their wallets and trading accounts, one currency.

    Wallet ↔ wallet is booked at once (status completed). With a trading account on either side the transfer
    follows states.TRANSFER_TRANSITIONS (services/trading_transfers.py): the platform balance operations carry
    the reference f"transfer:{pk}:<leg>" so a retry never applies one twice, and the ledger keys derive from pk.
    """

    client = models.ForeignKey("identity.User", on_delete=models.PROTECT, related_name="transfers")
    reference = models.CharField(max_length=40, blank=True, db_index=True)
    source_account = models.ForeignKey("ledger.LedgerAccount", on_delete=models.PROTECT, related_name="+")
    destination_account = models.ForeignKey("ledger.LedgerAccount", on_delete=models.PROTECT, related_name="+")
    # The trading accounts behind a CLIENT_TRADING_MIRROR source / destination (None for a wallet).
    source_trading_account = models.ForeignKey("trading.TradingAccount", null=True, blank=True,
                                               on_delete=models.PROTECT, related_name="transfers_out")
    destination_trading_account = models.ForeignKey("trading.TradingAccount", null=True, blank=True,
                                                    on_delete=models.PROTECT, related_name="transfers_in")
    # A deposit the client asked to land in a trading account: at most one transfer per deposit.
    deposit = models.OneToOneField(Deposit, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="trading_transfer")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, default="completed")
    entry_id = models.BigIntegerField(null=True, blank=True, help_text="The ledger entry moving the money.")
    refund_entry_id = models.BigIntegerField(null=True, blank=True, help_text="The compensating entry, if any.")
    platform_debit_ticket = models.BigIntegerField(null=True, blank=True)
    platform_credit_ticket = models.BigIntegerField(null=True, blank=True)
    platform_refund_ticket = models.BigIntegerField(null=True, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True, help_text="What the client reads.")
    staff_note = models.TextField(blank=True, help_text="Technical detail for Finance (never shown to the client).")
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    debited_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # The client's one-time key (the form's hidden token or the API's Idempotency-Key header): a replay with the
    # same key returns this transfer; the same key with another request is refused (request_fingerprint).
    idempotency_key = models.CharField(max_length=80, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)

    # Not stored: transfer_request sets it True when a replayed idempotency key returned this earlier transfer.
    replayed = False

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
                       models.UniqueConstraint(fields=["client", "idempotency_key"],
                                               condition=~Q(idempotency_key=""),
                                               name="transfer_client_idempotency_key_unique"),
                       models.CheckConstraint(condition=~Q(source_account=models.F("destination_account")),
                                              name="transfer_two_accounts"),
                       models.CheckConstraint(
                           condition=Q(status__regex=r"^(requested|debited|completed|failed|needs_attention)$"),
                           name="transfer_status_valid"),
                       # Completed means the money moved in the books: the two never disagree.
                       models.CheckConstraint(condition=~Q(status="completed") | Q(entry_id__isnull=False),
                                              name="transfer_completed_has_entry")]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="transfer_by_status")]

    def __str__(self):
        return f"transfer {self.amount} {self.currency} ({self.source_account_id} → {self.destination_account_id})"


class AdjustmentCategory(models.TextChoices):
    GOODWILL = "goodwill", "Goodwill credit"
    CORRECTION = "correction", "Correction of an error"
    FEE_REFUND = "fee_refund", "Fee refund"
    CHARGEBACK = "chargeback", "Chargeback"
    BONUS = "bonus", "Bonus"
    OTHER = "other", "Other"


class Adjustment(models.Model):
    """A manual credit (positive) or debit (negative) of a client wallet by Finance, with a reason."""

    client = models.ForeignKey("identity.User", on_delete=models.PROTECT, related_name="adjustments")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    category = models.CharField(max_length=16, choices=AdjustmentCategory.choices)
    note = models.TextField()
    status = models.CharField(max_length=16, default="pending_approval")
    created_by = models.ForeignKey("identity.User", on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey("identity.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    entry_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="adjustment_amount_not_zero"),
            models.CheckConstraint(condition=~Q(note=""), name="adjustment_note_required"),
            models.CheckConstraint(condition=Q(status__regex=r"^(pending_approval|applied|rejected)$"),
                                   name="adjustment_status_valid"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("created_by")),
                                   name="adjustment_checker_not_maker"),
            models.CheckConstraint(condition=~Q(status="applied") | Q(entry_id__isnull=False),
                                   name="adjustment_applied_has_entry"),
        ]

    def __str__(self):
        return f"adjustment {self.amount} {self.currency} ({self.category}, {self.status})"


class DiscrepancyKind(models.TextChoices):
    PSP_ONLY = "psp_only", "In the PSP's settlement report only"
    LEDGER_ONLY = "ledger_only", "In our books only"
    AMOUNT_MISMATCH = "amount_mismatch", "Amount or currency differs"
    BALANCE_MISMATCH = "balance_mismatch", "Platform balance differs from the ledger mirror"


class Discrepancy(models.Model):
    """One difference found by reconciliation (reconciliation.py): a case for Finance, never auto-corrected.
    A re-run of the same day and source finds the same key and creates nothing new."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    day = models.DateField()
    source = models.CharField(max_length=60, help_text="psp:<provider code> or platform:<server code>")
    kind = models.CharField(max_length=20, choices=DiscrepancyKind.choices)
    reference = models.CharField(max_length=255, help_text="The PSP's payment/payout id, or the trading login.")
    currency = models.CharField(max_length=3, blank=True)
    our_amount = models.DecimalField(**MONEY, null=True, blank=True)
    their_amount = models.DecimalField(**MONEY, null=True, blank=True)
    our_side = models.JSONField(default=dict, blank=True)
    their_side = models.JSONField(default=dict, blank=True)
    deposit = models.ForeignKey(Deposit, null=True, blank=True, on_delete=models.PROTECT, related_name="discrepancies")
    withdrawal = models.ForeignKey(Withdrawal, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="discrepancies")
    detected_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey("identity.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "-detected_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["day", "source", "kind", "reference"], name="discrepancy_once_per_day"),
            models.CheckConstraint(condition=Q(status="open") | (Q(resolved_by__isnull=False) & ~Q(resolution_note="")),
                                   name="discrepancy_resolved_has_note_and_person"),
        ]
        indexes = [models.Index(fields=["status", "detected_at"], name="discrepancy_by_status")]

    def __str__(self):
        return f"{self.kind} {self.reference} on {self.day} ({self.status})"


# --- bank wires: statements imported or wires entered by Finance, matched to deposits by reference ---------------
# The matching rules and every write are in services/wires.py; the reference format in adapters/bank_wire.py.

class BankStatementImport(models.Model):
    """One uploaded bank statement file (CSV): who, when, what came of it. Rows become IncomingWire rows."""

    provider_code = models.CharField(max_length=40, help_text="The bank wire connection the statement belongs to.")
    file_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=16, help_text="brokeros | camt053")
    uploaded_by = models.ForeignKey("identity.User", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    rows_total = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0, help_text="Bank transaction ids imported before.")
    rows_skipped = models.PositiveIntegerField(default=0, help_text="Outgoing payments: not deposits.")
    rows_matched = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self):
        return f"statement {self.file_name} ({self.rows_imported}/{self.rows_total} imported)"


class WireStatus(models.TextChoices):
    UNMATCHED = "unmatched", "Unmatched"                    # no, unknown or invalid reference
    MISMATCHED_NAME = "mismatched_name", "Payer name differs"
    AMOUNT_MISMATCH = "amount_mismatch", "Amount or currency differs"
    MATCHED = "matched", "Matched to a deposit"
    RETURNED = "returned", "Returned to sender"
    IGNORED = "ignored", "Ignored"


WIRE_OPEN = (WireStatus.UNMATCHED, WireStatus.MISMATCHED_NAME, WireStatus.AMOUNT_MISMATCH)


class IncomingWire(models.Model):
    """Money received on the brokerage's bank account, as the bank reported it (statement) or Finance typed it.

    A bank transaction id is imported at most once per connection (a statement uploaded twice adds nothing);
    a deposit is paid by at most one wire; a match that overrides a payer-name difference needs a second person
    (Compliance or a Manager) to approve it, and the database refuses the proposer approving their own.
    """

    class Source(models.TextChoices):
        MANUAL = "manual", "Entered by hand"
        STATEMENT = "statement", "Statement import"

    provider_code = models.CharField(max_length=40)
    bank_transaction_id = models.CharField(max_length=100, blank=True,
                                           help_text="The bank's own id of the credit (unique per connection).")
    value_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    payer_name = models.CharField(max_length=200, blank=True)
    payer_account = models.CharField(max_length=64, blank=True, help_text="Payer IBAN or account number.")
    bank_reference = models.CharField(max_length=300, blank=True, help_text="Remittance information as sent.")
    source = models.CharField(max_length=10, choices=Source.choices)
    statement = models.ForeignKey(BankStatementImport, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="wires")
    status = models.CharField(max_length=16, choices=WireStatus.choices, default=WireStatus.UNMATCHED)
    reason = models.CharField(max_length=300, blank=True, help_text="Why it is in the queue (or how it matched).")
    reference_found = models.CharField(max_length=20, blank=True, help_text="The deposit reference read from it.")
    name_score = models.PositiveSmallIntegerField(null=True, blank=True)
    deposit = models.ForeignKey(Deposit, null=True, blank=True, on_delete=models.PROTECT, related_name="wires",
                                help_text="The deposit it pays (matched) or is about (queue).")
    proposed_deposit = models.ForeignKey(Deposit, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                         help_text="A match waiting for a second person's approval.")
    proposed_by = models.ForeignKey("identity.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(null=True, blank=True)
    proposal_note = models.TextField(blank=True)
    matched_by = models.ForeignKey("identity.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   help_text="Empty: matched automatically.")
    approved_by = models.ForeignKey("identity.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey("identity.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   help_text="Who returned or ignored it.")
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    entered_by = models.ForeignKey("identity.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(default=timezone.now, help_text="When it reached us (import or entry).")

    class Meta:
        ordering = ["received_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="incoming_wire_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in WireStatus]),
                                   name="incoming_wire_status_valid"),
            models.UniqueConstraint(fields=["provider_code", "bank_transaction_id"], condition=~Q(bank_transaction_id=""),
                                    name="incoming_wire_bank_txn_once"),
            models.UniqueConstraint(fields=["deposit"], condition=Q(status="matched"),
                                    name="incoming_wire_one_per_deposit"),
            models.CheckConstraint(condition=~Q(status="matched") | Q(deposit__isnull=False),
                                   name="incoming_wire_matched_has_deposit"),
            models.CheckConstraint(condition=~Q(status__in=["returned", "ignored"])
                                   | (Q(decided_by__isnull=False) & ~Q(note="")),
                                   name="incoming_wire_closed_has_person_and_note"),
            models.CheckConstraint(condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("proposed_by")),
                                   name="incoming_wire_checker_not_maker"),
            models.CheckConstraint(condition=Q(source="manual") | Q(statement__isnull=False),
                                   name="incoming_wire_statement_row_has_import"),
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="incoming_wire_by_status")]

    def __str__(self):
        return f"wire {self.amount} {self.currency} from {self.payer_name or '?'} ({self.status})"
