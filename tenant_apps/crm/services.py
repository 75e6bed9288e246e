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
    decision = routing_decide(record)
    owner = owner_next(decision.team) if decision.team is not None else None
    reason = decision.reason + (f" Owner {owner.email} (round-robin)." if owner else
                                " No eligible owner in the team." if decision.team is not None else "")
    record.routing_rule, record.team, record.owner = decision.rule, decision.team, owner
    record.routed_at, record.routing_reason = now, reason[:300]
    record.save()
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
