"""Writes on KYC cases: every transition goes through kyc_transition (states.py decides), audited."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from tenancy.context import require_tenant
from tenant_apps.compliance.errors import KycTransitionNotAllowed
from tenant_apps.compliance.models import KycCase
from tenant_apps.compliance.states import TRANSITIONS, KycState
from tenant_apps.identity.permissions import has_perm


def kyc_case_get_or_create(*, client) -> KycCase:
    require_tenant()
    case, _ = KycCase.objects.get_or_create(client=client)
    return case


@transaction.atomic
def kyc_transition(*, client, action: str, actor=None, actor_kind: str = "system", client_reason: str = "",
                   note: str = "", request=None) -> KycCase:
    """Move a client's KYC case. `actor_kind` is "client" when the client acts, "system" for rules and
    workers, "staff" when `actor` (a staff user) decides — checked against the matrix permission the
    transition names."""
    from tenant_apps.audit.services import audit_lock, audit_record

    require_tenant()
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise KycTransitionNotAllowed(f"Unknown KYC action '{action}'.")
    audit_lock()
    case, _ = KycCase.objects.select_for_update().get_or_create(client=client)
    if actor_kind == "staff":
        allowed = any(":" in who and actor is not None and has_perm(actor, *who.split(":")) for who in transition.by)
    else:
        allowed = actor_kind in transition.by
    if not allowed:
        raise KycTransitionNotAllowed(f"You may not {action.replace('_', ' ')} this KYC case.", code="not_permitted")
    if case.state not in transition.source:
        raise KycTransitionNotAllowed(f"Cannot {action.replace('_', ' ')} a case that is {case.get_state_display().lower()}.")
    if transition.needs_reason and not (client_reason or note).strip():
        raise KycTransitionNotAllowed(f"A reason is required to {action.replace('_', ' ')}.", code="reason_required")
    old = case.state
    now = timezone.now()
    case.state = transition.target
    case.client_reason = client_reason.strip()[:300]
    if action == "submit":
        case.submitted_at = now
    else:
        case.decided_at = now
        case.decided_by = actor if actor_kind == "staff" else None
    if case.state == KycState.APPROVED:
        case.approved_at = now
    case.save()
    audit_record(action=f"kyc.{action}", obj=case, subject=client, changes={"state": [old, case.state]},
                 reason=(note or client_reason).strip(), actor=actor if actor_kind != "system" else None,
                 request=request)
    from tenant_apps.notifications.kyc import kyc_decision_notify

    kyc_decision_notify(case=case, action=action)  # the client hears of each decision, in this transaction
    return case


# --- profile, documents and the review queue (issue 4, items 3-6) ------------------------------------------


def _months_ago(today, months: int):
    import calendar

    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    month += 1
    return today.replace(year=year, month=month, day=min(today.day, calendar.monthrange(year, month)[1]))


@transaction.atomic
def client_profile_save(*, client, data: dict, request=None):
    """Store the client's profile (already validated by the form); scores the appropriateness answers."""
    from tenant_apps.audit.services import audit_lock, audit_record
    from tenant_apps.compliance.models import ClientProfile
    from tenant_apps.compliance.profile import PROFILE_FIELDS, appropriateness_score
    from tenant_apps.compliance.selectors import client_legal_entity

    require_tenant()
    audit_lock()
    profile, _ = ClientProfile.objects.select_for_update().get_or_create(client=client)
    changed = []
    for name in PROFILE_FIELDS:
        if name in data and getattr(profile, name) != data[name]:
            setattr(profile, name, data[name])
            changed.append(name)
    answers = data.get("appropriateness_answers")
    if answers is not None:
        entity = client_legal_entity(client)
        profile.appropriateness_answers = dict(answers)
        profile.appropriateness_score, profile.appropriateness_passed = appropriateness_score(
            entity.jurisdiction if entity else "", answers)
        changed.append("appropriateness_answers")
    profile.save()
    if changed:
        # Field names only: the values are personal data and stay in the profile itself.
        audit_record(action="kyc.profile_update", obj=profile, subject=client, changes={"fields": changed},
                     actor=client, request=request)
    return profile


@transaction.atomic
def kyc_document_upload(*, client, doc_type: str, uploaded, issue_date=None, expiry_date=None, request=None):
    """Validate an upload by its content and the jurisdiction's date rules, then store it re-encoded under the
    brokerage's private storage with a name we generate. On any refusal nothing is written (no row, no file):
    everything is checked before the file is saved, and a failed row insert deletes the saved file."""
    import hashlib
    import uuid

    from django.core.exceptions import ValidationError
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from tenant_apps.audit.services import audit_lock, audit_record
    from tenant_apps.compliance.documents import document_clean, read_document_upload
    from tenant_apps.compliance.models import DocumentType, KycDocument
    from tenant_apps.compliance.selectors import client_legal_entity

    require_tenant()
    if doc_type not in dict(DocumentType.CHOICES):
        raise ValidationError({"doc_type": "Choose the kind of document."})
    today = timezone.localdate()
    if doc_type in DocumentType.IDENTITY:
        if expiry_date is None:
            raise ValidationError({"expiry_date": "Enter the expiry date printed on the document."})
        if expiry_date < today:
            raise ValidationError({"expiry_date": f"This document expired on {expiry_date:%d %B %Y}. Upload a valid "
                                                  "identity document that has not expired."}, code="expired")
    if doc_type == DocumentType.PROOF_OF_ADDRESS:
        entity = client_legal_entity(client)
        months = int((entity.rules if entity else {}).get("proof_of_address_max_months", 3))
        if issue_date is None:
            raise ValidationError({"issue_date": "Enter the date the bill or statement was issued."})
        if issue_date > today:
            raise ValidationError({"issue_date": "The issue date cannot be in the future."})
        if issue_date < _months_ago(today, months):
            raise ValidationError({"issue_date": f"Your proof of address is older than {months} months. Upload a "
                                                 f"bill or bank statement issued within the last {months} months."},
                                  code="address_too_old")
    if issue_date and expiry_date and expiry_date < issue_date:
        raise ValidationError({"expiry_date": "The expiry date is before the issue date."})
    try:
        clean = document_clean(read_document_upload(uploaded))
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}, code=exc.code) from None

    audit_lock()
    name = f"kyc/{uuid.uuid4().hex}.{clean.extension}"  # never the client's file name
    saved = default_storage.save(name, ContentFile(clean.data))
    try:
        document = KycDocument.objects.create(
            client=client, doc_type=doc_type, file=saved, sha256=hashlib.sha256(clean.data).hexdigest(),
            content_type=clean.content_type, size=len(clean.data), issue_date=issue_date, expiry_date=expiry_date)
        audit_record(action="kyc.document_upload", obj=document, subject=client,
                     changes={"doc_type": doc_type, "content_type": clean.content_type, "sha256": document.sha256},
                     actor=client, request=request)
    except Exception:
        default_storage.delete(saved)
        raise
    return document


def kyc_orphan_files_sweep() -> int:
    """Delete stored KYC files no document row names: a caller's transaction that rolled back after the save
    (Django has no on-rollback hook). Run it per tenant from a periodic job."""
    from django.core.files.storage import default_storage

    from tenant_apps.compliance.models import KycDocument

    require_tenant()
    try:
        _, files = default_storage.listdir("kyc")
    except FileNotFoundError:
        return 0
    known = {n.rsplit("/", 1)[-1] for n in KycDocument.objects.values_list("file", flat=True)}
    removed = 0
    for name in files:
        if name not in known:
            default_storage.delete(f"kyc/{name}")
            removed += 1
    return removed


def kyc_submit(*, client, request=None) -> KycCase:
    """The client's "Submit for review": moves the case, then lets the screening/risk assessment (another
    module, optional) decide whether it is approved automatically or stays for a reviewer."""
    from tenant_apps.compliance.selectors import client_verification

    progress = client_verification(client)
    if not progress["ready_to_submit"]:
        raise KycTransitionNotAllowed(gettext("Complete this step first: %(step)s.") % {"step": progress["next_step"]["label"]},
                                      code="steps_missing")
    case = kyc_transition(client=client, action="submit", actor=client, actor_kind="client", request=request)
    try:
        from tenant_apps.compliance import assessment
    except ImportError:
        assessment = None
    if assessment is not None and hasattr(assessment, "assess_submission"):
        assessment.assess_submission(case=case)
        case.refresh_from_db()
    return case


@transaction.atomic
def kyc_case_assign(*, case_id: int, actor, assignee=None, request=None) -> KycCase:
    """Claim a case (assignee None = the actor) or assign it to another reviewer holding kyc:decide."""
    from tenant_apps.audit.services import audit_lock, audit_record
    from tenant_apps.identity.permissions import permission_require

    require_tenant()
    permission_require(actor, "kyc", "decide")
    target = assignee or actor
    if not has_perm(target, "kyc", "decide"):
        raise KycTransitionNotAllowed(f"{target.email} cannot decide KYC cases.", code="assignee_not_permitted")
    audit_lock()
    case = KycCase.objects.select_for_update().get(pk=case_id)
    old = case.assignee.email if case.assignee_id else ""
    case.assignee = target
    case.save(update_fields=["assignee", "updated_at"])
    audit_record(action="kyc.assign", obj=case, subject=case.client, changes={"assignee": [old, target.email]},
                 actor=actor, request=request)
    return case


@transaction.atomic
def kyc_case_decide(*, case_id: int, actor, outcome: str, reason_code: str = "", note: str = "",
                    document_ids: list[int] | None = None, request=None) -> KycCase:
    """A reviewer's structured outcome: approve, reject (reason from the list + mandatory note) or
    request_resubmission (reason shown to the client). High-risk approvals need two different approvers."""
    from tenant_apps.audit.services import audit_lock, audit_record
    from tenant_apps.compliance.models import DocumentState, KycDocument, RiskLevel
    from tenant_apps.compliance.reasons import REASONS
    from tenant_apps.identity.permissions import permission_require

    require_tenant()
    permission_require(actor, "kyc", "decide")
    audit_lock()
    case = KycCase.objects.select_for_update().select_related("client").get(pk=case_id)
    now = timezone.now()
    pending = KycDocument.objects.filter(client_id=case.client_id, state=DocumentState.PENDING_REVIEW)
    if outcome == "approve":
        if case.state != KycState.PENDING_REVIEW:
            raise KycTransitionNotAllowed(gettext("Only a case pending review can be approved."))
        if case.risk_level == RiskLevel.HIGH:
            if case.first_approval_by_id is None:
                case.first_approval_by, case.first_approval_at = actor, now
                case.save(update_fields=["first_approval_by", "first_approval_at", "updated_at"])
                audit_record(action="kyc.first_approval", obj=case, subject=case.client,
                             changes={"first_approval_by": actor.email}, reason=note.strip(), actor=actor,
                             request=request)
                return case
            if case.first_approval_by_id == actor.pk:
                raise KycTransitionNotAllowed("You gave the first approval of this high-risk case; a different "
                                              "approver must give the second.", code="four_eyes")
        pending.update(state=DocumentState.ACCEPTED, decided_at=now, reason_code="", reason="")
        return kyc_transition(client=case.client, action="approve", actor=actor, actor_kind="staff",
                              note=note, request=request)
    if outcome not in ("reject", "request_resubmission"):
        raise KycTransitionNotAllowed(f"Unknown outcome '{outcome}'.")
    reason = REASONS.get(reason_code)
    if reason is None:
        raise KycTransitionNotAllowed(gettext("Choose a reason from the list."), code="reason_required")
    if outcome == "reject" and not note.strip():
        raise KycTransitionNotAllowed(gettext("A note is required to reject a case."), code="note_required")
    affected = pending if not document_ids else pending.filter(pk__in=document_ids)
    affected_ids = list(affected.values_list("pk", flat=True))
    KycDocument.objects.filter(pk__in=affected_ids).update(state=DocumentState.REJECTED, decided_at=now,
                                                           reason_code=reason.code, reason=reason.client_text)
    case.first_approval_by, case.first_approval_at = None, None
    case.save(update_fields=["first_approval_by", "first_approval_at", "updated_at"])
    updated = kyc_transition(client=case.client, action=outcome, actor=actor, actor_kind="staff",
                             client_reason=reason.client_text, note=f"[{reason.code}] {note}".strip(),
                             request=request)
    if affected_ids:
        audit_record(action="kyc.documents_rejected", obj=updated, subject=case.client,
                     changes={"documents": affected_ids, "reason": reason.code}, actor=actor, request=request)
    return updated
