"""Reports data: the report builder's saved definitions and the export jobs that build files in a worker."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class SavedReport(models.Model):
    """A report builder definition with a name (reports.definitions validates it). Private to its owner unless
    shared, in which case every member of staff who may run reports sees it."""

    name = models.CharField(max_length=120)
    definition = models.JSONField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_reports")
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="saved_report_name_set")]

    def __str__(self):
        return self.name


class ReportJob(models.Model):
    """One export built by a worker (reports.tasks): queued → running (progress 0–100) → done (content) | failed."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    name = models.CharField(max_length=120)
    definition = models.JSONField()
    format = models.CharField(max_length=4, choices=Format.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_jobs")
    # The built file, kept in the brokerage's own schema (never a shared file store): exports are small tables.
    content = models.BinaryField(null=True, blank=True)
    file_name = models.CharField(max_length=160, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["requested_by", "created_at"], name="report_job_by_requester")]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_job_progress_max"),
            models.CheckConstraint(condition=Q(status__in=["queued", "running", "done", "failed"]),
                                   name="report_job_status_valid"),
            models.CheckConstraint(condition=~Q(status="done") | (Q(content__isnull=False) & Q(progress=100)),
                                   name="report_job_done_has_file"),
        ]

    def __str__(self):
        return f"report job {self.pk} {self.name} ({self.status} {self.progress}%)"
