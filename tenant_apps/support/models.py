"""Support tickets (client ↔ staff threads with internal notes and attachments) and the knowledge base."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenant_apps.support import states


class TicketSource(models.TextChoices):
    PORTAL = "portal", _("Trader's Room")
    EMAIL = "email", _("E-mail")
    STAFF = "staff", _("Back office")


class Ticket(models.Model):
    # client is empty only for a ticket e-mailed in by an address no client has (flagged unverified).
    client = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="support_tickets")
    from_email = models.EmailField(max_length=254, blank=True)
    unverified = models.BooleanField(default=False)
    subject = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=states.CATEGORY_CHOICES, default="other")
    severity = models.CharField(max_length=10, choices=states.SEVERITY_CHOICES, default=states.NORMAL)
    status = models.CharField(max_length=20, choices=states.STATUS_CHOICES, default=states.NEW)
    source = models.CharField(max_length=10, choices=TicketSource.choices, default=TicketSource.PORTAL)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_tickets")
    team = models.ForeignKey("identity.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="support_tickets")
    sla_due_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_message_at", "-pk"]
        indexes = [models.Index(fields=["client", "-last_message_at"]),
                   models.Index(fields=["status", "sla_due_at"]),
                   models.Index(fields=["assignee", "status"])]
        constraints = [models.CheckConstraint(condition=models.Q(client__isnull=False) | models.Q(unverified=True),
                                              name="support_ticket_client_or_unverified")]

    def __str__(self):
        return f"{self.number} {self.subject}"

    @property
    def number(self) -> str:
        return format_number(self.pk)

    @property
    def client_status(self) -> str:
        return states.CLIENT_STATUS.get(self.status, self.status)

    @property
    def sla_breached(self) -> bool:
        return (self.first_response_at is None and self.sla_due_at is not None and self.status in states.ACTIVE
                and self.sla_due_at < timezone.now())


def format_number(pk) -> str:
    """The number people quote: T-000123."""
    return f"T-{int(pk):06d}"


class AuthorKind(models.TextChoices):
    CLIENT = "client", _("Client")
    STAFF = "staff", _("Staff")
    SENDER = "sender", _("E-mail sender")  # an unverified address
    SYSTEM = "system", _("System")


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    author_kind = models.CharField(max_length=10, choices=AuthorKind.choices)
    # An internal note is for staff only: never shown in the Trader's Room, never notified to the client.
    internal = models.BooleanField(default=False)
    body = models.TextField()
    via_email = models.BooleanField(default=False)
    email_message_id = models.CharField(max_length=300, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "internal", "created_at"])]

    def __str__(self):
        return f"{'note' if self.internal else 'message'} {self.pk} on {format_number(self.ticket_id)}"


class TicketAttachment(models.Model):
    """A file checked like a KYC document (size, type by content, re-encoded) and stored under a generated name."""

    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"attachment {self.pk} of message {self.message_id}"

    @property
    def download_name(self) -> str:
        extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(self.content_type, "bin")
        return f"{format_number(self.message.ticket_id)}-{self.pk}.{extension}"


class Article(models.Model):
    """A help article in one language; the same slug in another language is its translation."""

    language = models.CharField(max_length=8, default="en")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    # Markdown-ish plain text, rendered by support.markup (escaped first: no HTML from here ever reaches a page).
    body = models.TextField()
    category = models.CharField(max_length=20, choices=states.CATEGORY_CHOICES, default="other")
    published = models.BooleanField(default=False)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "title"]
        constraints = [models.UniqueConstraint(fields=["language", "slug"], name="support_article_language_slug")]

    def __str__(self):
        return f"{self.slug} ({self.language})"
