"""Which team and owner a new client goes to: the tenant's rules (first match by priority), else the default
rule's team; the owner round-robin among the team's active staff who may edit clients.

Working hours (crm.TeamWorkingHours, in the team's own timezone; a team without hours is always open): a matching
rule whose team is closed at that moment is passed over and the next matching rule is tried; when no matching
team is open the lead goes to the default rule's team — the on-duty desk, whatever its own hours — so a lead is
never left waiting in a closed team's queue. Without a default rule, the first matching team takes it anyway
(its members find it when they open). The decision's reason says which teams were closed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Prefetch
from django.utils import timezone

from tenant_apps.crm.models import ClientRecord, RoutingRule, TeamRoutingCursor, TeamWorkingHours
from tenant_apps.identity.models import Role, User, UserKind
from tenant_apps.identity.permissions import has_perm


@dataclass(frozen=True)
class RoutingDecision:
    rule: RoutingRule | None
    team: object | None
    reason: str


def rule_matches(rule: RoutingRule, record: ClientRecord) -> bool:
    if rule.countries and record.country.upper() not in {c.upper() for c in rule.countries}:
        return False
    if rule.language and rule.language != record.language:
        return False
    if rule.source == RoutingRule.Source.IB_REFERRAL and not record.ref_code:
        return False
    if rule.source == RoutingRule.Source.UTM_SOURCE and record.utm_source.lower() != rule.source_value.lower():
        return False
    if rule.campaign and record.utm_campaign.lower() != rule.campaign.lower():
        return False
    return True


def team_is_open(hours, now: datetime) -> bool:
    """True when `now` falls within the team's working hours (None = no hours set = always open). A window whose
    end is before its start runs past midnight (e.g. 22:00–06:00), belonging to the day it starts on."""
    if hours is None:
        return True
    try:
        zone = ZoneInfo(hours.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    days, at = set(hours.weekdays or []), local.time()
    if hours.start <= hours.end:
        return local.weekday() in days and hours.start <= at < hours.end
    yesterday = (local.weekday() - 1) % 7
    return (local.weekday() in days and at >= hours.start) or (yesterday in days and at < hours.end)


def _hours_of(team):
    try:
        return team.working_hours
    except TeamWorkingHours.DoesNotExist:
        return None


def routing_decide(record: ClientRecord, *, now: datetime | None = None) -> RoutingDecision:
    now = now or timezone.now()
    rules = list(RoutingRule.objects.filter(enabled=True, team__is_active=True)
                 .select_related("team", "team__working_hours").order_by("priority", "id")[:500])
    closed: list[RoutingRule] = []
    for rule in rules:
        if not rule.is_default and rule_matches(rule, record):
            if team_is_open(_hours_of(rule.team), now):
                passed = f" Passed over (outside working hours): {', '.join(r.team.name for r in closed)}." if closed else ""
                return RoutingDecision(rule, rule.team, f"Matched rule “{rule.name}” (priority {rule.priority}).{passed}")
            closed.append(rule)
    default = next((r for r in rules if r.is_default), None)
    if closed:
        names = ", ".join(r.team.name for r in closed)
        if default is not None:
            return RoutingDecision(default, default.team, f"Matched “{closed[0].name}” but {names} outside working "
                                                          f"hours; on-duty default rule “{default.name}”.")
        return RoutingDecision(closed[0], closed[0].team, f"Matched rule “{closed[0].name}” (priority "
                                                          f"{closed[0].priority}); team outside working hours and "
                                                          f"no default team: queued for its next opening.")
    if default is not None:
        return RoutingDecision(default, default.team, f"No rule matched; default rule “{default.name}”.")
    return RoutingDecision(None, None, "No rule matched and no default team: left unassigned.")


def owner_next(team) -> User | None:
    """The next owner in `team`, round-robin by staff id. Locks the team's cursor row until the transaction ends,
    so concurrent registrations take turns and never pick the same member twice in a row."""
    TeamRoutingCursor.objects.bulk_create([TeamRoutingCursor(team=team)], ignore_conflicts=True)
    cursor = TeamRoutingCursor.objects.select_for_update().get(team=team)
    members = (User.objects.filter(team=team, kind=UserKind.STAFF, is_active=True).order_by("id")
               .prefetch_related(Prefetch("roles", queryset=Role.objects.all())))
    eligible = [m for m in members[:200] if has_perm(m, "clients", "edit")]
    if not eligible:
        return None
    after = cursor.last_owner_id or 0
    chosen = next((m for m in eligible if m.pk > after), eligible[0])
    cursor.last_owner = chosen
    cursor.save(update_fields=["last_owner"])
    return chosen
