"""Saved client segments, automation rules ("when X, if Y, then Z"), their runs and every action they took."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Segment(models.Model):
    """A saved filter over clients; `definition` is validated by automation.segments before it is stored."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    definition = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Trigger(models.TextChoices):
    KYC_APPROVED_UNFUNDED = "kyc_approved_unfunded", _("KYC approved N days ago and still unfunded")
    NO_DEPOSIT = "no_deposit", _("No deposit in N days (after funding)")
    NO_TRADE = "no_trade", _("No trade in N days (funded clients)")
    BALANCE_BELOW = "balance_below", _("Wallet balance below a threshold")


class Action(models.TextChoices):
    TASK = "task", _("Create a task for the client's owner")
    NOTIFY = "notify", _("Send the client a message (in-app and e-mail)")
    MARK_DORMANT = "mark_dormant", _("Mark the client dormant")


class AutomationRule(models.Model):
    name = models.CharField(max_length=100)
    # The preset this rule was made from (one row per preset); blank for a manager's own rule.
    preset = models.CharField(max_length=40, blank=True)
    trigger = models.CharField(max_length=32, choices=Trigger.choices)
    # {"days": 3} / {"amount": "50", "currency": "USD"} / plus "task_title", "task_due_days", "message_kind".
    params = models.JSONField(default=dict)
    actions = models.JSONField(default=list, help_text='Action codes in order, e.g. ["task", "notify"].')
    segment = models.ForeignKey(Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="rules",
                                help_text="Only clients in this segment (optional condition).")
    enabled = models.BooleanField(default=False)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["preset"], condition=~Q(preset=""),
                                               name="automation_rule_one_per_preset")]

    def __str__(self):
        return self.name

    @property
    def action_labels(self) -> list[str]:
        return [str(Action(code).label) for code in self.actions if code in Action.values]


class AutomationSettings(models.Model):
    """The brokerage's working window for actions that reach people (tasks, messages), in its own time zone."""

    singleton = models.BooleanField(default=True, unique=True)
    work_start_hour = models.PositiveSmallIntegerField(default=9)
    work_end_hour = models.PositiveSmallIntegerField(default=18)
    # ISO weekdays 1 (Monday) … 7 (Sunday).
    work_days = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="automation_settings_single_row"),
            models.CheckConstraint(condition=Q(work_start_hour__lt=models.F("work_end_hour"), work_end_hour__lte=24),
                                   name="automation_settings_window_valid"),
        ]

    def __str__(self):
        return f"working hours {self.work_start_hour}:00–{self.work_end_hour}:00"


class AutomationRun(models.Model):
    """One evaluation of one rule."""

    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    matched_count = models.PositiveIntegerField(default=0)
    actions_count = models.PositiveIntegerField(default=0, help_text="Actions performed in this run.")
    deferred_count = models.PositiveIntegerField(default=0, help_text="New triggers held for the working window.")
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["rule", "-started_at"])]

    def __str__(self):
        return f"run of rule {self.rule_id} at {self.started_at:%Y-%m-%d %H:%M}"


class ActionStatus(models.TextChoices):
    DEFERRED = "deferred", _("Waiting for working hours")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled (no longer applies)")
    FAILED = "failed", _("Failed")


class AutomationAction(models.Model):
    """What a rule did (or will do) for one client and one trigger. The unique key is the guarantee that a rule
    never acts twice on the same trigger, whatever the number of workers evaluating it at once."""

    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="actions_taken")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    trigger_key = models.CharField(max_length=120)
    run = models.ForeignKey(AutomationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    status = models.CharField(max_length=12, choices=ActionStatus.choices)
    actions = models.JSONField(default=list, help_text="The action codes performed.")
    detected_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="When the actions may reach people (working hours).")
    performed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["rule", "client", "trigger_key"],
                                               name="automation_action_once_per_trigger")]
        indexes = [models.Index(fields=["status", "due_at"], condition=Q(status="deferred"),
                                name="automation_action_deferred")]

    def __str__(self):
        return f"rule {self.rule_id} → user {self.client_id} ({self.trigger_key}): {self.status}"
