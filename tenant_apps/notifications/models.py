"""Every message to a client, IB or staff member (in-app row + e-mail delivery state) and who wants which channel."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Importance(models.IntegerChoices):
    """The in-app ranking: action required first, then account events, promotions last."""
    PROMOTION = 1, _("Promotion")
    ACCOUNT_EVENT = 2, _("Account event")
    ACTION_REQUIRED = 3, _("Action required")


class Category(models.TextChoices):
    MONEY = "money", _("Deposits and withdrawals")
    SECURITY = "security", _("Security")
    ACCOUNT = "account", _("Account and verification")
    SUPPORT = "support", _("Support")
    PROMOTIONS = "promotions", _("News and offers")


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In the portal")
    EMAIL = "email", _("E-mail")


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=64)
    category = models.CharField(max_length=20, choices=Category.choices)
    importance = models.PositiveSmallIntegerField(choices=Importance.choices, default=Importance.ACCOUNT_EVENT)
    # Rendered once, in the recipient's language at the time (what they read later does not change under them).
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=8, default="en")
    dedupe_key = models.CharField(max_length=150)
    in_app = models.BooleanField(default=True)  # False: the recipient switched the category off in the portal
    email_wanted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            # A replayed webhook or a retried job never notifies twice.
            models.UniqueConstraint(fields=["recipient", "kind", "dedupe_key"], name="notification_once_per_key"),
        ]
        indexes = [
            models.Index(fields=["recipient", "in_app", "read_at"], name="notification_unread_idx"),
            models.Index(fields=["recipient", "-created_at"], name="notification_recent_idx"),
            models.Index(fields=["email_wanted", "email_sent_at"], name="notification_outbox_idx",
                         condition=models.Q(email_wanted=True, email_sent_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """A choice the user made; without a row the category's default applies (kinds.CATEGORY_DEFAULTS)."""
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences")
    category = models.CharField(max_length=20, choices=Category.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "category", "channel"], name="notification_pref_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.category}/{self.channel}: {'on' if self.enabled else 'off'}"
