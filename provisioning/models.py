"""Provisioning jobs with visible steps, and the pre-rendered schema blueprint. SHARED: public schema."""
import uuid

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"
    # Ran, then undone because a later step failed inside the same all-or-nothing transaction.
    ROLLED_BACK = "rolled_back", "Undone"


class ProvisioningJob(models.Model):
    class Source(models.TextChoices):
        CLI = "cli", "Command line"
        CONSOLE = "console", "Operator console"
        API = "api", "Platform API"
        DEMO = "demo", "Demo seed"
        RESTORE = "restore", "Restore from export"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    brokerage = models.ForeignKey("tenancy.Brokerage", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="provisioning_jobs")
    slug = models.SlugField(max_length=40)
    params = models.JSONField(help_text="Validated input (never a password).")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    source = models.CharField(max_length=16, choices=Source.choices)
    method = models.CharField(max_length=16, blank=True, help_text="How the schema was built: pool, blueprint, migrations.")
    atomic = models.BooleanField(default=False, help_text="All steps ran in one transaction (fast path): all or nothing.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    error = models.TextField(blank=True)
    # Shown once to whoever started the job: the first Super Admin's invite link (valid until used).
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"provision {self.slug} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)

    @property
    def progress_percent(self) -> int:
        steps = list(self.steps.all())
        if not steps:
            return 0
        done = sum(1 for s in steps if s.status == StepStatus.SUCCEEDED)
        return int(100 * done / len(steps))


class ProvisioningStep(models.Model):
    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=40)
    label = models.CharField(max_length=80)
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    detail = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["job", "order"]
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="provisioning_step_unique")]

    def __str__(self):
        return f"{self.job.slug}:{self.name} {self.status}"


class SchemaBlueprint(models.Model):
    """The template schema rendered as SQL once per migration state, replayed to build a schema in one go."""

    fingerprint = models.CharField(max_length=64, unique=True, help_text="md5 of the template's applied migrations.")
    sql = models.TextField()
    table_count = models.PositiveIntegerField()
    statement_count = models.PositiveIntegerField()
    render_ms = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"blueprint {self.fingerprint[:10]} ({self.table_count} tables)"


class MigrationRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Some tenants failed"


class MigrationRun(models.Model):
    """One `migrate_tenants` run over every tenant schema (template first). Per-tenant outcomes below."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=MigrationRunStatus.choices, default=MigrationRunStatus.RUNNING)
    workers = models.PositiveSmallIntegerField(default=1)
    expected_migrations = models.PositiveIntegerField(default=0, help_text="Migrations a current schema has applied.")
    schemas_total = models.PositiveIntegerField(default=0)
    up_to_date = models.PositiveIntegerField(default=0, help_text="Skipped by the one-query check.")
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0, help_text="Tenant rows without a schema (left alone).")
    check_ms = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    resumed_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                     help_text="The earlier run that did not finish cleanly.")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"migration run {self.pk} ({self.status})"


class TenantMigrationStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Migrated"
    FAILED = "failed", "Failed"
    MISSING = "missing", "No schema"


class TenantMigrationResult(models.Model):
    """What one run did to one schema it had to migrate (up-to-date schemas get no row, only a count)."""

    run = models.ForeignKey(MigrationRun, on_delete=models.CASCADE, related_name="results")
    brokerage = models.ForeignKey("tenancy.Brokerage", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="migration_results")
    schema_name = models.CharField(max_length=63)
    status = models.CharField(max_length=16, choices=TenantMigrationStatus.choices)
    applied = models.JSONField(default=list, blank=True, help_text="app.migration names applied by this run.")
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["schema_name", "-id"], name="provisioning_tmr_schema_idx")]

    def __str__(self):
        return f"{self.schema_name}: {self.status}"
