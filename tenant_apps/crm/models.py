"""The client's CRM record: who owns the relationship (owner, team), where the client came from (attribution),
how they were routed, what they accepted (consents) and where they are in the lifecycle (derived, never typed)."""
from django.conf import settings
from django.db import models
from django.db.models import Q

LIFECYCLE_STAGES = ("lead", "registered", "kyc_pending", "kyc_approved", "funded", "active", "dormant")
STAGE_CHOICES = [(s, s.replace("_", " ").capitalize().replace("Kyc", "KYC")) for s in LIFECYCLE_STAGES]


class ClientRecord(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_record")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_clients", help_text="The staff member who owns the relationship.")
    team = models.ForeignKey("identity.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="clients")
    country = models.CharField(max_length=2, blank=True)
    phone = models.CharField(max_length=32, blank=True, help_text="E.164, e.g. +35722000000.")
    language = models.CharField(max_length=8, blank=True)
    # First-touch attribution, copied from the signed cookie at registration and never overwritten.
    ref_code = models.CharField(max_length=64, blank=True, help_text="IB referral code the client arrived with.")
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    landing_page = models.CharField(max_length=300, blank=True)
    # How the lead reached the CRM: registration (IB link = ref_code set), api, import.
    lead_source = models.CharField(max_length=16, default="registration", blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    # The routing decision.
    routing_rule = models.ForeignKey("crm.RoutingRule", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    routed_at = models.DateTimeField(null=True, blank=True)
    routing_reason = models.CharField(max_length=300, blank=True)
    # Derived by crm.lifecycle; every change is a StageTransition row.
    stage = models.CharField(max_length=16, choices=STAGE_CHOICES, default="lead")
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["owner"]), models.Index(fields=["team"]), models.Index(fields=["stage"])]

    def __str__(self):
        return f"client record of user {self.user_id}"


class ConsentRecord(models.Model):
    """One acceptance of one legal document version by a client (append-only)."""

    class Document(models.TextChoices):
        TERMS = "terms", "Terms and conditions"
        RISK_DISCLOSURE = "risk_disclosure", "Risk disclosure"

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    document = models.CharField(max_length=32, choices=Document.choices)
    version = models.CharField(max_length=32)
    accepted_at = models.DateTimeField()
    ip = models.CharField(max_length=45, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "document", "version"], name="crm_consent_once")]

    def __str__(self):
        return f"{self.client_id} accepted {self.document} {self.version}"


class CrmPolicy(models.Model):
    """The brokerage's CRM settings (one row): legal document versions and the dormancy window."""

    singleton = models.BooleanField(default=True, unique=True)
    terms_version = models.CharField(max_length=32, default="2026-11")
    risk_disclosure_version = models.CharField(max_length=32, default="2026-11")
    dormant_after_days = models.PositiveIntegerField(default=90)
    active_window_days = models.PositiveIntegerField(default=30, help_text="Activity within this many days = active.")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(singleton=True), name="crm_policy_single_row")]

    def __str__(self):
        return f"CRM policy (terms {self.terms_version}, dormant after {self.dormant_after_days} days)"


class RoutingRule(models.Model):
    """Sends a new client to a team. Rules are tried by priority (lowest first); the first match wins.
    An empty criterion matches anything."""

    class Source(models.TextChoices):
        ANY = "", "Any source"
        IB_REFERRAL = "ib_referral", "Referred by an IB"
        UTM_SOURCE = "utm_source", "Campaign source (utm_source) equals"

    name = models.CharField(max_length=80)
    priority = models.PositiveIntegerField(default=100)
    enabled = models.BooleanField(default=True)
    countries = models.JSONField(default=list, blank=True, help_text="ISO codes; empty = any country.")
    language = models.CharField(max_length=8, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, blank=True)
    source_value = models.CharField(max_length=100, blank=True, help_text="The utm_source, when matching on it.")
    campaign = models.CharField(max_length=100, blank=True, help_text="utm_campaign equals; empty = any.")
    team = models.ForeignKey("identity.Team", on_delete=models.PROTECT, related_name="routing_rules")
    is_default = models.BooleanField(default=False, help_text="Used when no rule matches.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "id"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                               name="crm_one_default_routing_rule")]

    def __str__(self):
        return self.name


class TeamRoutingCursor(models.Model):
    """Round-robin position within a team: locked FOR UPDATE while an owner is chosen (race-safe)."""

    team = models.OneToOneField("identity.Team", on_delete=models.CASCADE, related_name="routing_cursor")
    last_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    def __str__(self):
        return f"round-robin cursor of team {self.team_id}: after user {self.last_owner_id}"


class StageTransition(models.Model):
    """A lifecycle move of one client, timestamped, with the fact that caused it (funnel reports)."""

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stage_transitions")
    from_stage = models.CharField(max_length=16, choices=STAGE_CHOICES)
    to_stage = models.CharField(max_length=16, choices=STAGE_CHOICES)
    at = models.DateTimeField()
    fact = models.CharField(max_length=200)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["to_stage", "at"]), models.Index(fields=["client", "at"])]

    def __str__(self):
        return f"user {self.client_id}: {self.from_stage} → {self.to_stage} at {self.at:%Y-%m-%d %H:%M}"


class Task(models.Model):
    """Something a staff member must do for a client, by a due time; an optional reminder (notified once)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_tasks")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_tasks", help_text="The staff member who must do it.")
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True, max_length=4000)
    due_at = models.DateTimeField()
    reminder_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="Set when the reminder was sent (once).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=100, default="manual", help_text='"manual" or "automation:<rule>".')
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["owner", "status", "due_at"]), models.Index(fields=["client", "status"]),
                   models.Index(fields=["status", "reminder_at"])]

    def __str__(self):
        return f"task {self.pk}: {self.title} ({self.status})"


class ClientNote(models.Model):
    """A note on a client, or a logged call or email (with its outcome). Append-only."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        CALL = "call", "Call"
        EMAIL = "email", "Email"

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_notes")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.NOTE)
    body = models.TextField(max_length=4000)
    outcome = models.CharField(max_length=100, blank=True, help_text="Calls/emails: e.g. reached, no answer.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "created_at"])]

    def __str__(self):
        return f"{self.kind} on user {self.client_id}"


class TeamWorkingHours(models.Model):
    """When a team takes new leads: weekdays and a daily window in the team's own timezone. A team without a
    row is always open. Outside the window, routing passes the lead on (see crm.routing)."""

    team = models.OneToOneField("identity.Team", on_delete=models.CASCADE, related_name="working_hours")
    timezone = models.CharField(max_length=64, default="UTC")
    weekdays = models.JSONField(default=list, help_text="0 = Monday … 6 = Sunday.")
    start = models.TimeField()
    end = models.TimeField()

    def __str__(self):
        return f"hours of team {self.team_id}: {self.weekdays} {self.start}-{self.end} {self.timezone}"


class LeadImport(models.Model):
    """One CSV upload of leads: parsed and previewed, then confirmed; large files run as a job with progress."""

    class Status(models.TextChoices):
        PREVIEW = "preview", "Preview"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREVIEW)
    rows = models.JSONField(default=list, help_text="Parsed rows with their verdict (new / duplicate / error).")
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    merged_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"lead import {self.pk} ({self.status})"
