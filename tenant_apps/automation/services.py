"""Every write of the automation capability: segments and rules (audited), and the evaluation a worker runs — match,
record one AutomationAction per (rule, client, trigger) under a unique constraint, act now or in the next working
window (tenant time zone), and log each run."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.context import require_tenant
from tenant_apps.automation.errors import AutomationError, DefinitionError
from tenant_apps.automation.models import (
    Action,
    ActionStatus,
    AutomationAction,
    AutomationRule,
    AutomationRun,
    AutomationSettings,
    Segment,
)
from tenant_apps.automation.segments import definition_validate
from tenant_apps.automation.triggers import PRESETS_BY_CODE, REACHES_PEOPLE, rule_validate
from tenant_apps.identity.permissions import permission_require

log = logging.getLogger(__name__)
ACTOR = "automation"
DEFAULT_WORK_DAYS = [1, 2, 3, 4, 5]
MAX_ERRORS_LOGGED = 50


# --- segments and rules -----------------------------------------------------------------------------------------

@transaction.atomic
def segment_save(*, actor, name: str, definition, description: str = "", segment: Segment | None = None,
                 request=None) -> Segment:
    """Create or update a segment; the definition is validated (DefinitionError: nothing is saved)."""
    from tenant_apps.audit.services import audit_lock, audit_record

    require_tenant()
    permission_require(actor, "automation", "manage")
    name = (name or "").strip()
    problems = [] if name and len(name) <= 100 else [_("Give the segment a name (at most 100 characters).")]
    if name and Segment.objects.filter(name__iexact=name).exclude(pk=getattr(segment, "pk", None)).exists():
        problems.append(_("Another segment is already called %(name)s.") % {"name": name})
    try:
        definition = definition_validate(definition)
    except DefinitionError as exc:
        problems += exc.problems
    if problems:
        raise DefinitionError(problems)
    audit_lock()
    before = {"name": segment.name, "definition": segment.definition} if segment else None
    segment = segment or Segment(created_by=actor)
    segment.name, segment.description, segment.definition = name, (description or "").strip()[:300], definition
    segment.save()
    changes = {k: [before[k] if before else None, v] for k, v in
               {"name": segment.name, "definition": segment.definition}.items() if not before or before[k] != v}
    audit_record(action="automation.segment_saved", obj=segment, changes=changes, actor=actor, request=request)
    return segment


@transaction.atomic
def rule_save(*, actor, name: str, trigger: str, params: dict, actions: list, segment: Segment | None = None,
              enabled: bool = False, rule: AutomationRule | None = None, preset: str = "",
              request=None) -> AutomationRule:
    """Create or update a rule (automation:manage); parameters and actions are validated, audited old → new."""
    from tenant_apps.audit.services import audit_lock, audit_record

    require_tenant()
    permission_require(actor, "automation", "manage")
    name = (name or "").strip()
    problems = [] if name and len(name) <= 100 else [_("Give the rule a name (at most 100 characters).")]
    try:
        params, actions = rule_validate(trigger=trigger, params=params, actions=actions)
    except DefinitionError as exc:
        problems += exc.problems
    if problems:
        raise DefinitionError(problems)
    audit_lock()
    fields = ("name", "trigger", "params", "actions", "segment_id", "enabled")
    before = {f: getattr(rule, f) for f in fields} if rule else {}
    rule = rule or AutomationRule(preset=preset)
    rule.name, rule.trigger, rule.params, rule.actions = name, trigger, params, actions
    rule.segment, rule.enabled = segment, bool(enabled)
    rule.save()
    changes = {f: [before.get(f), getattr(rule, f)] for f in fields if before.get(f) != getattr(rule, f)}
    audit_record(action="automation.rule_saved", obj=rule, changes=changes, actor=actor, request=request)
    return rule


def rule_params_update(*, actor, rule: AutomationRule, params: dict, name: str | None = None,
                       segment: Segment | None = None, request=None) -> AutomationRule:
    """Edit a rule's parameters (and name/segment), keeping its trigger and actions."""
    return rule_save(actor=actor, name=rule.name if name is None else name, trigger=rule.trigger,
                     params=params, actions=list(rule.actions), segment=segment,
                     enabled=rule.enabled, rule=rule, request=request)


@transaction.atomic
def rule_set_enabled(*, actor, rule: AutomationRule, enabled: bool, request=None) -> AutomationRule:
    from tenant_apps.audit.services import audit_record

    require_tenant()
    permission_require(actor, "automation", "manage")
    rule = AutomationRule.objects.select_for_update().get(pk=rule.pk)
    if rule.enabled != bool(enabled):
        rule.enabled = bool(enabled)
        rule.save(update_fields=["enabled", "updated_at"])
        audit_record(action="automation.rule_enabled" if enabled else "automation.rule_disabled", obj=rule,
                     changes={"enabled": [not rule.enabled, rule.enabled]}, actor=actor, request=request)
    return rule


def preset_enable(*, actor, code: str, request=None) -> AutomationRule:
    """Make (once) and enable the rule of a preset."""
    preset = PRESETS_BY_CODE.get(code)
    if preset is None:
        raise AutomationError(_("Unknown preset %(code)r.") % {"code": code}, code="unknown_preset")
    existing = AutomationRule.objects.filter(preset=code).first()
    if existing is not None:
        return rule_set_enabled(actor=actor, rule=existing, enabled=True, request=request)
    return rule_save(actor=actor, name=str(preset.name), trigger=preset.trigger, params=dict(preset.params),
                     actions=list(preset.actions), enabled=True, preset=code, request=request)


# --- working hours ---------------------------------------------------------------------------------------------

@transaction.atomic
def working_hours_save(*, actor, start_hour: int, end_hour: int, days: list[int], request=None) -> AutomationSettings:
    """The window (brokerage time zone) in which rules may reach people; audited old → new."""
    from tenant_apps.audit.services import audit_lock, audit_record

    require_tenant()
    permission_require(actor, "automation", "manage")
    problems = []
    if not all(isinstance(h, int) and not isinstance(h, bool) for h in (start_hour, end_hour)) \
            or not 0 <= start_hour < end_hour <= 24:
        problems.append(_("The window runs from a start hour to a later end hour, between 0 and 24."))
    if not isinstance(days, list) or not days or not all(isinstance(d, int) and 1 <= d <= 7 for d in days):
        problems.append(_("Choose at least one working day."))
    if problems:
        raise DefinitionError(problems)
    audit_lock()
    current = AutomationSettings.objects.select_for_update().first() or AutomationSettings(work_days=DEFAULT_WORK_DAYS)
    before = {"start": current.work_start_hour, "end": current.work_end_hour, "days": current.work_days}
    current.work_start_hour, current.work_end_hour, current.work_days = start_hour, end_hour, sorted(set(days))
    current.save()
    after = {"start": current.work_start_hour, "end": current.work_end_hour, "days": current.work_days}
    audit_record(action="automation.working_hours_saved", obj=current, actor=actor, request=request,
                 changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return current


def working_window(now: datetime) -> tuple[bool, datetime]:
    """(open now?, when the window is next open — `now` itself if open), in the brokerage's time zone."""
    from tenant_apps.automation.selectors import working_hours

    settings = working_hours()
    days = set(settings.work_days or DEFAULT_WORK_DAYS)
    try:
        zone = ZoneInfo(require_tenant().timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    if local.isoweekday() in days and settings.work_start_hour <= local.hour < settings.work_end_hour:
        return True, now
    for offset in range(0, 8):
        day = (local + timedelta(days=offset)).date()
        start = datetime(day.year, day.month, day.day, settings.work_start_hour, tzinfo=zone)
        if start > local and day.isoweekday() in days:
            return False, start
    return False, now + timedelta(days=1)  # no working day configured: try again tomorrow


# --- evaluation (the worker's job) ------------------------------------------------------------------------------

def _perform(action: AutomationAction, rule: AutomationRule, *, now: datetime) -> str:
    """Do the rule's actions for one client (inside the caller's transaction). Returns what happened."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.identity.models import User

    client = User.objects.get(pk=action.client_id)
    done = []
    for code in rule.actions:
        if code == Action.TASK:
            done.append(_task_for_owner(client, rule, action, now=now))
        elif code == Action.NOTIFY:
            from tenant_apps.notifications.services import notify

            notify(client, rule.params["message_kind"], context={},
                   dedupe_key=f"automation:{rule.pk}:{action.trigger_key}"[:150])
            done.append("message sent")
        elif code == Action.MARK_DORMANT:
            from tenant_apps.crm.lifecycle import lifecycle_mark_dormant

            moved = lifecycle_mark_dormant(client=client, fact=f"automation: {rule.name}", now=now)
            done.append("marked dormant" if moved else "not funded or active: stage unchanged")
    result = "; ".join(done)[:300]
    action.status, action.performed_at, action.result, action.actions = ActionStatus.DONE, now, result, rule.actions
    action.save(update_fields=["status", "performed_at", "result", "actions"])
    audit_record(action="automation.action_performed", obj=action, subject=client, actor=ACTOR, reason=rule.name,
                 changes={"actions": [None, list(rule.actions)], "trigger": [None, action.trigger_key],
                          "result": [None, result]})
    return result


def _task_for_owner(client, rule: AutomationRule, action: AutomationAction, *, now: datetime) -> str:
    from django.core.exceptions import ValidationError

    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.crm.services import task_create

    record = ClientRecord.objects.filter(user_id=client.pk).select_related("owner").first()
    if record is None or record.owner is None:
        return "no owner: no task"
    try:
        task_create(client=client, owner=record.owner, title=rule.params["task_title"],
                    due_at=now + timedelta(days=rule.params.get("task_due_days", 1)),
                    source=f"automation:{rule.pk}", notes=_("Automation rule: %(rule)s") % {"rule": rule.name})
    except ValidationError as exc:
        return f"task not created: {'; '.join(exc.messages)}"
    return f"task for {record.owner.email}"


def _record(rule: AutomationRule, run: AutomationRun, *, client_id: int, key: str, now: datetime, open_now: bool,
            next_open: datetime) -> str:
    """One match: claim (rule, client, trigger) — a duplicate is skipped — then act now or defer. Returns
    "done", "deferred", "duplicate" or "failed"."""
    from tenant_apps.audit.services import audit_lock

    defer = bool(set(rule.actions) & REACHES_PEOPLE) and not open_now
    try:
        with transaction.atomic():
            audit_lock()  # first, like every audited write: the same lock order everywhere
            try:
                with transaction.atomic():
                    action = AutomationAction.objects.create(
                        rule=rule, client_id=client_id, trigger_key=key[:120], run=run, detected_at=now,
                        status=ActionStatus.DEFERRED, due_at=next_open if defer else now)
            except IntegrityError:
                return "duplicate"  # another run (or worker, right now) has this trigger already
            if defer:
                return "deferred"
            _perform(action, rule, now=now)
            return "done"
    except Exception as exc:  # noqa: BLE001 - one client's failure is logged; the run goes on
        log.exception("automation rule %s failed for client %s", rule.pk, client_id)
        run.errors.append({"client": client_id, "error": f"{exc.__class__.__name__}: {exc}"[:300]})
        try:
            with transaction.atomic():
                AutomationAction.objects.create(rule=rule, client_id=client_id, trigger_key=key[:120], run=run,
                                                detected_at=now, due_at=now, status=ActionStatus.FAILED,
                                                result=f"{exc.__class__.__name__}: {exc}"[:300])
        except IntegrityError:
            pass
        return "failed"


def _perform_due(rule: AutomationRule, run: AutomationRun, *, now: datetime) -> int:
    """Deferred actions of this rule whose working window has come: done, or cancelled when the trigger no longer
    holds (the client deposited meanwhile)."""
    from tenant_apps.audit.services import audit_lock
    from tenant_apps.automation.selectors import rule_matches

    performed = 0
    due = list(AutomationAction.objects.filter(rule=rule, status=ActionStatus.DEFERRED, due_at__lte=now)
               .order_by("id").values_list("pk", flat=True)[:1000])
    for pk in due:
        try:
            with transaction.atomic():
                audit_lock()
                action = (AutomationAction.objects.select_for_update(skip_locked=True)
                          .filter(pk=pk, status=ActionStatus.DEFERRED).first())
                if action is None:
                    continue  # another worker has it
                still = rule_matches(rule, now=now).filter(user_id=action.client_id,
                                                           trigger_key=action.trigger_key).exists()
                if not still:
                    action.status, action.performed_at = ActionStatus.CANCELLED, now
                    action.result = "no longer applies"
                    action.save(update_fields=["status", "performed_at", "result"])
                    continue
                action.run = run
                _perform(action, rule, now=now)
                performed += 1
        except Exception as exc:  # noqa: BLE001
            log.exception("deferred automation action %s failed", pk)
            run.errors.append({"action": pk, "error": f"{exc.__class__.__name__}: {exc}"[:300]})
            AutomationAction.objects.filter(pk=pk, status=ActionStatus.DEFERRED).update(
                status=ActionStatus.FAILED, result=f"{exc.__class__.__name__}: {exc}"[:300])
    return performed


def rule_evaluate(*, rule: AutomationRule, now: datetime | None = None) -> AutomationRun:
    """Evaluate one rule now and log the run (matched clients, actions performed, deferred, errors)."""
    from tenant_apps.automation.selectors import rule_matches, rule_new_matches

    require_tenant()
    now = now or timezone.now()
    run = AutomationRun.objects.create(rule=rule, started_at=now)
    open_now, next_open = working_window(now)
    try:
        if open_now:
            run.actions_count += _perform_due(rule, run, now=now)
        run.matched_count = rule_matches(rule, now=now).count()
        fresh = list(rule_new_matches(rule, now=now).order_by("user_id").values_list("user_id", "trigger_key")[:5000])
        for client_id, key in fresh:
            outcome = _record(rule, run, client_id=client_id, key=key, now=now, open_now=open_now,
                              next_open=next_open)
            run.actions_count += outcome == "done"
            run.deferred_count += outcome == "deferred"
    except Exception as exc:  # noqa: BLE001 - a broken rule must not stop the others; the run shows why
        log.exception("automation rule %s could not be evaluated", rule.pk)
        run.errors.append({"error": f"{exc.__class__.__name__}: {exc}"[:300]})
    run.errors = run.errors[:MAX_ERRORS_LOGGED]
    run.finished_at = timezone.now() if timezone.now() > now else now
    run.save(update_fields=["matched_count", "actions_count", "deferred_count", "errors", "finished_at"])
    AutomationRule.objects.filter(pk=rule.pk).update(last_run_at=now)
    return run


def automation_evaluate(*, now: datetime | None = None) -> list[AutomationRun]:
    """Evaluate every enabled rule of the current brokerage (the periodic per-tenant job)."""
    require_tenant()
    rules = list(AutomationRule.objects.filter(enabled=True).select_related("segment").order_by("id"))
    return [rule_evaluate(rule=rule, now=now) for rule in rules]
