"""Automated KYC checks of one brokerage: sanctions screening results, risk assessments, compliance tasks,
in-app notices to clients, and the external KYC vendor slot (configuration and its durable webhook inbox)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ScreeningStatus(models.TextChoices):
    CLEAR = "clear", "Clear"
    HIT = "hit", "Possible match"
    UNSCREENABLE = "unscreenable", "Could not be screened"


class Disposition(models.TextChoices):
    PENDING = "", "Not reviewed"
    TRUE_MATCH = "true_match", "True match"
    FALSE_POSITIVE = "false_positive", "False positive"


class ScreeningCheck(models.Model):
    """One screening of one client against one list version, with exactly the input that was used.
    Never shown to the client."""

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="screening_checks")
    list_source = models.CharField(max_length=32)
    list_id = models.PositiveIntegerField(help_text="sanctions.SanctionsList id (public schema)")
    list_version = models.PositiveIntegerField()
    input_name = models.CharField(max_length=200)
    input_date_of_birth = models.DateField(null=True, blank=True)
    input_nationality = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=ScreeningStatus.choices)
    # [{"entry_id", "ent_num", "name", "matched_name", "matched_kind", "score", "name_score", "reasons", ...}]
    hits = models.JSONField(default=list, blank=True)
    unscreenable_reason = models.CharField(max_length=300, blank=True)
    trigger = models.CharField(max_length=16, default="submission", help_text="submission, rescreen or manual")
    screened_at = models.DateTimeField(default=timezone.now)
    disposition = models.CharField(max_length=16, choices=Disposition.choices, blank=True, default="")
    disposition_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-screened_at", "-id"]
        indexes = [models.Index(fields=["client", "-screened_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["clear", "hit", "unscreenable"]),
                                   name="screening_check_status_valid"),
            models.CheckConstraint(condition=Q(disposition__in=["", "true_match", "false_positive"]),
                                   name="screening_check_disposition_valid"),
            models.CheckConstraint(condition=Q(disposition="") | Q(reviewed_at__isnull=False),
                                   name="screening_check_disposition_has_review_time"),
        ]

    def __str__(self):
        return f"screening of user {self.client_id} v{self.list_version}: {self.status}"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class RiskAssessment(models.Model):
    """A client's risk score at one moment, with the factors that made it. The newest one is current."""

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="risk_assessments")
    score = models.PositiveSmallIntegerField()
    level = models.CharField(max_length=8, choices=RiskLevel.choices)
    # [{"code": "country_high_risk", "label": "...", "points": 20}, ...]
    factors = models.JSONField(default=list, blank=True)
    # Factors that could not be evaluated and why ({"device_ip_country": "no GeoIP source"}).
    skipped = models.JSONField(default=dict, blank=True)
    # Set by Compliance (no PEP list is loaded): carried over to every later assessment of the client.
    pep = models.BooleanField(default=False)
    pep_set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    screening_check = models.ForeignKey(ScreeningCheck, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=100), name="risk_score_0_100"),
            models.CheckConstraint(condition=Q(level__in=["low", "medium", "high"]), name="risk_level_valid"),
        ]

    def __str__(self):
        return f"risk of user {self.client_id}: {self.score} ({self.level})"


class TaskKind(models.TextChoices):
    SCREENING_REVIEW = "screening_review", "Review a screening hit"
    MANUAL_REVIEW = "manual_review", "Review a KYC application"
    RESCREEN_HIT = "rescreen_hit", "Re-screening found a possible match"
    DOCUMENT_EXPIRING = "document_expiring", "Document expiring"
    DOCUMENT_EXPIRED = "document_expired", "Document expired"
    VENDOR_DECISION = "vendor_decision", "Confirm a KYC vendor's decision"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"


class ComplianceTask(models.Model):
    """Work for Compliance, opened by the system. `dedupe_key` makes a job's task idempotent."""

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="compliance_tasks")
    kind = models.CharField(max_length=24, choices=TaskKind.choices)
    status = models.CharField(max_length=8, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    due = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, help_text="Internal: never shown to the client.")
    created_by_system = models.BooleanField(default=True)
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        ordering = ["status", "due", "id"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=~Q(dedupe_key=""),
                                    name="compliance_task_once_per_key"),
            models.CheckConstraint(condition=Q(status__in=["open", "done"]), name="compliance_task_status_valid"),
        ]

    def __str__(self):
        return f"{self.kind} for user {self.client_id} ({self.status})"


class ClientNotice(models.Model):
    """An in-app notice to a client (the Trader's Room shows unread ones). Idempotent per dedupe_key."""

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kyc_notices")
    kind = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    body = models.TextField()
    dedupe_key = models.CharField(max_length=200, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=~Q(dedupe_key=""),
                                    name="client_notice_once_per_key"),
        ]

    def __str__(self):
        return f"{self.kind} to user {self.client_id}"


class VendorConfig(models.Model):
    """An external KYC vendor connection of this brokerage; secrets encrypted (payments.crypto)."""

    vendor = models.CharField(max_length=32, unique=True, help_text="adapter code, e.g. sumsub")
    enabled = models.BooleanField(default=True)
    level_name = models.CharField(max_length=100, blank=True)
    api_base_url = models.URLField(blank=True, default="https://api.sumsub.com")
    app_token_encrypted = models.TextField(blank=True)
    app_secret_encrypted = models.TextField(blank=True)
    webhook_secret_encrypted = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"KYC vendor {self.vendor}"


class VendorWebhookStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected (bad signature)"


class VendorWebhook(models.Model):
    """One delivery from a KYC vendor, stored raw before anything else. Genuine deliveries are unique per
    (vendor, digest of the body): a redelivery of the same payload is absorbed by the database."""

    vendor = models.CharField(max_length=32)
    body_sha256 = models.CharField(max_length=64)
    raw_body = models.BinaryField()
    headers = models.JSONField(default=dict, blank=True)
    signature_valid = models.BooleanField()
    signature_error = models.CharField(max_length=255, blank=True)
    event_type = models.CharField(max_length=64, blank=True)
    applicant_id = models.CharField(max_length=100, blank=True)
    external_user_id = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=32, blank=True, help_text="our mapped outcome, once processed")
    status = models.CharField(max_length=16, choices=VendorWebhookStatus.choices)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "body_sha256"], condition=Q(signature_valid=True),
                                    name="vendor_webhook_once_per_body"),
            models.CheckConstraint(condition=Q(signature_valid=True) | Q(status="rejected"),
                                   name="vendor_webhook_unsigned_is_rejected"),
        ]

    def __str__(self):
        return f"{self.vendor} webhook {self.pk} ({self.status})"
