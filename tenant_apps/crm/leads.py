"""Lead intake (writes): a lead from the API or a CSV import — validated, checked for duplicates on normalised
e-mail (lower case, trimmed) and phone (E.164), routed by the tenant's rules like a registration, audited.

Duplicates, decided once for both channels:
- against existing clients: the lead is NOT created. The CSV import MERGES it — blank contact fields of the
  existing record (name, phone, country, language) are filled from the row, nothing else is touched (owner,
  stage and first-touch attribution stay) — or SKIPS it when there is nothing to fill or the row matches two
  different clients (e-mail one, phone another). The API answers 409 `duplicate` and changes nothing.
- within one file: the first row wins; a later row with the same e-mail or phone is skipped ("duplicate of row N").

A lead is a client user without a password (stage "lead" until they sign up) plus its ClientRecord with
lead_source "api" or "import".
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.context import require_tenant
from tenant_apps.crm.models import ClientRecord, LeadImport
from tenant_apps.identity.models import User, UserKind
from tenant_apps.identity.permissions import permission_require

COLUMNS = ("email", "phone", "name", "country", "language", "source", "campaign")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
SYNC_LIMIT = 1_000     # more new leads than this run as a background job with progress
BATCH = 200            # leads per transaction (progress is committed between batches)
PREVIEW_ROWS = 200     # rows of the file the preview page lists (errors are always all listed, up to ERRORS_SHOWN)
ERRORS_SHOWN = 500


class LeadDuplicateError(Exception):
    """The lead is already a client: `field` ("email" or "phone") matched client `client_id`."""

    def __init__(self, field: str, client_id: int):
        super().__init__(_("A client with this %(field)s already exists.") % {"field": field})
        self.field, self.client_id = field, client_id


def email_normalise(raw: str) -> str:
    return (raw or "").strip().lower()


def lead_clean(data: dict) -> dict:
    """Shape-check one lead (API body or CSV row) → cleaned dict, or ValidationError {field: message}."""
    from tenant_apps.crm.phones import country_choices, phone_e164

    errors: dict[str, str] = {}
    email = email_normalise(str(data.get("email") or ""))
    try:
        if not email:
            raise ValidationError("required")
        validate_email(email)
    except ValidationError:
        errors["email"] = _("Enter a valid e-mail address.") if email else _("The e-mail address is required.")
    country = str(data.get("country") or "").strip().upper()
    if country and country not in {c for c, _n in country_choices("en")}:
        errors["country"] = _("Unknown country code %(code)s (use ISO codes such as CY, MX).") % {"code": country[:8]}
    phone = str(data.get("phone") or "").strip()
    if phone:
        try:
            phone = phone_e164(phone, country=country or None)
        except ValidationError as exc:
            errors["phone"] = exc.messages[0]
    language = str(data.get("language") or "").strip().lower()
    if language and language not in {code for code, _n in settings.LANGUAGES}:
        errors["language"] = _("Unsupported language %(code)s (one of: %(known)s).") % {
            "code": language[:8], "known": ", ".join(code for code, _n in settings.LANGUAGES)}
    name = " ".join(str(data.get("name") or "").split())
    if len(name) > 200:
        errors["name"] = _("The name is longer than 200 characters.")
    source, campaign = str(data.get("source") or "").strip(), str(data.get("campaign") or "").strip()
    if len(source) > 100 or len(campaign) > 100:
        errors["source" if len(source) > 100 else "campaign"] = _("At most 100 characters.")
    if errors:
        raise ValidationError(errors)
    return {"email": email, "phone": phone, "name": name, "country": country, "language": language,
            "source": source, "campaign": campaign}


def existing_clients(*, emails: set[str], phones: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    """({email: user id}, {phone: user id}) of the people already in this brokerage (two queries). E-mail matches
    any user (a staff address cannot become a lead either); phone matches client records."""
    by_email: dict[str, int] = {}
    by_phone: dict[str, int] = {}
    emails, phones = {e for e in emails if e}, {p for p in phones if p}
    for chunk in _chunks(sorted(emails), 1000):
        by_email.update(User.objects.annotate(e=Lower("email")).filter(e__in=chunk).values_list("e", "pk"))
    for chunk in _chunks(sorted(phones), 1000):
        by_phone.update(ClientRecord.objects.filter(phone__in=chunk).order_by("-pk").values_list("phone", "user_id"))
    return by_email, by_phone


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _create(*, clean: dict, source: str, actor, now: datetime, request=None) -> ClientRecord:
    """One lead: the passwordless client user, its record, routed; audited. Caller holds audit_lock()."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.crm.lifecycle import lifecycle_refresh
    from tenant_apps.crm.services import lead_route

    user = User.objects.create_user(email=clean["email"], password=None, kind=UserKind.CLIENT,
                                    full_name=clean["name"], language=clean["language"])
    record = ClientRecord.objects.create(
        user=user, country=clean["country"], phone=clean["phone"], language=clean["language"],
        utm_source=clean["source"][:100], utm_campaign=clean["campaign"][:100], lead_source=source,
        first_touch_at=now, stage="lead", stage_changed_at=now)
    decision, owner = lead_route(record, now=now)
    audit_record(action="crm.lead_created", obj=record, subject=user, actor=actor, request=request,
                 changes={"source": [None, source], "utm_source": [None, record.utm_source or None],
                          "country": [None, record.country or None]})
    audit_record(action="crm.client_routed", obj=record, subject=user, actor="crm-routing",
                 changes={"team": [None, decision.team.name if decision.team else None],
                          "owner": [None, owner.email if owner else None],
                          "rule": [None, decision.rule.name if decision.rule else None]},
                 reason=record.routing_reason)
    lifecycle_refresh(client=user, now=now)
    return record


@transaction.atomic
def lead_create(*, data: dict, actor, source: str = "api", request=None, now: datetime | None = None) -> ClientRecord:
    """A lead from the API (crm.leads:create). ValidationError on bad input; LeadDuplicateError when the normalised
    e-mail or phone is already a client's. Nothing is written in either case."""
    from tenant_apps.audit.services import audit_lock

    require_tenant()
    permission_require(actor, "crm.leads", "create")
    clean = lead_clean(data)
    audit_lock()
    by_email, by_phone = existing_clients(emails={clean["email"]}, phones={clean["phone"]})
    if clean["email"] in by_email:
        raise LeadDuplicateError("email", by_email[clean["email"]])
    if clean["phone"] and clean["phone"] in by_phone:
        raise LeadDuplicateError("phone", by_phone[clean["phone"]])
    record = _create(clean=clean, source=source, actor=actor, now=now or timezone.now(), request=request)
    record.refresh_from_db()
    return record


# --- CSV import: upload → preview → confirm → (job) → done --------------------------------------------------

@dataclass
class _Parsed:
    rows: list[dict]
    error: str = ""


def _parse(content: bytes) -> _Parsed:
    if len(content) > MAX_FILE_BYTES:
        return _Parsed([], _("The file is larger than 5 MB; split it into smaller files."))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _Parsed([], _("The file is not UTF-8 text; save it as “CSV UTF-8”."))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        return _Parsed([], _("The file is empty."))
    if "email" not in header:
        return _Parsed([], _("The first row must name the columns; “email” is required (columns: %(cols)s).")
                       % {"cols": ", ".join(COLUMNS)})
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        return _Parsed([], _("Unknown column(s): %(cols)s. Use: %(known)s.") % {"cols": ", ".join(unknown[:5]),
                                                                              "known": ", ".join(COLUMNS)})
    rows = []
    try:
        for number, values in enumerate(reader, start=2):  # spreadsheet row numbers: the header is row 1
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                return _Parsed([], _("More than %(max)s rows; split the file.") % {"max": f"{MAX_ROWS:,}"})
            raw = {h: (values[i].strip()[:300] if i < len(values) else "") for i, h in enumerate(header) if h}
            rows.append({"row": number, "raw": raw})
    except csv.Error as exc:
        return _Parsed([], _("The file is not valid CSV near row %(row)s: %(error)s") % {
            "row": reader.line_num, "error": exc})
    if not rows:
        return _Parsed([], _("The file has a header but no rows."))
    return _Parsed(rows)


def _classify(rows: list[dict]) -> None:
    """Give every row its verdict (new / merge / duplicate / error) in place: shape, then duplicates within the
    file (first row wins), then against existing clients (two queries for the whole file)."""
    seen_email: dict[str, int] = {}
    seen_phone: dict[str, int] = {}
    for row in rows:
        row.pop("clean", None)
        try:
            clean = lead_clean(row["raw"])
        except ValidationError as exc:
            row.update(verdict="error", message=" ".join(f"{f}: {m[0]}" for f, m in exc.message_dict.items()))
            continue
        first = seen_email.get(clean["email"]) or (seen_phone.get(clean["phone"]) if clean["phone"] else None)
        if first is not None:
            row.update(verdict="duplicate", message=_("Duplicate of row %(row)s in this file.") % {"row": first})
            continue
        seen_email[clean["email"]] = row["row"]
        if clean["phone"]:
            seen_phone[clean["phone"]] = row["row"]
        row.update(clean=clean, verdict="new", message="")
    valid = [r for r in rows if r["verdict"] == "new"]
    by_email, by_phone = existing_clients(emails={r["clean"]["email"] for r in valid},
                                          phones={r["clean"]["phone"] for r in valid})
    for row in valid:
        email_id = by_email.get(row["clean"]["email"])
        phone_id = by_phone.get(row["clean"]["phone"]) if row["clean"]["phone"] else None
        if email_id and phone_id and email_id != phone_id:
            row.update(verdict="duplicate", client_id=email_id,
                       message=_("E-mail and phone belong to two different clients; skipped."))
        elif email_id or phone_id:
            row.update(verdict="merge", client_id=email_id or phone_id,
                       message=_("Already a client (same %(field)s): blank details are filled in, nothing else "
                                 "changes.") % {"field": _("e-mail") if email_id else _("phone")})


def _counts(rows: list[dict]) -> dict[str, int]:
    counts = {"new": 0, "merge": 0, "duplicate": 0, "error": 0}
    for row in rows:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    return counts


@transaction.atomic
def lead_import_preview(*, actor, filename: str, content: bytes, request=None) -> LeadImport:
    """Parse and check an uploaded CSV; store it for preview (nothing is imported yet). ValidationError when the
    file as a whole cannot be read (each bad ROW is reported in the preview instead)."""
    from tenant_apps.audit.services import audit_record

    require_tenant()
    permission_require(actor, "crm.leads", "create")
    parsed = _parse(content)
    if parsed.error:
        raise ValidationError({"file": parsed.error})
    _classify(parsed.rows)
    counts = _counts(parsed.rows)
    lead_import = LeadImport.objects.create(created_by=actor, filename=(filename or "")[:200], rows=parsed.rows,
                                            total_rows=len(parsed.rows), error_count=counts["error"])
    audit_record(action="crm.lead_import_previewed", obj=lead_import, actor=actor, request=request,
                 changes={"filename": [None, lead_import.filename], "rows": [None, len(parsed.rows)], **{
                     k: [None, v] for k, v in counts.items()}})
    return lead_import


def lead_import_confirm(*, actor, lead_import: LeadImport, request=None) -> LeadImport:
    """Import a previewed file: at most SYNC_LIMIT leads to create run now; more run as a job (progress on the
    import's page). Duplicates are checked again, against the clients of this moment."""
    from tenant_apps.audit.services import audit_record

    require_tenant()
    permission_require(actor, "crm.leads", "create")
    with transaction.atomic():
        locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
        if locked.status != LeadImport.Status.PREVIEW:
            raise ValidationError({"status": _("This import was already confirmed.")})
        _classify(locked.rows)
        counts = _counts(locked.rows)
        locked.status, locked.error_count = LeadImport.Status.RUNNING, counts["error"]
        locked.save(update_fields=["status", "rows", "error_count"])
        audit_record(action="crm.lead_import_confirmed", obj=locked, actor=actor, request=request,
                     changes={"status": [LeadImport.Status.PREVIEW, LeadImport.Status.RUNNING]})
        if counts["new"] + counts["merge"] > SYNC_LIMIT:
            from tenancy.workers import send_on_commit
            from tenant_apps.crm.tasks import lead_import_run as job

            send_on_commit(job, locked.pk, actor.pk if actor else None)
            return locked
    lead_import_run(import_id=locked.pk, actor=actor)
    locked.refresh_from_db()
    return locked


def lead_import_run(*, import_id: int, actor=None, now: datetime | None = None) -> LeadImport:
    """Work through a confirmed import in batches of BATCH rows, one transaction each, committing progress
    (processed_rows) between them. Idempotent: rows already done keep their outcome when a retry resumes."""
    require_tenant()
    lead_import = LeadImport.objects.get(pk=import_id)
    if lead_import.status != LeadImport.Status.RUNNING:
        return lead_import
    rows = lead_import.rows
    try:
        for start in range(lead_import.processed_rows, len(rows), BATCH):
            with transaction.atomic():
                _run_batch(rows[start:start + BATCH], actor=actor, now=now or timezone.now(),
                           import_id=import_id)
                done = min(start + BATCH, len(rows))
                LeadImport.objects.filter(pk=import_id).update(
                    rows=rows, processed_rows=done, **_outcome_counts(rows))
    except Exception as exc:
        LeadImport.objects.filter(pk=import_id).update(status=LeadImport.Status.FAILED, error=str(exc)[:300],
                                                       finished_at=timezone.now())
        raise
    LeadImport.objects.filter(pk=import_id).update(status=LeadImport.Status.DONE, finished_at=timezone.now(),
                                                   processed_rows=len(rows), **_outcome_counts(rows))
    return LeadImport.objects.get(pk=import_id)


def _outcome_counts(rows: list[dict]) -> dict[str, int]:
    outcomes = [r.get("outcome") for r in rows]
    return {"created_count": outcomes.count("created"), "merged_count": outcomes.count("merged"),
            "skipped_count": outcomes.count("skipped")}


MERGE_FIELDS = (("name", "full_name"), ("phone", "phone"), ("country", "country"), ("language", "language"))


def _run_batch(rows: list[dict], *, actor, now: datetime, import_id: int) -> None:
    from tenant_apps.audit.services import audit_lock, audit_record

    audit_lock()
    todo = [r for r in rows if not r.get("outcome") and r["verdict"] in ("new", "merge")]
    for row in rows:
        if not row.get("outcome") and row["verdict"] not in ("new", "merge"):
            row["outcome"] = "skipped" if row["verdict"] == "duplicate" else "failed"
    # Re-checked against this moment's clients: another import or a registration may have arrived meanwhile.
    by_email, by_phone = existing_clients(emails={r["clean"]["email"] for r in todo},
                                          phones={r["clean"]["phone"] for r in todo})
    merge_ids = {by_email.get(r["clean"]["email"]) or by_phone.get(r["clean"]["phone"]) for r in todo} - {None}
    records = {r.user_id: r for r in ClientRecord.objects.select_related("user").filter(user_id__in=merge_ids)}
    for row in todo:
        clean = row["clean"]
        existing = by_email.get(clean["email"]) or (by_phone.get(clean["phone"]) if clean["phone"] else None)
        if existing is None:
            record = _create(clean=clean, source="import", actor=actor, now=now)
            row.update(outcome="created", client_id=record.user_id)
            continue
        row["client_id"] = existing
        record = records.get(existing)
        filled = {}
        if record is not None:
            for key, field in MERGE_FIELDS:
                target = record.user if field == "full_name" else record
                if clean[key] and not getattr(target, field):
                    setattr(target, field, clean[key])
                    filled[field] = [None, clean[key]]
        if not filled:
            row.update(outcome="skipped", message=row.get("message") or _("Already a client; nothing to fill in."))
            continue
        if "full_name" in filled:
            record.user.save(update_fields=["full_name"])
        record.save(update_fields=[f for f in filled if f != "full_name"] + ["updated_at"])
        audit_record(action="crm.lead_merged", obj=record, subject=existing, actor=actor, changes=filled,
                     reason=f"lead import {import_id}, row {row['row']}")
        row["outcome"] = "merged"
