"""Reads of the automation capability: segment membership in ONE query, rule matches with their trigger keys, and
the bounded lists the back-office pages show."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from tenancy.context import require_tenant
from tenant_apps.automation.models import (
    AutomationAction,
    AutomationRule,
    AutomationRun,
    AutomationSettings,
    Segment,
)
from tenant_apps.automation.segments import definition_filter, definition_validate

PREVIEW_LIMIT = 50


def _clients():
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import UserKind

    return ClientRecord.objects.filter(user__kind=UserKind.CLIENT, user__is_active=True)


def segment_queryset(definition: dict, *, now: datetime | None = None) -> QuerySet:
    """The ClientRecords a definition selects: one SQL statement (Exists/subqueries), whatever the definition.
    The definition is validated first (DefinitionError on anything unknown)."""
    require_tenant()
    definition = definition_validate(definition)
    condition, aliases = definition_filter(definition, now=now or timezone.now())
    return _clients().alias(**aliases).filter(condition)


def segment_preview(definition: dict, *, now: datetime | None = None, limit: int = PREVIEW_LIMIT) -> dict:
    """{"count": members, "clients": the first `limit` (newest first) with user and owner}: two queries."""
    members = segment_queryset(definition, now=now)
    first = list(members.select_related("user", "owner").order_by("-user__date_joined", "-pk")[:limit])
    return {"count": members.count(), "clients": first}


def segments_list() -> list[Segment]:
    require_tenant()
    return list(Segment.objects.annotate(rule_count=Count("rules")).order_by("name")[:200])


def rule_matches(rule: AutomationRule, *, now: datetime | None = None) -> QuerySet:
    """Clients the rule's trigger (and segment, if any) selects now, each annotated with `trigger_key`."""
    from tenant_apps.automation.triggers import trigger_conditions, trigger_key

    require_tenant()
    now = now or timezone.now()
    definition = definition_validate({"match": "all", "conditions": trigger_conditions(rule)})
    condition, aliases = definition_filter(definition, now=now, prefix="trg")
    matches = _clients().alias(**aliases).filter(condition)
    if rule.segment_id:
        segment = definition_validate(rule.segment.definition)
        seg_condition, seg_aliases = definition_filter(segment, now=now, prefix="seg")
        matches = matches.alias(**seg_aliases).filter(seg_condition)
    return matches.annotate(trigger_key=trigger_key(rule))


def rule_new_matches(rule: AutomationRule, *, now: datetime | None = None) -> QuerySet:
    """The matches this rule has not acted on yet for the same trigger."""
    acted = AutomationAction.objects.filter(rule=rule, client_id=OuterRef("user_id"), trigger_key=OuterRef("trigger_key"))
    return rule_matches(rule, now=now).filter(~Exists(acted))


def rules_list() -> list[AutomationRule]:
    require_tenant()
    return list(AutomationRule.objects.select_related("segment").annotate(action_count=Count("actions_taken"))
                .order_by("id")[:200])


def runs_list(*, rule_id: int | None = None, limit: int = 100) -> list[AutomationRun]:
    require_tenant()
    runs = AutomationRun.objects.select_related("rule")
    if rule_id:
        runs = runs.filter(rule_id=rule_id)
    return list(runs.order_by("-started_at", "-id")[:limit])


def run_detail(run_id: int) -> dict | None:
    require_tenant()
    run = AutomationRun.objects.select_related("rule").filter(pk=run_id).first()
    if run is None:
        return None
    actions = list(AutomationAction.objects.filter(run=run).select_related("client").order_by("id")[:500])
    return {"run": run, "actions": actions}


def working_hours() -> AutomationSettings:
    """The brokerage's working window (defaults, unsaved, when it never set one)."""
    from tenant_apps.automation.services import DEFAULT_WORK_DAYS

    require_tenant()
    return AutomationSettings.objects.first() or AutomationSettings(work_days=list(DEFAULT_WORK_DAYS))
