"""Trading data: clients' trading accounts, their synced state, positions and deals, sync cursors, leverage
requests and drift reports."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenant_apps.brokerage.models import AccountType, TradingServerConfig


class AccountStatus(models.TextChoices):
    PENDING_CREATION = "pending_creation", "Being created"
    ACTIVE = "active", "Active"
    BLOCKED = "blocked", "Trading blocked"
    ARCHIVED = "archived", "Archived"
    FAILED = "failed", "Could not be created"


class TradingAccount(models.Model):
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="trading_accounts")
    server = models.ForeignKey(TradingServerConfig, on_delete=models.PROTECT, related_name="accounts")
    account_type = models.ForeignKey(AccountType, on_delete=models.PROTECT, related_name="trading_accounts")
    # Chosen by the platform before the first attempt so a retry after a lost answer is safe (3004 → settle).
    login = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    leverage = models.PositiveIntegerField()
    is_demo = models.BooleanField(default=False)
    status = models.CharField(max_length=24, choices=AccountStatus.choices, default=AccountStatus.PENDING_CREATION)
    status_reason = models.CharField(max_length=300, blank=True)
    platform_group = models.CharField(max_length=120)
    created_on_server_at = models.DateTimeField(null=True, blank=True)
    creation_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The server password waits here (encrypted) until the client has seen it once, then it is erased.
    pending_password_encrypted = models.TextField(blank=True)
    credentials_shown = models.BooleanField(default=False)
    # A staff change (block/unblock) that has not reached the server yet: the next sync pushes it instead of
    # reporting the difference as drift.
    server_push_pending = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["server", "login"], name="trading_account_login_unique"),
            models.CheckConstraint(condition=Q(leverage__gte=1), name="trading_account_leverage_positive"),
        ]
        indexes = [models.Index(fields=["client", "status"])]

    def __str__(self):
        return f"{self.login} ({self.status})"


class AccountSnapshot(models.Model):
    """The latest synced money state of one account (one row, upserted by the sync)."""

    account = models.OneToOneField(TradingAccount, on_delete=models.CASCADE, primary_key=True,
                                   related_name="snapshot")
    balance = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    credit = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    equity = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    margin = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    free_margin = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    margin_level = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    floating_profit = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    synced_at = models.DateTimeField()

    def __str__(self):
        return f"snapshot of account {self.account_id} at {self.synced_at}"


class Position(models.Model):
    server = models.ForeignKey(TradingServerConfig, on_delete=models.CASCADE, related_name="+")
    ticket = models.BigIntegerField()
    login = models.BigIntegerField()
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4)
    volume_lots = models.DecimalField(max_digits=18, decimal_places=4)
    price_open = models.DecimalField(max_digits=20, decimal_places=6)
    price_current = models.DecimalField(max_digits=20, decimal_places=6)
    profit = models.DecimalField(max_digits=20, decimal_places=2)
    swap = models.DecimalField(max_digits=20, decimal_places=2)
    opened_at = models.DateTimeField()
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["-ticket"]
        constraints = [models.UniqueConstraint(fields=["server", "ticket"], name="trading_position_ticket_unique")]
        indexes = [models.Index(fields=["server", "login"])]

    def __str__(self):
        return f"position {self.ticket} ({self.login} {self.symbol})"


class Deal(models.Model):
    """A deal as the server reported it: stored once per (server, ticket), never updated."""

    server = models.ForeignKey(TradingServerConfig, on_delete=models.CASCADE, related_name="+")
    ticket = models.BigIntegerField()
    login = models.BigIntegerField()
    time = models.DateTimeField()
    symbol = models.CharField(max_length=32, blank=True)
    side = models.CharField(max_length=4, blank=True)
    action = models.IntegerField()
    entry = models.IntegerField()
    volume_lots = models.DecimalField(max_digits=18, decimal_places=4)
    price = models.DecimalField(max_digits=20, decimal_places=6)
    profit = models.DecimalField(max_digits=20, decimal_places=2)
    commission = models.DecimalField(max_digits=20, decimal_places=2)
    swap = models.DecimalField(max_digits=20, decimal_places=2)
    position_id = models.BigIntegerField(default=0)
    comment = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-ticket"]
        constraints = [models.UniqueConstraint(fields=["server", "ticket"], name="trading_deal_ticket_unique")]
        indexes = [models.Index(fields=["server", "login", "time"])]

    def __str__(self):
        return f"deal {self.ticket} ({self.login})"


class SyncState(models.Model):
    server = models.OneToOneField(TradingServerConfig, on_delete=models.CASCADE, primary_key=True,
                                  related_name="sync_state")
    deal_cursor = models.CharField(max_length=64, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    unreachable_since = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lag_seconds = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"sync of server {self.server_id}"


class LeverageRequestState(models.TextChoices):
    AUTO_APPROVED = "auto_approved", "Applied automatically"
    PENDING = "pending", "Waiting for review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class LeverageRequest(models.Model):
    account = models.ForeignKey(TradingAccount, on_delete=models.CASCADE, related_name="leverage_requests")
    requested = models.PositiveIntegerField()
    previous = models.PositiveIntegerField()
    within_limits = models.BooleanField()
    state = models.CharField(max_length=16, choices=LeverageRequestState.choices)
    reason = models.CharField(max_length=300, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"leverage 1:{self.requested} for account {self.account_id} ({self.state})"


class DriftReport(models.Model):
    """The server's state of an account differs from the platform's, changed outside BrokerOS."""

    account = models.ForeignKey(TradingAccount, on_delete=models.CASCADE, related_name="drift_reports")
    field = models.CharField(max_length=32)
    platform_value = models.CharField(max_length=120)
    server_value = models.CharField(max_length=120)
    detected_at = models.DateTimeField(auto_now_add=True)
    resolved = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One open report per account and field: the next sync does not pile up duplicates.
            models.UniqueConstraint(fields=["account", "field"], condition=Q(resolved=False),
                                    name="trading_drift_one_open_per_field"),
        ]

    def __str__(self):
        return f"drift of {self.field} on account {self.account_id}"
