"""Writes of the CRM: a client's registration record (attribution, consents, routing) and routing rules."""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tenancy.context import require_tenant
from tenant_apps.crm.lifecycle import lifecycle_refresh, policy
from tenant_apps.crm.models import ClientRecord, ConsentRecord, RoutingRule
from tenant_apps.crm.routing import owner_next, routing_decide
from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import permission_require

RULE_FIELDS = ("name", "priority", "enabled", "countries", "language", "source", "source_value", "campaign",
               "team_id", "is_default")
# Called inside client_register's transaction: fn(client=, record=, now=). partners (apps.ready) assigns the
# referring IB from the registration moment.
CLIENT_REGISTERED_HOOKS: list = []


def _restricted_countries() -> set[str]:
    from tenant_apps.brokerage.models import LegalEntity

    entity = LegalEntity.objects.filter(is_default=True).first() or LegalEntity.objects.order_by("id").first()
    return {str(c).upper() for c in ((entity.rules or {}).get("restricted_countries") or [])} if entity else set()


def country_is_restricted(country: str) -> bool:
    require_tenant()
    return country.upper() in _restricted_countries()


def consent_versions() -> dict[str, str]:
    rules = policy()
    return {ConsentRecord.Document.TERMS: rules.terms_version,
            ConsentRecord.Document.RISK_DISCLOSURE: rules.risk_disclosure_version}


@transaction.atomic
def client_register(*, user, country: str, language: str, phone: str, attribution: dict | None = None,
                    ip: str = "", request=None, now: datetime | None = None) -> ClientRecord:
    """A new client's CRM record: contact facts, first-touch attribution, accepted document versions, routed to a
    team and owner by the tenant's rules, the decision recorded and audited, the lifecycle stage set."""
    from tenant_apps.audit.services import audit_lock, audit_record

    require_tenant()
    audit_lock()  # first: routing below locks the team's round-robin cursor
    now = now or timezone.now()
    attribution = attribution or {}
    if user.kind != UserKind.CLIENT or (language and user.language != language):
        user.kind, user.language = UserKind.CLIENT, language or user.language
        user.save(update_fields=["kind", "language"])
    touched = parse_datetime(attribution.get("at") or "") if attribution.get("at") else None
    record = ClientRecord.objects.create(
        user=user, country=country.upper(), phone=phone, language=language,
        ref_code=attribution.get("ref", "")[:64],
        **{f: attribution.get(f, "")[:100] for f in ("utm_source", "utm_medium", "utm_campaign", "utm_content",
                                                        "utm_term")},
        landing_page=attribution.get("landing_page", "")[:300], first_touch_at=touched,
        stage="lead",
    )
    for document, version in consent_versions().items():
        ConsentRecord.objects.create(client=user, document=document, version=version, accepted_at=now, ip=ip[:45])
    decision, owner = lead_route(record, now=now)
    audit_record(action="crm.client_registered", obj=record, subject=user, request=request, actor=user,
                 changes={"country": [None, record.country], "language": [None, language],
                          "source": [None, record.utm_source or ("ib:" + record.ref_code if record.ref_code else "")],
                          "consents": [None, consent_versions()]})
    audit_record(action="crm.client_routed", obj=record, subject=user, actor="crm-routing",
                 changes={"team": [None, decision.team.name if decision.team else None],
                          "owner": [None, owner.email if owner else None],
                          "rule": [None, decision.rule.name if decision.rule else None]},
                 reason=record.routing_reason)
    for hook in CLIENT_REGISTERED_HOOKS:
        hook(client=user, record=record, now=now)
    lifecycle_refresh(client=user, now=now)
    record.refresh_from_db()
    return record


def lead_signup_complete(*, user, country: str, language: str, phone: str, ip: str = "", request=None,
                         now: datetime | None = None) -> ClientRecord:
    """An imported / API lead signs up with the lead's e-mail address: the same person, so the same record — owner,
    team, source and history are kept; the country, language and phone they typed now are theirs, the documents
    they accepted are recorded, and the stage follows (registered once the password is set). Audited."""
    from tenant_apps.audit.services import audit_lock, audit_record

    require_tenant()
    audit_lock()
    now = now or timezone.now()
    record = ClientRecord.objects.select_for_update().get(user_id=user.pk)
    before = {"country": record.country, "language": record.language, "phone": record.phone}
    record.country, record.language = country.upper(), language or record.language
    record.phone = phone or record.phone
    record.save(update_fields=["country", "language", "phone", "updated_at"])
    if language and user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    for document, version in consent_versions().items():
        ConsentRecord.objects.get_or_create(client=user, document=document, version=version,
                                            defaults={"accepted_at": now, "ip": ip[:45]})
    audit_record(action="crm.lead_signed_up", obj=record, subject=user, request=request, actor=user,
                 changes={k: [v, getattr(record, k)] for k, v in before.items() if v != getattr(record, k)}
                 | {"lead_source": [record.lead_source, record.lead_source], "consents": [None, consent_versions()]})
    lifecycle_refresh(client=user, now=now)
    record.refresh_from_db()
    return record


def lead_route(record: ClientRecord, *, now: datetime):
    """Route `record` by the tenant's rules (working hours at `now`) and round-robin, and save the decision.
    Call inside a transaction that took audit_lock() first. Returns (decision, owner)."""
    decision = routing_decide(record, now=now)
    owner = owner_next(decision.team) if decision.team is not None else None
    reason = decision.reason + (f" Owner {owner.email} (round-robin)." if owner else
                                " No eligible owner in the team." if decision.team is not None else "")
    record.routing_rule, record.team, record.owner = decision.rule, decision.team, owner
    record.routed_at, record.routing_reason = now, reason[:300]
    record.save()
    return decision, owner


def _rule_validate(data: dict) -> dict:
    errors = {}
    if not str(data.get("name") or "").strip():
        errors["name"] = "Give the rule a name."
    if data.get("source") == RoutingRule.Source.UTM_SOURCE and not str(data.get("source_value") or "").strip():
        errors["source_value"] = "Name the utm_source to match."
    if data.get("is_default") and RoutingRule.objects.filter(is_default=True).exclude(pk=data.get("pk")).exists():
        errors["is_default"] = "Another rule is already the default."
    if errors:
        from django.core.exceptions import ValidationError

        raise ValidationError(errors)
    return data


@transaction.atomic
def routing_rule_save(*, actor, data: dict, rule: RoutingRule | None = None, request=None) -> RoutingRule:
    """Create or update a routing rule (crm.routing:manage), audited with old → new."""
    from tenant_apps.audit.services import audit_lock, audit_record, audit_snapshot, diff_fields

    require_tenant()
    permission_require(actor, "crm.routing", "manage")
    audit_lock()
    _rule_validate({**data, "pk": rule.pk if rule else None})
    before = audit_snapshot(rule, RULE_FIELDS) if rule else None
    rule = rule or RoutingRule()
    for field in RULE_FIELDS:
        if field in data:
            setattr(rule, field, data[field])
    rule.countries = sorted({str(c).strip().upper() for c in (rule.countries or []) if str(c).strip()})
    rule.save()
    changes = diff_fields(before, rule, RULE_FIELDS)
    audit_record(action="crm.routing_rule_saved", obj=rule, changes=changes, actor=actor, request=request)
    return rule


# --- tasks and notes (issue 8, item 3) -------------------------------------------------------------------------

TASK_SOURCE_MAX = 100


def _task_validate(*, client, owner, title: str, due_at, reminder_at, source: str, notes: str) -> None:
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    errors = {}
    if client is None or getattr(client, "kind", None) != UserKind.CLIENT:
        errors["client"] = _("Choose a client.")
    if owner is not None and (getattr(owner, "kind", None) != UserKind.STAFF or not owner.is_active):
        errors["owner"] = _("The owner must be an active staff member.")
    if not (title or "").strip():
        errors["title"] = _("Give the task a title.")
    elif len(title.strip()) > 200:
        errors["title"] = _("Keep the title under 200 characters.")
    if not isinstance(due_at, datetime) or timezone.is_naive(due_at):
        errors["due_at"] = _("Give the task a due date and time.")
    if reminder_at is not None and (not isinstance(reminder_at, datetime) or timezone.is_naive(reminder_at)):
        errors["reminder_at"] = _("The reminder needs a date and time.")
    if not source or len(source) > TASK_SOURCE_MAX or not (source == "manual" or source.startswith("automation:")):
        errors["source"] = _('The source is "manual" or "automation:<rule>".')
    if len(notes or "") > 4000:
        errors["notes"] = _("Keep the notes under 4,000 characters.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def task_create(*, client, owner, title: str, due_at: datetime, source: str = "manual", created_by=None,
                notes: str = "", reminder_at: datetime | None = None, request=None):
    """A task for `owner` (a staff user, or None = the client's CRM owner) about `client`, due at `due_at`,
    audited (crm.task_created). source is "manual" or "automation:<rule>"; created_by None = the system.
    Raises ValidationError (field → message) on bad input, changing nothing."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.crm.models import Task

    require_tenant()
    if owner is None and client is not None:
        record = ClientRecord.objects.filter(user_id=client.pk).select_related("owner").first()
        owner = record.owner if record else None
    _task_validate(client=client, owner=owner, title=title, due_at=due_at, reminder_at=reminder_at, source=source,
                   notes=notes)
    task = Task.objects.create(client=client, owner=owner, title=title.strip(), notes=(notes or "").strip(),
                               due_at=due_at, reminder_at=reminder_at, source=source, created_by=created_by)
    audit_record(action="crm.task_created", obj=task, subject=client, request=request,
                 actor=created_by if created_by is not None else source,
                 changes={"title": [None, task.title], "owner": [None, owner.email if owner else None],
                          "due_at": [None, due_at.isoformat()], "source": [None, source]})
    return task


@transaction.atomic
def task_complete(*, task, actor, status: str = "done", request=None, now: datetime | None = None):
    """Close an open task as done (default) or cancelled, audited (crm.task_completed / crm.task_cancelled).
    `task` is a Task or its id; actor a staff user or a system name. Raises ValidationError if already closed."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    from tenant_apps.audit.services import audit_lock, audit_record
    from tenant_apps.crm.models import Task

    require_tenant()
    audit_lock()
    if status not in (Task.Status.DONE, Task.Status.CANCELLED):
        raise ValidationError({"status": _("A task is closed as done or cancelled.")})
    task_id = getattr(task, "pk", task)
    task = Task.objects.select_for_update().filter(pk=task_id).first()
    if task is None:
        raise ValidationError({"task": _("No such task.")})
    if task.status != Task.Status.OPEN:
        raise ValidationError({"task": _("This task is already closed.")})
    task.status, task.completed_at = status, now or timezone.now()
    task.save(update_fields=["status", "completed_at"])
    audit_record(action="crm.task_completed" if status == Task.Status.DONE else "crm.task_cancelled", obj=task,
                 subject=task.client_id, actor=actor, request=request,
                 changes={"status": [Task.Status.OPEN, status]})
    return task


def task_reminders_send(*, now: datetime | None = None, batch: int = 500) -> int:
    """Notify each open task's owner once when its reminder time has passed. Each task is claimed by a
    conditional update (reminded_at IS NULL → now) so two runs never notify twice. Returns reminders sent."""
    from django.urls import reverse

    from tenant_apps.crm.models import Task
    from tenant_apps.notifications.services import notify

    require_tenant()
    now = now or timezone.now()
    due = list(Task.objects.filter(status=Task.Status.OPEN, reminder_at__lte=now, reminded_at__isnull=True,
                                   owner__isnull=False).select_related("owner", "client").order_by("id")[:batch])
    sent = 0
    for task in due:
        with transaction.atomic():
            if not Task.objects.filter(pk=task.pk, reminded_at__isnull=True).update(reminded_at=now):
                continue
            notify(task.owner, "crm.task_reminder", dedupe_key=f"crm-task-{task.pk}",
                   context={"title": task.title, "client": task.client.full_name or task.client.email,
                            "due_at": timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M")},
                   link=reverse("backoffice_client", args=[task.client_id]))
            sent += 1
    return sent


@transaction.atomic
def client_note_add(*, client, author, kind: str, body: str, outcome: str = "", request=None):
    """A note, or a logged call or email, on a client's record (audited crm.note_added)."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    from tenant_apps.audit.services import audit_record
    from tenant_apps.crm.models import ClientNote

    require_tenant()
    errors = {}
    if kind not in ClientNote.Kind.values:
        errors["kind"] = _("Choose note, call or email.")
    if not (body or "").strip():
        errors["body"] = _("Write something.")
    elif len(body) > 4000:
        errors["body"] = _("Keep it under 4,000 characters.")
    if len(outcome or "") > 100:
        errors["outcome"] = _("Keep the outcome under 100 characters.")
    if client is None or getattr(client, "kind", None) != UserKind.CLIENT:
        errors["client"] = _("Choose a client.")
    if errors:
        raise ValidationError(errors)
    note = ClientNote.objects.create(client=client, author=author, kind=kind, body=body.strip(),
                                     outcome=(outcome or "").strip() if kind != ClientNote.Kind.NOTE else "")
    audit_record(action="crm.note_added", obj=note, subject=client, actor=author, request=request,
                 changes={"kind": [None, kind], "outcome": [None, note.outcome or None]})
    return note


@transaction.atomic
def working_hours_save(*, actor, team, timezone_name: str, weekdays: list[int], start, end, request=None):
    """Set a team's working hours for lead routing (crm.routing:manage), audited old → new."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    from tenant_apps.audit.services import audit_record, audit_snapshot, diff_fields
    from tenant_apps.crm.models import TeamWorkingHours

    require_tenant()
    permission_require(actor, "crm.routing", "manage")
    days = sorted({int(d) for d in weekdays})
    if not days or any(d < 0 or d > 6 for d in days):
        raise ValidationError({"weekdays": _("Choose at least one day.")})
    if start == end:
        raise ValidationError({"end": _("The window must not start and end at the same time.")})
    fields = ("timezone", "weekdays", "start", "end")
    hours = TeamWorkingHours.objects.select_for_update().filter(team=team).first()
    before = audit_snapshot(hours, fields) if hours else None
    hours = hours or TeamWorkingHours(team=team)
    hours.timezone, hours.weekdays, hours.start, hours.end = timezone_name, days, start, end
    hours.save()
    audit_record(action="crm.working_hours_saved", obj=hours, actor=actor, request=request,
                 changes=diff_fields(before, hours, fields), reason=f"team {team.name}")
    return hours


@transaction.atomic
def working_hours_clear(*, actor, team, request=None) -> bool:
    """Remove a team's working hours (always open again). Returns whether there were any."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.crm.models import TeamWorkingHours

    require_tenant()
    permission_require(actor, "crm.routing", "manage")
    hours = TeamWorkingHours.objects.filter(team=team).first()
    if hours is None:
        return False
    audit_record(action="crm.working_hours_cleared", obj=hours, actor=actor, request=request,
                 reason=f"team {team.name}")
    hours.delete()
    return True
