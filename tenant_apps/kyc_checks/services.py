"""Writes of the automated KYC checks: screening, risk scoring, the submission assessment (auto-approve or
manual review), re-screening, document expiry, Compliance's review of hits and PEP flags, vendor webhooks.

Reasons for a manual review are written for Compliance only (ComplianceTask.note, the audit trail,
ScreeningCheck); the client's case keeps its "under review" status with no reason."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.apps import apps
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from rapidfuzz import fuzz

from tenancy.context import require_tenant
from tenant_apps.identity.permissions import permission_require
from tenant_apps.kyc_checks import risk
from tenant_apps.kyc_checks.models import (
    ClientNotice,
    ComplianceTask,
    Disposition,
    RiskAssessment,
    ScreeningCheck,
    ScreeningStatus,
    TaskKind,
    VendorConfig,
    VendorWebhook,
    VendorWebhookStatus,
)

log = logging.getLogger(__name__)

EXPIRY_WARNING_DAYS = 60
ACCEPTED_DOCUMENT_STATES = frozenset({"accepted", "approved", "verified"})
# Uploaded documents passed the server-side checks (content type, dates, proof-of-address age) already; waiting
# for a reviewer is not a defect. Rejected ones are.
VALID_DOCUMENT_STATES = ACCEPTED_DOCUMENT_STATES | {"pending_review"}
NAME_MATCH_MIN = 85.0


# --- what we know about the client (the profile and documents belong to compliance; read defensively) ------

def _model(label: str):
    try:
        return apps.get_model(*label.split("."))
    except LookupError:
        return None


def _owner_field(model) -> str | None:
    """The field of a compliance model that points at the client (client / user / case)."""
    names = {f.name for f in model._meta.get_fields()}
    for name in ("client", "user"):
        if name in names:
            return name
    if "case" in names:
        return "case__client"
    return None


def client_profile(client):
    model = _model("compliance.ClientProfile")
    owner = _owner_field(model) if model else None
    return model.objects.filter(**{owner: client}).first() if owner else None


def _profile_name(profile) -> str:
    if profile is None:
        return ""
    name = getattr(profile, "full_name", "") or ""
    if not name:
        parts = [getattr(profile, f, "") or "" for f in ("first_name", "middle_name", "last_name")]
        name = " ".join(p for p in parts if p)
    return name.strip()


def screening_input(client) -> tuple[str, date | None, str | None]:
    profile = client_profile(client)
    nationality = getattr(profile, "nationality", "") or None
    return (client.full_name or "").strip(), getattr(profile, "date_of_birth", None), \
        str(nationality) if nationality else None


def _client_country(client) -> str:
    from tenant_apps.crm.models import ClientRecord

    record = ClientRecord.objects.filter(user=client).only("country").first()
    return (record.country if record else "").upper()


def documents_verdict(client) -> tuple[bool, str]:
    """(valid, why not). Valid: at least one document; the newest of each type passed the upload checks (type by
    content, dates) and is not rejected, and none of them has expired. No document model (or no way to read
    its review state) → never valid: a person must look."""
    model = _model("compliance.KycDocument")
    if model is None:
        return False, "documents: no document model to check them against (a person must look)"
    names = {f.name for f in model._meta.get_fields()}
    status_field = next((n for n in ("state", "status") if n in names), None)
    owner = _owner_field(model)
    if status_field is None or owner is None:
        return False, "documents: their review state cannot be read (a person must look)"
    type_field = next((n for n in ("doc_type", "kind", "type") if n in names), None)
    expiry = "expiry_date" if "expiry_date" in names else None
    rows = model.objects.filter(**{owner: client}).order_by("pk").values_list(
        type_field or "pk", status_field, *( [expiry] if expiry else []))
    newest = {}  # a rejected document replaced by a newer one of the same type no longer counts
    for row in rows:
        newest[row[0]] = row[1:]
    if not newest:
        return False, "documents: none uploaded"
    today = timezone.localdate()
    rejected = [t for t, (state, *_) in newest.items() if state not in VALID_DOCUMENT_STATES]
    if rejected:
        return False, f"documents: {', '.join(map(str, rejected))} not valid"
    expired = [t for t, (_, *exp) in newest.items() if exp and exp[0] and exp[0] < today]
    if expired:
        return False, f"documents: {', '.join(map(str, expired))} expired"
    return True, ""


# --- screening ----------------------------------------------------------------------------------------------

def _hit_dict(hit) -> dict:
    return {"source": hit.source, "entry_id": hit.entry_id, "ent_num": hit.ent_num, "name": hit.name,
            "entity_type": hit.entity_type, "programs": list(hit.programs), "matched_name": hit.matched_name,
            "matched_kind": hit.matched_kind, "score": str(hit.score), "name_score": str(hit.name_score),
            "reasons": list(hit.reasons)}


def screening_check_run(*, client, trigger: str = "submission", source: str | None = None) -> ScreeningCheck | None:
    """Screen the client against the current list and store the result. None when no list was ever imported."""
    from platform_core.sanctions.errors import NoSanctionsList
    from platform_core.sanctions.models import ListSource
    from platform_core.sanctions.screening import forget_current_version, screen_person

    require_tenant()
    if trigger != "rescreen":
        # One query: a submission must be screened against the version current NOW, not this process's idea of
        # it from up to 10 s ago (the re-screen job forgets once per run itself).
        forget_current_version(source or ListSource.OFAC_SDN)
    name, dob, nationality = screening_input(client)
    try:
        result = screen_person(full_name=name or client.email.split("@")[0], date_of_birth=dob,
                               nationality=nationality, sources=(source or ListSource.OFAC_SDN,))
    except NoSanctionsList:
        log.warning("no sanctions list imported: client %s not screened", client.pk)
        return None
    src, list_id, version = result.lists[0]
    status = ScreeningStatus.UNSCREENABLE if result.unscreenable_reason else \
        ScreeningStatus.HIT if result.hits else ScreeningStatus.CLEAR
    if not name:
        status = ScreeningStatus.UNSCREENABLE
    check = ScreeningCheck(
        client=client, list_source=src, list_id=list_id, list_version=version, input_name=name[:200],
        input_date_of_birth=dob, input_nationality=(nationality or "")[:64], status=status,
        hits=[_hit_dict(h) for h in result.hits], trigger=trigger,
        unscreenable_reason=(result.unscreenable_reason or ("" if name else "the client has no full name"))[:300])
    _carry_false_positive(check)
    check.save()
    return check


def _carry_false_positive(check: ScreeningCheck) -> None:
    """A hit Compliance already cleared as a false positive, for the same input and the same listed entries,
    stays cleared (re-screens and resubmissions would otherwise re-open it every time)."""
    if check.status != ScreeningStatus.HIT:
        return
    previous = (ScreeningCheck.objects.filter(client=check.client, disposition=Disposition.FALSE_POSITIVE,
                                              input_name=check.input_name,
                                              input_date_of_birth=check.input_date_of_birth,
                                              input_nationality=check.input_nationality)
                .order_by("-reviewed_at").first())
    if previous is None or not {h["ent_num"] for h in check.hits} <= {h["ent_num"] for h in previous.hits}:
        return
    check.disposition, check.reviewed_by, check.reviewed_at = Disposition.FALSE_POSITIVE, previous.reviewed_by, \
        previous.reviewed_at
    check.disposition_note = f"Carried over from screening {previous.pk}: {previous.disposition_note}"[:2000]


def latest_screening(client) -> ScreeningCheck | None:
    return ScreeningCheck.objects.filter(client=client).first()


# --- risk ---------------------------------------------------------------------------------------------------

def _factor(code: str, label: str) -> dict:
    return {"code": code, "label": label, "points": risk.POINTS[code]}


def risk_factors(*, client, check: ScreeningCheck | None, pep: bool) -> tuple[list[dict], dict]:
    from tenant_apps.brokerage.models import LegalEntity

    factors, skipped = [], {}
    profile = client_profile(client)
    countries = {c for c in (_client_country(client), str(getattr(profile, "nationality", "") or "").upper(),
                             str(getattr(profile, "country", "") or "").upper()) if len(c) == 2}
    entity = LegalEntity.objects.filter(is_default=True).first() or LegalEntity.objects.first()
    restricted = {c.upper() for c in (entity.rules.get("restricted_countries") or ())} if entity else set()
    for country in sorted(countries):
        if country in restricted:
            factors.append(_factor("country_restricted", f"{country} is restricted by {entity.regulator}"))
        if country in risk.FATF_CALL_FOR_ACTION:
            factors.append(_factor("country_call_for_action", f"{country}: FATF call for action"))
        elif country in risk.FATF_INCREASED_MONITORING:
            factors.append(_factor("country_increased_monitoring", f"{country}: FATF increased monitoring"))
    if check is None:
        factors.append(_factor("screening_unavailable", "no sanctions list to screen against"))
    elif check.status == ScreeningStatus.HIT and check.disposition != Disposition.FALSE_POSITIVE:
        top = check.hits[0]
        factors.append(_factor("screening_hit", f"possible sanctions match: {top['name']} (score {top['score']})"))
    elif check.status == ScreeningStatus.UNSCREENABLE:
        factors.append(_factor("screening_unscreenable", f"not screenable: {check.unscreenable_reason}"))
    if pep:
        factors.append(_factor("pep", "politically exposed person (flagged by Compliance)"))
    if profile is None or not hasattr(profile, "source_of_funds"):
        skipped["source_of_funds"] = "no profile with a source of funds yet"
    else:
        funds = str(profile.source_of_funds or "").strip().lower()
        if not funds:
            factors.append(_factor("source_of_funds_missing", "source of funds not declared"))
        elif funds in risk.HIGH_RISK_FUNDS:
            factors.append(_factor("source_of_funds_high_risk", f"source of funds: {funds}"))
    profile_name = _profile_name(profile)
    if profile_name and client.full_name:
        similarity = fuzz.token_sort_ratio(profile_name.casefold(), client.full_name.casefold())
        if similarity < NAME_MATCH_MIN:
            factors.append(_factor("name_mismatch", f"name on the profile ({profile_name}) differs from the "
                                                    f"account name ({client.full_name})"))
    elif profile is None:
        skipped["name_mismatch"] = "no profile to compare the name with"
    skipped["device_ip_country"] = "no GeoIP source configured: the country of the client's IP is unknown"
    return factors, skipped


def risk_assess(*, client, check: ScreeningCheck | None, pep: bool | None = None,
                pep_set_by=None) -> RiskAssessment:
    require_tenant()
    previous = RiskAssessment.objects.filter(client=client).first()
    if pep is None:
        pep = bool(previous and previous.pep)
        pep_set_by = previous.pep_set_by if previous else None
    factors, skipped = risk_factors(client=client, check=check, pep=pep)
    score = min(100, sum(f["points"] for f in factors))
    assessment = RiskAssessment.objects.create(client=client, score=score, level=risk.level_for(score),
                                               factors=factors, skipped=skipped, pep=pep, pep_set_by=pep_set_by,
                                               screening_check=check)
    _set_case_risk_level(client, assessment.level)
    return assessment


def _set_case_risk_level(client, level: str) -> None:
    from tenant_apps.compliance.models import KycCase

    if any(f.name == "risk_level" for f in KycCase._meta.get_fields()):
        KycCase.objects.filter(client=client).update(risk_level=level)


# --- tasks and notices --------------------------------------------------------------------------------------

def compliance_task_open(*, client, kind: str, note: str, dedupe_key: str = "",
                         due=None) -> tuple[ComplianceTask, bool]:
    """Open a task once per dedupe_key (a job run twice opens nothing new). Returns (task, created)."""
    if dedupe_key:
        existing = ComplianceTask.objects.filter(dedupe_key=dedupe_key).first()
        if existing:
            return existing, False
    try:
        with transaction.atomic():
            return ComplianceTask.objects.create(client=client, kind=kind, note=note[:4000], dedupe_key=dedupe_key,
                                                 due=due or timezone.now() + timedelta(days=1)), True
    except IntegrityError:  # a concurrent run opened it first
        return ComplianceTask.objects.get(dedupe_key=dedupe_key), False


# --- the submission assessment ------------------------------------------------------------------------------

@dataclass
class Assessment:
    decision: str  # "approved" or "manual_review"
    screening: ScreeningCheck | None
    risk: RiskAssessment
    reasons: list[str] = field(default_factory=list)  # Compliance only


def assess_submission(*, case) -> Assessment:
    """Right after a client submits: screen, score, then approve automatically (low risk, clean screening,
    every document accepted) or leave the case pending review with a task whose note says why."""
    from tenant_apps.audit.services import audit_lock, audit_record
    from tenant_apps.compliance.services import kyc_transition
    from tenant_apps.compliance.states import KycState

    require_tenant()
    client = case.client
    with transaction.atomic():
        audit_lock()
        check = screening_check_run(client=client, trigger="submission")
        assessment = risk_assess(client=client, check=check)
        reasons = [f["label"] for f in assessment.factors
                   if f["code"] in risk.ALWAYS_REVIEW]
        if assessment.level != risk.level_for(0):
            reasons.append(f"risk {assessment.level} ({assessment.score}/100)")
        docs_ok, docs_why = documents_verdict(client)
        if not docs_ok:
            reasons.append(docs_why)
        case.refresh_from_db()
        if case.state != KycState.PENDING_REVIEW:
            reasons.append(f"case is {case.state}, not pending review")
        summary = {"screening": check.status if check else "unavailable", "risk_score": assessment.score,
                   "risk_level": assessment.level}
        if not reasons:
            kyc_transition(client=client, action="approve", actor_kind="system",
                           note=f"Approved automatically: clean screening, low risk ({assessment.score}/100), "
                                f"documents accepted.")
            audit_record(action="kyc.assessed", obj=assessment, subject=client, changes=summary,
                         reason="auto-approved", actor="kyc-assessment")
            return Assessment("approved", check, assessment, [])
        kind = TaskKind.SCREENING_REVIEW if check is not None and check.status != ScreeningStatus.CLEAR \
            else TaskKind.MANUAL_REVIEW
        compliance_task_open(client=client, kind=kind, note="Manual review: " + "; ".join(reasons),
                             dedupe_key=f"review:{case.pk}:{case.submitted_at.isoformat() if case.submitted_at else ''}"
                             f":{assessment.pk}")
        audit_record(action="kyc.assessed", obj=assessment, subject=client, changes=summary,
                     reason=("manual review: " + "; ".join(reasons))[:300], actor="kyc-assessment")
        return Assessment("manual_review", check, assessment, reasons)


# --- Compliance's review --------------------------------------------------------------------------------------

@transaction.atomic
def screening_disposition_set(*, check: ScreeningCheck, disposition: str, note: str, actor) -> ScreeningCheck:
    from tenant_apps.audit.services import audit_lock, audit_record

    permission_require(actor, "kyc.screening", "review")
    if disposition not in (Disposition.TRUE_MATCH, Disposition.FALSE_POSITIVE):
        raise ValueError("Choose true match or false positive.")
    if not note.strip():
        raise ValueError("A note is required.")
    audit_lock()
    check = ScreeningCheck.objects.select_for_update().get(pk=check.pk)
    old = check.disposition
    check.disposition, check.disposition_note = disposition, note.strip()
    check.reviewed_by, check.reviewed_at = actor, timezone.now()
    check.save(update_fields=["disposition", "disposition_note", "reviewed_by", "reviewed_at"])
    ComplianceTask.objects.filter(client_id=check.client_id, status="open",
                                  kind__in=[TaskKind.SCREENING_REVIEW, TaskKind.RESCREEN_HIT]).update(
        status="done", closed_at=check.reviewed_at, closed_by=actor)
    audit_record(action="screening.reviewed", obj=check, subject=check.client_id,
                 changes={"disposition": [old, disposition]}, reason=note.strip()[:300], actor=actor)
    return check


@transaction.atomic
def pep_flag_set(*, client, pep: bool, actor, note: str = "") -> RiskAssessment:
    from tenant_apps.audit.services import audit_lock, audit_record

    permission_require(actor, "kyc.screening", "review")
    audit_lock()
    assessment = risk_assess(client=client, check=latest_screening(client), pep=pep, pep_set_by=actor)
    audit_record(action="risk.pep_flag", obj=assessment, subject=client, changes={"pep": [not pep, pep]},
                 reason=note.strip()[:300], actor=actor)
    return assessment


# --- re-screening -------------------------------------------------------------------------------------------

def rescreen_clients(*, list_row) -> dict:
    """Screen every active named client against `list_row`, store each result, and open a task for each client
    newly hit (no hit against an earlier version, or a new entry). Client states are never changed here."""
    from tenant_apps.identity.models import User, UserKind

    require_tenant()
    screened = with_hits = tasks = 0
    clients = User.objects.filter(kind=UserKind.CLIENT, is_active=True).exclude(full_name="").order_by("pk")
    for client in clients.iterator(chunk_size=500):
        if ScreeningCheck.objects.filter(client=client, list_id=list_row.pk, trigger="rescreen").exists():
            screened += 1  # a redelivered message: this client was done for this version
            continue
        before = {h["entry_id"] for c in ScreeningCheck.objects.filter(client=client).exclude(list_id=list_row.pk)
                  .only("hits") for h in c.hits}
        before_ent = {h["ent_num"] for c in ScreeningCheck.objects.filter(client=client).exclude(list_id=list_row.pk)
                      .only("hits") for h in c.hits}
        check = screening_check_run(client=client, trigger="rescreen", source=list_row.source)
        screened += 1
        if check is None or check.status == ScreeningStatus.CLEAR:
            continue
        with_hits += 1
        new = [h for h in check.hits if h["ent_num"] not in before_ent and h["entry_id"] not in before]
        if check.status == ScreeningStatus.HIT and not new:
            continue  # already known (and reviewed or under review) from an earlier version
        what = ", ".join(f"{h['name']} ({h['score']})" for h in new) or check.unscreenable_reason
        _, created = compliance_task_open(
            client=client, kind=TaskKind.RESCREEN_HIT, dedupe_key=f"rescreen:{list_row.pk}:{client.pk}",
            note=f"Re-screening against {list_row.source} v{list_row.version}: {what}. The client's KYC state "
                 f"was not changed: review and decide.")
        tasks += created
        if created:
            risk_assess(client=client, check=check)
    return {"screened": screened, "with_hits": with_hits, "tasks": tasks}


# --- document expiry ----------------------------------------------------------------------------------------

def _document_expiry_model():
    model = _model("compliance.KycDocument")
    if model is None:
        return None, "compliance.KycDocument does not exist yet"
    names = {f.name for f in model._meta.get_fields()}
    if "expiry_date" not in names:
        return None, "compliance.KycDocument has no expiry_date"
    if _owner_field(model) is None:
        return None, "compliance.KycDocument has no client link"
    return model, ""


def _current_documents(model, queryset) -> list:
    """Accepted documents (when the model has a review state) not superseded by a newer accepted document of
    the same type and client expiring later (a client who already replaced a passport is not warned)."""
    names = {f.name for f in model._meta.get_fields()}
    state_field = next((n for n in ("state", "status") if n in names), None)
    type_field = next((n for n in ("doc_type", "kind", "type") if n in names), None)
    owner = _owner_field(model)
    if state_field:
        queryset = queryset.filter(**{f"{state_field}__in": ACCEPTED_DOCUMENT_STATES})
    kept = []
    for document in queryset.order_by("pk").iterator(chunk_size=500):
        newer = model.objects.filter(**{owner: _document_client(document)}, pk__gt=document.pk,
                                     expiry_date__gt=document.expiry_date)
        if type_field:
            newer = newer.filter(**{type_field: getattr(document, type_field)})
        if state_field:
            newer = newer.filter(**{f"{state_field}__in": ACCEPTED_DOCUMENT_STATES})
        if not newer.exists():
            kept.append(document)
    return kept


def _document_client(document):
    owner = _owner_field(type(document))
    return document.case.client if owner == "case__client" else getattr(document, owner)


def _notify_expiring(*, document, client, days: int) -> bool:
    """One in-app notice + one e-mail + one task per document per threshold. Returns whether it was new."""
    from tenancy.context import current_brokerage

    key = f"doc-expiring:{document.pk}:{document.expiry_date.isoformat()}:{EXPIRY_WARNING_DAYS}"
    label = getattr(document, "get_kind_display", None) or getattr(document, "get_doc_type_display", None)
    what = label() if callable(label) else "identity document"
    title = f"Your {what.lower()} expires on {document.expiry_date:%d %B %Y}"
    body = (f"Your {what.lower()} expires in {days} days, on {document.expiry_date:%d %B %Y}. Upload a valid "
            f"replacement before then to keep withdrawals and live trading available.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                notice = ClientNotice.objects.create(client=client, kind="document_expiring", title=title,
                                                     body=body, dedupe_key=key)
        except IntegrityError:
            return False
        compliance_task_open(client=client, kind=TaskKind.DOCUMENT_EXPIRING, dedupe_key=f"task:{key}",
                             due=timezone.now() + timedelta(days=max(1, days - 14)),
                             note=f"Document {document.pk} ({what}) expires on {document.expiry_date}; the client "
                                  f"was told on {timezone.localdate()}.")
    brokerage = current_brokerage()
    try:
        send_mail(subject=title, message=body, from_email=None, recipient_list=[client.email])
        ClientNotice.objects.filter(pk=notice.pk).update(emailed_at=timezone.now())
    except Exception:  # noqa: BLE001 - the in-app notice and the task stand; the e-mail is retried never twice
        log.warning("expiry e-mail to user %s at %s failed", client.pk, getattr(brokerage, "slug", "?"),
                    exc_info=True)
    return True


def documents_expiry_run(*, today: date | None = None) -> dict:
    """Daily: warn about documents expiring within EXPIRY_WARNING_DAYS; expire the KYC of clients whose
    document has expired (the capability table then restricts what the jurisdiction says)."""
    from tenant_apps.compliance.errors import KycTransitionNotAllowed
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.compliance.services import kyc_transition
    from tenant_apps.compliance.states import KycState

    require_tenant()
    model, why = _document_expiry_model()
    if model is None:
        log.info("document expiry skipped: %s", why)
        return {"skipped": why, "warned": 0, "expired": 0}
    today = today or timezone.localdate()
    warned = expired = 0
    soon = _current_documents(model, model.objects.filter(
        expiry_date__gte=today, expiry_date__lte=today + timedelta(days=EXPIRY_WARNING_DAYS)))
    for document in soon:
        client = _document_client(document)
        warned += _notify_expiring(document=document, client=client, days=(document.expiry_date - today).days)
    gone = _current_documents(model, model.objects.filter(expiry_date__lt=today))
    for document in gone:
        client = _document_client(document)
        if not KycCase.objects.filter(client=client, state=KycState.APPROVED).exists():
            continue
        try:
            kyc_transition(client=client, action="expire", actor_kind="system",
                           client_reason=f"Your identity document expired on {document.expiry_date:%d %B %Y}; "
                                         f"upload a new one.",
                           note=f"document {document.pk} expired on {document.expiry_date}")
        except KycTransitionNotAllowed:
            continue
        compliance_task_open(client=client, kind=TaskKind.DOCUMENT_EXPIRED,
                             dedupe_key=f"doc-expired:{document.pk}:{document.expiry_date.isoformat()}",
                             note=f"Document {document.pk} expired on {document.expiry_date}; KYC moved to "
                                  f"resubmission needed.")
        expired += 1
    return {"skipped": "", "warned": warned, "expired": expired}


# --- KYC vendors (Sumsub) -----------------------------------------------------------------------------------

WEBHOOK_MAX_BODY_BYTES = 256 * 1024
KEPT_HEADERS = ("X-Payload-Digest", "X-Payload-Digest-Alg", "Content-Type", "User-Agent")


def vendor_config_set(*, vendor: str, webhook_secret: str = "", app_token: str = "", app_secret: str = "",
                      level_name: str = "", actor=None) -> VendorConfig:
    from tenant_apps.audit.services import audit_record
    from tenant_apps.payments.crypto import encrypt

    require_tenant()
    permission_require(actor, "settings", "edit")
    with transaction.atomic():
        config, _ = VendorConfig.objects.get_or_create(vendor=vendor)
        changed = []
        for name, value in (("webhook_secret", webhook_secret), ("app_token", app_token),
                            ("app_secret", app_secret)):
            if value:
                setattr(config, f"{name}_encrypted", encrypt(value))
                changed.append(name)
        if level_name:
            config.level_name = level_name
        config.save()
        audit_record(action="kyc_vendor.configured", obj=config, changes={"secrets_changed": changed},
                     actor=actor)
    return config


def vendor_adapter(vendor: str):
    from tenant_apps.kyc_checks.adapters import adapter_class
    from tenant_apps.kyc_checks.adapters.base import VendorCredentials
    from tenant_apps.payments.crypto import decrypt

    config = VendorConfig.objects.filter(vendor=vendor, enabled=True).first()
    if config is None:
        return None
    creds = VendorCredentials(
        app_token=decrypt(config.app_token_encrypted) if config.app_token_encrypted else "",
        app_secret=decrypt(config.app_secret_encrypted) if config.app_secret_encrypted else "",
        webhook_secret=decrypt(config.webhook_secret_encrypted) if config.webhook_secret_encrypted else "")
    return adapter_class(vendor)(credentials=creds, base_url=config.api_base_url, level_name=config.level_name)


@dataclass(frozen=True)
class VendorReceipt:
    accepted: bool
    duplicate: bool = False
    webhook_pk: int | None = None
    code: str = ""
    message: str = ""


def vendor_webhook_receive(*, vendor: str, raw_body: bytes, headers) -> VendorReceipt | None:
    """Verify, then store raw (genuine deliveries once per body) and process after commit. None: no such vendor."""
    from functools import partial

    from django.db import connection

    from tenant_apps.kyc_checks.adapters.base import InvalidPayload, InvalidSignature

    require_tenant()
    adapter = vendor_adapter(vendor)
    if adapter is None:
        return None
    kept = {h: str(headers.get(h, ""))[:500] for h in KEPT_HEADERS if headers.get(h)}
    digest = hashlib.sha256(raw_body).hexdigest()
    try:
        event = adapter.verify_webhook(raw_body=raw_body, headers=headers)
    except (InvalidSignature, InvalidPayload) as exc:
        row = VendorWebhook.objects.create(vendor=vendor, body_sha256=digest, raw_body=raw_body, headers=kept,
                                           signature_valid=isinstance(exc, InvalidPayload),
                                           signature_error=exc.message[:255], status=VendorWebhookStatus.REJECTED)
        return VendorReceipt(False, webhook_pk=row.pk, code=exc.code, message=exc.message)
    try:
        with transaction.atomic():
            row = VendorWebhook.objects.create(
                vendor=vendor, body_sha256=digest, raw_body=raw_body, headers=kept, signature_valid=True,
                event_type=event.type, applicant_id=event.applicant_id, external_user_id=event.external_user_id,
                status=VendorWebhookStatus.RECEIVED)
    except IntegrityError:
        return VendorReceipt(True, duplicate=True)
    transaction.on_commit(partial(_send_process, connection.schema_name, row.pk))
    return VendorReceipt(True, webhook_pk=row.pk)


def _send_process(schema: str, pk: int) -> None:
    from tenancy.workers import TENANT_OPTION
    from tenant_apps.kyc_checks.tasks import vendor_webhook_process

    try:
        vendor_webhook_process.send_with_options(args=(pk,), **{TENANT_OPTION: schema})
    except Exception:  # noqa: BLE001 - durable; the periodic sweep processes it
        log.warning("could not enqueue vendor webhook %s", pk, exc_info=True)


def vendor_webhook_process(*, webhook_pk: int) -> str:
    """Apply one stored delivery at most once (row locked). Returns the outcome recorded."""
    from tenant_apps.audit.services import audit_lock
    from tenant_apps.compliance.errors import KycTransitionNotAllowed
    from tenant_apps.compliance.services import kyc_transition
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.kyc_checks.adapters import adapter_class
    from tenant_apps.kyc_checks.adapters.base import Outcome, VendorCredentials

    require_tenant()
    with transaction.atomic():
        audit_lock()
        row = VendorWebhook.objects.select_for_update(skip_locked=True).filter(pk=webhook_pk).first()
        if row is None or row.status != VendorWebhookStatus.RECEIVED:
            return f"skipped:{row.status if row else 'busy-or-missing'}"
        adapter = adapter_class(row.vendor)(credentials=VendorCredentials())
        event = adapter.parse_event(bytes(row.raw_body))
        mapped = adapter.map_result(event)
        client = None
        if event.external_user_id.isdigit():
            client = User.objects.filter(pk=int(event.external_user_id), kind=UserKind.CLIENT).first()
        status, outcome, error = VendorWebhookStatus.PROCESSED, mapped.outcome, ""
        if mapped.outcome == Outcome.NONE:
            status = VendorWebhookStatus.IGNORED
        elif client is None:
            status, error = VendorWebhookStatus.IGNORED, f"no client {event.external_user_id!r} here"
        else:
            note = f"{row.vendor}: {mapped.note}"
            try:
                with transaction.atomic():
                    kyc_transition(client=client, action=mapped.outcome, actor_kind="system",
                                   client_reason=mapped.client_reason, note=note)
            except KycTransitionNotAllowed as exc:
                # e.g. a final rejection: only Compliance may reject (compliance.states), or the case moved on.
                outcome = f"task:{mapped.outcome}"
                compliance_task_open(client=client, kind=TaskKind.VENDOR_DECISION,
                                     dedupe_key=f"vendor:{row.pk}",
                                     note=f"{note}. Not applied automatically ({exc.message}): decide "
                                          f"'{mapped.outcome}' in the review queue.")
        row.status, row.outcome, row.last_error = status, outcome, error
        row.processed_at = timezone.now()
        row.save(update_fields=["status", "outcome", "last_error", "processed_at"])
        return outcome if status == VendorWebhookStatus.PROCESSED else str(status)


def vendor_webhooks_pending() -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=60)
    return list(VendorWebhook.objects.filter(status=VendorWebhookStatus.RECEIVED, received_at__lt=cutoff)
                .order_by("pk").values_list("pk", flat=True)[:500])


def vendor_body_preview(row: VendorWebhook) -> dict:
    try:
        return json.loads(bytes(row.raw_body))
    except ValueError:
        return {}
