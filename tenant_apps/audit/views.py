"""Back-office pages of the audit trail: the list, one object's timeline, one person's export for a regulator.

Mounted under /backoffice/audit/. Reads only (through selectors); the one write is the audit entry that
records an export. Who may see and export is the permission matrix's "audit" capability.
"""
from __future__ import annotations

import csv
import json
import re
from contextlib import contextmanager
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from tenancy.context import require_tenant
from tenant_apps.audit.chain import canonical_timestamp
from tenant_apps.audit.forms import OBJECT_TYPE_RE, AuditFilterForm
from tenant_apps.audit.selectors import (
    audit_entries,
    audit_for_user,
    audit_page,
    audit_stream,
    audit_timeline,
)
from tenant_apps.audit.services import USER_OBJECT_TYPE, audit_record, is_id
from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.identity.models import User

PAGE_SIZE = 50
MAX_ID = 2**63 - 1
EXPORT_FIELDS = ("seq", "at", "actor_type", "actor_id", "actor_label", "actor_roles", "ip", "user_agent",
                 "object_type", "object_id", "subject_id", "action", "changes", "reason", "prev_hash", "hash")


@contextmanager
def _brokerage_time():
    """Times on these pages are shown in the brokerage's own zone."""
    try:
        zone = ZoneInfo(require_tenant().timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    with timezone.override(zone):
        yield zone


def _before(request) -> int | None:
    raw = request.GET.get("before", "")
    return int(raw) if is_id(raw) and int(raw) > 0 else None


class AuditListView(StaffPermissionMixin, View):
    permission = ("audit", "view")

    def get(self, request):
        form = AuditFilterForm(request.GET or None)
        status, entries, older = 200, [], None
        if form.is_bound and not form.is_valid():
            status = 400
        else:
            f = form.cleaned_data if form.is_bound else {}
            entries, older = audit_page(audit_entries(
                object_type=f.get("object_type", ""), action=f.get("action", ""), actor=f.get("actor", ""),
                before_seq=f.get("before"),
            ), size=PAGE_SIZE)
        query = request.GET.copy()
        query.pop("before", None)
        with _brokerage_time() as zone:
            return render(request, "audit/list.html", {
                "form": form, "entries": entries, "older": older, "filter_query": query.urlencode(),
                "is_first_page": not request.GET.get("before"), "zone": zone,
            }, status=status)


class AuditObjectView(StaffPermissionMixin, View):
    permission = ("audit", "view")

    def get(self, request, object_type: str, object_id: str):
        if not re.match(OBJECT_TYPE_RE, object_type) or len(object_type) > 64 or len(object_id) > 64 \
                or "\x00" in object_id:
            raise Http404("No such object type.")
        before = _before(request)
        timeline = audit_timeline(object_type, object_id)
        if before is not None:
            timeline = timeline.filter(seq__lt=before)
        entries, older = audit_page(timeline, size=PAGE_SIZE)
        subject = None
        user_id = int(object_id) if object_type == USER_OBJECT_TYPE and is_id(object_id) else None
        if user_id is not None:
            subject = User.objects.filter(pk=user_id).only("id", "email", "full_name").first()
        with _brokerage_time() as zone:
            return render(request, "audit/object.html", {
                "object_type": object_type, "object_id": object_id, "entries": entries, "older": older,
                "is_first_page": before is None, "subject": subject, "zone": zone,
                "user_id": user_id,
            })


# --- export -----------------------------------------------------------------------------------------

def _export_row(entry) -> dict:
    row = {name: getattr(entry, name) for name in EXPORT_FIELDS}
    row["at"] = canonical_timestamp(entry.at)  # exactly what the hash covers
    return row


def _csv_cell(value) -> str:
    """Spreadsheets run cells that start with = + - @ (or tab/CR) as formulas: quote them (OWASP CSV
    injection). The JSON export carries the exact values, and is the one to verify hashes against."""
    if value is None:
        return ""
    if isinstance(value, list):
        text = ";".join(map(str, value))
    elif isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    else:
        text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value):
        return value


def _csv_stream(entries):
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_FIELDS)
    for entry in entries:
        row = _export_row(entry)
        yield writer.writerow([_csv_cell(row[name]) for name in EXPORT_FIELDS])


def _json_stream(header: dict, entries):
    opening = json.dumps(header, ensure_ascii=False, indent=None)[:-1]
    yield opening + ', "entries": ['
    for i, entry in enumerate(entries):
        yield ("," if i else "") + "\n" + json.dumps(_export_row(entry), ensure_ascii=False, sort_keys=True)
    yield "\n]}\n"


class AuditUserExportView(StaffPermissionMixin, View):
    """One person's full history as CSV or JSON, streamed (a long history never sits in memory)."""

    permission = ("audit", "export")

    def get(self, request, user_id: int, fmt: str):
        brokerage = require_tenant()
        if user_id > MAX_ID:
            raise Http404("No such user.")
        user = User.objects.filter(pk=user_id).only("id", "email").first()
        if user is None and not audit_for_user(user_id).exists():
            raise Http404("No such user and no history.")
        # Handing a person's history to someone is itself on the record.
        audit_record(action="audit.exported", object_type=USER_OBJECT_TYPE, object_id=user_id,
                     changes={"format": [None, fmt]}, actor=request.user, request=request)
        entries = audit_stream(audit_for_user(user_id))
        filename = f"audit-{brokerage.slug}-user-{user_id}.{fmt}"
        if fmt == "csv":
            response = StreamingHttpResponse(_csv_stream(entries), content_type="text/csv; charset=utf-8")
        else:
            header = {"brokerage": brokerage.slug, "user_id": user_id, "user_email": user.email if user else None,
                      "exported_at": canonical_timestamp(timezone.now()), "exported_by": request.user.email,
                      "hash": "sha256(prev_hash + canonical JSON of the other fields; see verify_audit_chain)"}
            response = StreamingHttpResponse(_json_stream(header, entries), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response
