"""Every write of the support capability: open a ticket, reply (client, staff) or add an internal note, move the
status through states.py, assign, recategorise, and manage help articles. Each use case is one transaction that
writes its audit entry; attachments pass the KYC upload checks before anything is stored; notifications are
created in the same transaction (their e-mails leave after commit)."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.context import require_tenant
from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import permission_require
from tenant_apps.support import states
from tenant_apps.support.errors import SupportError, TransitionRefused
from tenant_apps.support.models import (
    Article,
    AuthorKind,
    Ticket,
    TicketAttachment,
    TicketMessage,
    TicketSource,
    format_number,
)

MAX_ATTACHMENTS = 5
BODY_MAX = 20_000
SUBJECT_MAX = 200


@dataclass(frozen=True)
class _Clean:
    data: bytes
    content_type: str
    extension: str


def _url(name: str, pk: int) -> str:
    return reverse(name, kwargs={"pk": pk}, urlconf="platform_core.urls_tenant")


def attachments_clean(uploads) -> list[_Clean]:
    """Every upload through the KYC document checks (compliance.documents: size, type by content, re-encoding),
    all of them before anything is stored; ValidationError({"attachment": [...]}) names each refusal."""
    from tenant_apps.compliance.documents import document_clean, read_document_upload

    uploads = [u for u in (uploads or []) if u is not None]
    if len(uploads) > MAX_ATTACHMENTS:
        raise ValidationError({"attachment": _("Attach at most %(n)d files to one message.") % {"n": MAX_ATTACHMENTS}},
                              code="too_many")
    cleaned, problems = [], []
    for upload in uploads:
        try:
            doc = document_clean(read_document_upload(upload))
        except ValidationError as exc:
            name = getattr(upload, "name", "") or _("attachment")
            problems.extend(f"{name}: {m}" for m in exc.messages)
        else:
            cleaned.append(_Clean(doc.data, doc.content_type, doc.extension))
    if problems:
        raise ValidationError({"attachment": problems}, code="attachment_refused")
    return cleaned


def _text(value: str, *, field: str, label: str, limit: int) -> str:
    text = (value or "").replace("\x00", "").strip()
    if not text:
        raise ValidationError({field: _("Enter the %(label)s.") % {"label": label}}, code="required")
    if len(text) > limit:
        raise ValidationError({field: _("The %(label)s is too long (at most %(n)d characters).")
                               % {"label": label, "n": limit}}, code="too_long")
    return text


def _store(message: TicketMessage, cleaned: list[_Clean], saved: list[str]) -> None:
    for item in cleaned:
        name = default_storage.save(f"support/{uuid.uuid4().hex}.{item.extension}", ContentFile(item.data))
        saved.append(name)  # deleted by the caller if the transaction fails
        TicketAttachment.objects.create(message=message, file=name, content_type=item.content_type,
                                        size=len(item.data), sha256=hashlib.sha256(item.data).hexdigest())


class _FilesGuard:
    """Delete files this use case stored when its transaction fails (Django has no on-rollback hook)."""

    def __init__(self):
        self.saved: list[str] = []

    def __enter__(self):
        return self.saved

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for name in self.saved:
                default_storage.delete(name)
        return False


def _audit(**kwargs):
    from tenant_apps.audit.services import audit_record

    return audit_record(**kwargs)


def _actor_of(user, fallback: str = "support-email"):
    return user if user is not None else fallback


# --- opening ----------------------------------------------------------------------------------------------

def ticket_open(*, client, subject: str, body: str, category: str = "other", severity: str = states.NORMAL,
                uploads=(), source: str = TicketSource.PORTAL, email_message_id: str = "", from_email: str = "",
                request=None) -> Ticket:
    """A new ticket with its first message. `client` None means an e-mail from an address no client has: the
    ticket is flagged unverified (staff triage it; nothing is sent to that address)."""
    require_tenant()
    if client is not None and client.kind != UserKind.CLIENT:
        raise SupportError(_("Only clients open tickets here."), code="not_a_client")
    if client is None and not from_email:
        raise SupportError(_("A ticket needs a client or a sender address."), code="no_sender")
    subject = _text(subject, field="subject", label=_("subject"), limit=SUBJECT_MAX)
    body = _text(body, field="body", label=_("message"), limit=BODY_MAX)
    if category not in states.CATEGORY_LABELS:
        raise ValidationError({"category": _("Choose a category.")}, code="invalid")
    if severity not in dict(states.SEVERITY_CHOICES):
        raise ValidationError({"severity": _("Choose a severity.")}, code="invalid")
    cleaned = attachments_clean(uploads)
    now = timezone.now()
    with _FilesGuard() as saved, transaction.atomic():
        ticket = Ticket.objects.create(
            client=client, from_email=(from_email or "")[:254], unverified=client is None, subject=subject,
            category=category, severity=severity, source=source, sla_due_at=now + states.FIRST_RESPONSE_SLA[severity],
            created_at=now, last_message_at=now, status_changed_at=now,
            team=_client_team(client))
        message = TicketMessage.objects.create(
            ticket=ticket, author=client, author_kind=AuthorKind.CLIENT if client else AuthorKind.SENDER, body=body,
            via_email=source == TicketSource.EMAIL, email_message_id=email_message_id[:300], created_at=now)
        _store(message, cleaned, saved)
        _audit(action="support.ticket_open", obj=ticket, subject=client, actor=_actor_of(client), request=request,
               changes={"number": ticket.number, "category": category, "severity": severity, "source": source,
                        "unverified": ticket.unverified, "attachments": len(cleaned)})
    return ticket


def _client_team(client):
    record = getattr(client, "client_record", None) if client is not None else None
    return getattr(record, "team", None)


# --- messages ---------------------------------------------------------------------------------------------

def client_reply(*, ticket: Ticket, client, body: str, uploads=(), via_email: bool = False,
                 email_message_id: str = "", request=None) -> TicketMessage:
    """The client answers on their own ticket: waiting/new → open; resolved or closed within the reopen window →
    reopened; later than that → refused (open a new ticket). The assignee is notified."""
    require_tenant()
    if ticket.client_id is None or client is None or ticket.client_id != client.pk:
        raise SupportError(_("This is not your ticket."), code="not_found")
    body = _text(body, field="body", label=_("message"), limit=BODY_MAX)
    cleaned = attachments_clean(uploads)
    now = timezone.now()
    with _FilesGuard() as saved, transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status in (states.RESOLVED, states.CLOSED):
            ended = ticket.closed_at if ticket.status == states.CLOSED else ticket.resolved_at
            ended = ended or ticket.status_changed_at
            if (now - ended).days >= states.reopen_days():
                raise SupportError(_("This ticket was closed more than %(n)d days ago. Open a new ticket and mention "
                                     "%(number)s.") % {"n": states.reopen_days(), "number": ticket.number},
                                   code="reopen_expired")
        message = TicketMessage.objects.create(ticket=ticket, author=client, author_kind=AuthorKind.CLIENT, body=body,
                                               via_email=via_email, email_message_id=email_message_id[:300],
                                               created_at=now)
        _store(message, cleaned, saved)
        if ticket.status != states.OPEN and ticket.status != states.NEW:
            _move(ticket, states.OPEN, actor=client, actor_kind=states.CLIENT, request=request,
                  reason="client replied", notify_client=False)
        ticket.last_message_at = now
        Ticket.objects.filter(pk=ticket.pk).update(last_message_at=now, updated_at=now)
        _audit(action="support.message_add", obj=ticket, subject=client, actor=client, request=request,
               changes={"message": message.pk, "author": "client", "internal": False, "attachments": len(cleaned),
                        "via_email": via_email})
        if ticket.assignee_id:
            from tenant_apps.notifications.services import notify

            notify(ticket.assignee, "support.client_reply", link=_url("backoffice_support_ticket", ticket.pk),
                   dedupe_key=f"support:client_reply:{message.pk}",
                   context={"number": ticket.number, "subject": ticket.subject})
    return message


def staff_reply(*, ticket: Ticket, staff, body: str, internal: bool = False, uploads=(), status: str = "",
                request=None) -> TicketMessage:
    """A reply the client sees (and is notified of) or an internal note (staff only). A reply is the first response
    for the SLA; it moves new/open tickets to "waiting on client" unless `status` names another allowed status."""
    require_tenant()
    permission_require(staff, "support", "reply")
    body = _text(body, field="body", label=_("message"), limit=BODY_MAX)
    if not internal and ticket.client_id is None:
        raise SupportError(_("This ticket came from an unverified address: nothing is sent to it. Add an internal "
                             "note, or ask the client to write from the e-mail of their account."),
                           code="unverified_sender")
    cleaned = attachments_clean(uploads)
    now = timezone.now()
    with _FilesGuard() as saved, transaction.atomic():
        ticket = Ticket.objects.select_for_update(of=("self",)).select_related("client").get(pk=ticket.pk)
        if status and not states.transition_allowed(ticket.status, status, states.STAFF) and status != ticket.status:
            raise TransitionRefused(_("A ticket that is %(from)s cannot become %(to)s.")
                                    % {"from": states.STATUS_LABELS[ticket.status],
                                       "to": states.STATUS_LABELS.get(status, status)})
        message = TicketMessage.objects.create(ticket=ticket, author=staff, author_kind=AuthorKind.STAFF, body=body,
                                               internal=internal, created_at=now)
        _store(message, cleaned, saved)
        changes = {"message": message.pk, "author": "staff", "internal": internal, "attachments": len(cleaned)}
        if not internal:
            updates = {"last_message_at": now, "updated_at": now}
            if ticket.first_response_at is None:
                updates["first_response_at"] = ticket.first_response_at = now
            Ticket.objects.filter(pk=ticket.pk).update(**updates)
            target = status or (states.WAITING if ticket.status in (states.NEW, states.OPEN) else "")
        else:
            target = status
        _audit(action="support.message_add", obj=ticket, subject=ticket.client, actor=staff, request=request,
               changes=changes)
        if target and target != ticket.status:
            _move(ticket, target, actor=staff, actor_kind=states.STAFF, request=request,
                  reason="staff reply" if not internal else "internal note", notify_client=bool(status))
        if not internal:
            from tenant_apps.notifications.services import notify

            notify(ticket.client, "support.reply", link=_url("support_ticket", ticket.pk),
                   dedupe_key=f"support:reply:{message.pk}",
                   context={"number": ticket.number, "subject": ticket.subject})
    return message


# --- status, assignment, fields ----------------------------------------------------------------------------

def _move(ticket: Ticket, to: str, *, actor, actor_kind: str, request=None, reason: str = "",
          notify_client: bool = True) -> Ticket:
    """The single place a ticket's status changes: checked against states.TRANSITIONS, audited, notified."""
    before = ticket.status
    if not states.transition_allowed(before, to, actor_kind):
        raise TransitionRefused(_("A ticket that is %(from)s cannot become %(to)s.")
                                % {"from": states.STATUS_LABELS.get(before, before),
                                   "to": states.STATUS_LABELS.get(to, to)})
    now = timezone.now()
    fields = {"status": to, "status_changed_at": now, "updated_at": now}
    if to == states.RESOLVED:
        fields["resolved_at"] = now
    if to == states.CLOSED:
        fields["closed_at"] = now
    if (before, to) in states.REOPENING:
        fields.update(resolved_at=None, closed_at=None)
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    for name, value in fields.items():
        setattr(ticket, name, value)
    _audit(action="support.ticket_status", obj=ticket, subject=ticket.client_id, actor=_actor_of(actor),
           request=request, changes={"status": [before, to]}, reason=reason[:300])
    if notify_client and ticket.client_id and actor_kind != states.CLIENT:
        from tenant_apps.notifications.services import notify

        notify(ticket.client, "support.status", link=_url("support_ticket", ticket.pk),
               dedupe_key=f"support:status:{ticket.pk}:{to}:{now.timestamp()}",
               context={"number": ticket.number, "subject": ticket.subject,
                        "status": states.CLIENT_STATUS[to]})
    return ticket


def ticket_transition(*, ticket: Ticket, to: str, actor, reason: str = "", request=None) -> Ticket:
    """Move a ticket by hand: staff (support:manage) or its own client (close only, per states.py)."""
    require_tenant()
    if to not in states.STATUS_LABELS:
        raise TransitionRefused(_("Unknown status."), code="unknown_status")
    is_client = actor is not None and actor.kind == UserKind.CLIENT
    if is_client:
        if ticket.client_id != actor.pk:
            raise SupportError(_("This is not your ticket."), code="not_found")
        if to != states.CLOSED:  # by hand a client only closes; replying is how they reopen or answer
            raise TransitionRefused(_("You can close your ticket; to continue it, send a reply."))
    else:
        permission_require(actor, "support", "manage")
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update(of=("self",)).select_related("client").get(pk=ticket.pk)
        return _move(ticket, to, actor=actor, actor_kind=states.CLIENT if is_client else states.STAFF,
                     request=request, reason=reason)


def ticket_update(*, ticket: Ticket, staff, category: str | None = None, severity: str | None = None,
                  request=None) -> Ticket:
    """Recategorise or change severity (the SLA follows the new severity while no one has answered)."""
    require_tenant()
    permission_require(staff, "support", "manage")
    if category is not None and category not in states.CATEGORY_LABELS:
        raise ValidationError({"category": _("Choose a category.")}, code="invalid")
    if severity is not None and severity not in dict(states.SEVERITY_CHOICES):
        raise ValidationError({"severity": _("Choose a severity.")}, code="invalid")
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        changes = {}
        if category is not None and category != ticket.category:
            changes["category"] = [ticket.category, category]
            ticket.category = category
        if severity is not None and severity != ticket.severity:
            changes["severity"] = [ticket.severity, severity]
            ticket.severity = severity
            if ticket.first_response_at is None:
                ticket.sla_due_at = ticket.created_at + states.FIRST_RESPONSE_SLA[severity]
                changes["sla_due_at"] = ticket.sla_due_at
        if changes:
            ticket.save(update_fields=["category", "severity", "sla_due_at", "updated_at"])
            _audit(action="support.ticket_update", obj=ticket, subject=ticket.client_id, actor=staff,
                   request=request, changes=changes)
    return ticket


def ticket_assign(*, ticket: Ticket, staff, assignee, request=None) -> Ticket:
    """Give the ticket to a staff member who may answer tickets (or to nobody); they are told."""
    require_tenant()
    permission_require(staff, "support", "manage")
    if assignee is not None:
        from tenant_apps.identity.permissions import has_perm

        if assignee.kind != UserKind.STAFF or not assignee.is_active or not has_perm(assignee, "support", "reply"):
            raise ValidationError({"assignee": _("Choose a staff member who answers tickets.")}, code="invalid")
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        before = ticket.assignee_id
        new = assignee.pk if assignee else None
        if before == new:
            return ticket
        ticket.assignee = assignee
        ticket.save(update_fields=["assignee", "updated_at"])
        _audit(action="support.ticket_assign", obj=ticket, subject=ticket.client_id, actor=staff, request=request,
               changes={"assignee": [before, new]})
        if assignee is not None and assignee.pk != staff.pk:
            from tenant_apps.notifications.services import notify

            notify(assignee, "support.assigned", link=_url("backoffice_support_ticket", ticket.pk),
                   dedupe_key=f"support:assigned:{ticket.pk}:{assignee.pk}:{timezone.now().timestamp()}",
                   context={"number": ticket.number, "subject": ticket.subject})
    return ticket


# --- knowledge base ---------------------------------------------------------------------------------------

ARTICLE_FIELDS = ("language", "slug", "title", "body", "category", "published")


def article_save(*, staff, data: dict, article: Article | None = None, request=None) -> Article:
    """Create or edit a help article (support:manage); a language we do not serve or a taken slug is refused."""
    from django.conf import settings
    from django.utils.text import slugify

    from tenant_apps.audit.services import diff_fields

    require_tenant()
    permission_require(staff, "support", "manage")
    errors = {}
    language = (data.get("language") or "").strip().lower()
    if language not in {code for code, _name in settings.LANGUAGES}:
        errors["language"] = _("Choose a language the portal is offered in.")
    slug = slugify(data.get("slug") or "")[:80]
    if not slug:
        errors["slug"] = _("Enter a short address (letters, digits and dashes).")
    title = (data.get("title") or "").strip()
    if not title or len(title) > 200:
        errors["title"] = _("Enter a title of at most 200 characters.")
    body = (data.get("body") or "").replace("\x00", "").strip()
    if not body:
        errors["body"] = _("Write the article.")
    category = data.get("category") or "other"
    if category not in states.CATEGORY_LABELS:
        errors["category"] = _("Choose a category.")
    if not errors and Article.objects.filter(language=language, slug=slug).exclude(
            pk=getattr(article, "pk", None)).exists():
        errors["slug"] = _("An article with this address already exists in this language.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = Article(**{f: getattr(article, f) for f in ARTICLE_FIELDS}) if article else Article()
        target = article or Article()
        target.language, target.slug, target.title, target.body = language, slug, title, body
        target.category, target.published, target.updated_by = category, bool(data.get("published")), staff
        target.save()
        _audit(action="support.article_save", obj=target, actor=staff, request=request,
               changes=diff_fields(before, target, ("language", "slug", "title", "category", "published")))
    return target


def ticket_number_parse(text: str) -> int | None:
    """The ticket id in "T-000123" (any case, with or without the dash); None when there is none."""
    import re

    match = re.search(r"\bT-?(\d{1,12})\b", text or "", re.IGNORECASE)
    return int(match.group(1)) if match else None


__all__ = ["ticket_open", "client_reply", "staff_reply", "ticket_transition", "ticket_update", "ticket_assign",
           "article_save", "attachments_clean", "ticket_number_parse", "format_number"]
