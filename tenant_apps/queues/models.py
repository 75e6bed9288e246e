"""Work-queue state that belongs to no single capability: who holds which item (claims) and each queue's SLA."""
from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SLA_MAX_MINUTES = 60 * 24 * 30  # 30 days


class QueueClaim(models.Model):
    """One item of one queue held by one staff member. The unique constraint decides a race: one claim wins."""

    queue = models.CharField(max_length=40, help_text=_("The queue's code in the registry."))
    object_id = models.PositiveBigIntegerField(help_text=_("The primary key of the item in its own table."))
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="queue_claims")
    claimed_at = models.DateTimeField(default=timezone.now)
    # Set when a manager gave the item to someone (None: the holder claimed it).
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "object_id"], name="queue_claim_one_per_item")]
        indexes = [models.Index(fields=["queue", "claimed_by"], name="queue_claim_by_holder")]

    def __str__(self):
        return f"{self.queue}:{self.object_id} held by user {self.claimed_by_id}"


class QueueSetting(models.Model):
    """A brokerage's own SLA for one queue (managers edit it); without a row the queue's default applies."""

    queue = models.CharField(max_length=40, unique=True)
    sla_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(SLA_MAX_MINUTES)])
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(sla_minutes__gte=1, sla_minutes__lte=SLA_MAX_MINUTES),
                                              name="queue_setting_sla_in_range")]

    def __str__(self):
        return f"{self.queue}: {self.sla_minutes} min"
