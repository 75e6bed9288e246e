"""Reads other capabilities ask: a client's KYC state and whether the KYC state allows an action."""
from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenancy.context import require_tenant
from tenant_apps.compliance.models import KycCase
from tenant_apps.compliance.states import CAPABILITIES, CLIENT_STATUS, REFUSALS, KycState


def kyc_state(user) -> str:
    require_tenant()
    case = KycCase.objects.filter(client_id=user.pk).only("state").first()
    return case.state if case else KycState.NOT_STARTED


def client_may(user, action: str) -> tuple[bool, str]:
    """(allowed, reason if not). The single question trading, payments and the portal ask before acting."""
    if action not in REFUSALS:
        raise KeyError(f"Unknown client action {action!r}.")
    state = kyc_state(user)
    if action in CAPABILITIES[state]:
        return True, ""
    return False, REFUSALS[action]


def kyc_status_for_client(user) -> dict:
    """What the client sees: state, headline, the case's specific reason."""
    require_tenant()
    case = KycCase.objects.filter(client_id=user.pk).first()
    state = case.state if case else KycState.NOT_STARTED
    return {"state": state, "headline": CLIENT_STATUS[state], "reason": case.client_reason if case else ""}


# --- profile requirements, the client's verification progress, the review queue (issue 4, items 3-6) -----

DEFAULT_SLA_MINUTES = 30


def client_legal_entity(user):
    """The legal entity the client is served by (the brokerage's default entity: one per brokerage today)."""
    from tenant_apps.brokerage.models import LegalEntity

    require_tenant()
    return LegalEntity.objects.order_by("-is_default", "id").first()


def review_sla_minutes() -> int:
    entity = client_legal_entity(None)
    return int((entity.rules if entity else {}).get("kyc_review_sla_minutes", DEFAULT_SLA_MINUTES))


def _profile_of(user):
    from tenant_apps.compliance.models import ClientProfile

    return ClientProfile.objects.filter(client_id=user.pk).first()


def profile_missing_fields(user) -> list[str]:
    """Every field of the full profile the client has not given yet (appropriateness included when the
    jurisdiction requires the test)."""
    from tenant_apps.compliance.profile import APPROPRIATENESS, PROFILE_FIELDS

    profile = _profile_of(user)
    missing = [name for name in PROFILE_FIELDS if profile is None or getattr(profile, name) in (None, "")]
    entity = client_legal_entity(user)
    if entity and entity.rules.get("appropriateness_test") and (profile is None or profile.appropriateness_passed is None):
        missing.append(APPROPRIATENESS)
    return missing


def profile_missing_for(user, action: str) -> list[str]:
    """Fields the client must still give before `action` ("first_deposit" / "first_withdrawal"), per the legal
    entity's rules["profile_required_before"]: a strict regulator wants everything before the first deposit,
    others let it wait until the first withdrawal. [] means the action is not held back by the profile."""
    from tenant_apps.compliance.profile import ACTIONS_IN_ORDER

    require_tenant()
    if action not in ACTIONS_IN_ORDER:
        raise KeyError(f"Unknown profile gate {action!r}; expected one of {ACTIONS_IN_ORDER}.")
    entity = client_legal_entity(user)
    required_before = (entity.rules if entity else {}).get("profile_required_before", "first_deposit")
    if required_before not in ACTIONS_IN_ORDER:
        required_before = "first_deposit"
    if ACTIONS_IN_ORDER.index(action) < ACTIONS_IN_ORDER.index(required_before):
        return []
    return profile_missing_fields(user)


def client_documents(user):
    from tenant_apps.compliance.models import KycDocument

    return list(KycDocument.objects.filter(client_id=user.pk).order_by("-uploaded_at", "-id"))


def _document_step(documents, types, label):
    """One document step: done when the newest of these types is pending or accepted; the newest rejected one
    gives the reason and what to do."""
    from tenant_apps.compliance.models import DocumentState
    from tenant_apps.compliance.reasons import REASONS

    newest = next((d for d in documents if d.doc_type in types), None)
    step = {"code": "", "label": label, "done": bool(newest and newest.state != DocumentState.REJECTED),
            "reason": "", "next_step": ""}
    if newest is not None and newest.state == DocumentState.REJECTED:
        step["reason"] = newest.reason
        reason = REASONS.get(newest.reason_code)
        step["next_step"] = reason.next_step if reason else gettext_noop("Upload the document again.")
    return step


def client_verification(user) -> dict:
    """What the Trader's Room shows: the steps, "N of M steps complete", the next required step, the reason
    of the latest refusal and honest timing."""
    from tenant_apps.compliance.models import DocumentType

    require_tenant()
    status = kyc_status_for_client(user)
    entity = client_legal_entity(user)
    missing = profile_missing_fields(user)
    from tenant_apps.compliance.profile import APPROPRIATENESS

    documents = client_documents(user)
    steps = [{"code": "profile", "label": _("Complete your profile"), "url_name": "verify_profile",
              "done": not [m for m in missing if m != APPROPRIATENESS], "reason": "", "next_step": ""}]
    if entity and entity.rules.get("appropriateness_test"):
        steps.append({"code": "appropriateness", "label": _("Answer the trading-experience questions"),
                      "url_name": "verify_profile", "done": APPROPRIATENESS not in missing, "reason": "",
                      "next_step": ""})
    identity = _document_step(documents, DocumentType.IDENTITY, _("Upload an identity document"))
    identity.update(code="identity", url_name="verify_documents")
    address = _document_step(documents, {DocumentType.PROOF_OF_ADDRESS}, _("Upload a proof of address"))
    address.update(code="address", url_name="verify_documents")
    steps += [identity, address]
    state = status["state"]
    submitted = state in (KycState.PENDING_REVIEW, KycState.APPROVED)
    ready = all(s["done"] for s in steps) and state in (KycState.NOT_STARTED, KycState.RESUBMISSION_NEEDED)
    steps.append({"code": "submit", "label": _("Submit for review"), "url_name": "verify_overview", "done": submitted,
                  "reason": "", "next_step": ""})
    done = sum(1 for s in steps if s["done"])
    # A rejected case is final: nothing to do but contact support (no step to offer).
    next_step = None if state == KycState.REJECTED else next((s for s in steps if not s["done"]), None)
    sla = review_sla_minutes()
    return {
        **status, "steps": steps, "done": done, "total": len(steps), "next_step": next_step,
        "ready_to_submit": ready, "documents": documents,
        "timing": _("Usually reviewed within %(minutes)s minutes during business hours.") % {"minutes": sla},
        "rejected_steps": [s for s in steps if s["reason"]],
    }


def kyc_review_queue(*, legal_entity_id=None, country: str = "", risk_level: str = "", min_age_minutes=None,
                     assignee: str = "", now=None) -> list[dict]:
    """Cases pending review, oldest first, with their age against the SLA target (breach flagged)."""
    from django.utils import timezone

    from tenant_apps.compliance.models import ClientProfile

    require_tenant()
    now = now or timezone.now()
    sla = review_sla_minutes()
    cases = (KycCase.objects.filter(state=KycState.PENDING_REVIEW)
             .select_related("client", "client__client_record", "assignee", "first_approval_by")
             .order_by("submitted_at", "id"))
    if legal_entity_id:
        entity = client_legal_entity(None)
        if entity is None or str(entity.pk) != str(legal_entity_id):
            cases = cases.none()
    if risk_level:
        cases = cases.filter(risk_level=risk_level)
    if assignee == "none":
        cases = cases.filter(assignee__isnull=True)
    elif assignee.isdigit():
        cases = cases.filter(assignee_id=int(assignee))
    if min_age_minutes:
        cases = cases.filter(submitted_at__lte=now - timezone.timedelta(minutes=int(min_age_minutes)))
    countries = dict(ClientProfile.objects.filter(client_id__in=[c.client_id for c in cases])
                     .values_list("client_id", "country"))
    rows = []
    for case in cases:
        client_country = countries.get(case.client_id) or ""
        if not client_country:
            from tenant_apps.crm.models import ClientRecord

            try:
                client_country = case.client.client_record.country or ""
            except ClientRecord.DoesNotExist:
                client_country = ""
        if country and client_country.upper() != country.upper():
            continue
        age = int(((now - (case.submitted_at or case.created_at)).total_seconds()) // 60)
        rows.append({"case": case, "country": client_country, "age_minutes": age, "sla_minutes": sla,
                     "breached": age > sla})
    return rows


def kyc_case_detail(case_id: int) -> dict:
    from tenant_apps.compliance.models import ClientProfile

    require_tenant()
    case = KycCase.objects.select_related("client", "assignee", "first_approval_by", "decided_by").get(pk=case_id)
    return {"case": case, "profile": ClientProfile.objects.filter(client_id=case.client_id).first(),
            "documents": client_documents(case.client)}
