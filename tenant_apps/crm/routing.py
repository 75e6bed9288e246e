"""Which team and owner a new client goes to: the tenant's rules (first match by priority), else the default
rule's team; the owner round-robin among the team's active staff who may edit clients."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from tenant_apps.crm.models import ClientRecord, RoutingRule, TeamRoutingCursor
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


def routing_decide(record: ClientRecord) -> RoutingDecision:
    rules = list(RoutingRule.objects.filter(enabled=True, team__is_active=True).select_related("team")
                 .order_by("priority", "id")[:500])
    for rule in rules:
        if not rule.is_default and rule_matches(rule, record):
            return RoutingDecision(rule, rule.team, f"Matched rule “{rule.name}” (priority {rule.priority}).")
    default = next((r for r in rules if r.is_default), None)
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
