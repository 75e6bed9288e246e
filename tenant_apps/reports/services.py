"""Report writes: saved report definitions (save, delete) and export jobs (request; build in a worker).
Each write is audited; the job's file is built by reports.tasks.report_job_build after the request commits."""
from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from tenancy.context import require_tenant
from tenant_apps.identity.permissions import permission_require
from tenant_apps.reports.definitions import definition_validate
from tenant_apps.reports.errors import ReportForbidden, ReportsError
from tenant_apps.reports.models import ReportJob, SavedReport
from tenant_apps.reports.selectors import may_see_money

log = logging.getLogger(__name__)


def _audit(action: str, obj, *, actor, changes=None, reason: str = ""):
    from tenant_apps.audit.services import audit_record

    audit_record(action=action, obj=obj, actor=actor if actor is not None else "reports", changes=changes or {},
                 reason=reason)


def _checked(*, user, definition):
    d = definition_validate(definition)
    if d.has_money and not may_see_money(user):
        raise ReportForbidden(_("Amounts need the “client money figures” permission; choose counts only."),
                              field="measures")
    return d


def saved_report_save(*, user, name: str, definition, shared: bool = False, pk: int | None = None) -> SavedReport:
    """Create (pk None) or update one of the user's own saved reports. The definition is validated first."""
    require_tenant()
    permission_require(user, "reports", "view")
    name = (name or "").strip()
    if not name:
        raise ReportsError(_("Give the report a name."), code="name_required", field="name")
    if len(name) > 120:
        raise ReportsError(_("A name is at most 120 characters."), code="name_too_long", field="name")
    d = _checked(user=user, definition=definition)
    with transaction.atomic():
        if pk is None:
            report = SavedReport.objects.create(name=name, definition=d.as_json(), owner=user, shared=bool(shared))
            _audit("report.saved", report, actor=user, changes={"name": [None, name]})
        else:
            report = SavedReport.objects.select_for_update().filter(pk=pk, owner=user).first()
            if report is None:
                raise ReportsError(_("Only the owner can change a saved report."), code="not_owner")
            before = {"name": report.name, "definition": report.definition, "shared": report.shared}
            report.name, report.definition, report.shared = name, d.as_json(), bool(shared)
            report.save()
            _audit("report.updated", report, actor=user,
                   changes={k: [v, getattr(report, k)] for k, v in before.items() if v != getattr(report, k)})
    return report


def saved_report_delete(*, user, pk: int) -> None:
    require_tenant()
    permission_require(user, "reports", "view")
    with transaction.atomic():
        report = SavedReport.objects.select_for_update().filter(pk=pk, owner=user).first()
        if report is None:
            raise ReportsError(_("Only the owner can delete a saved report."), code="not_owner")
        _audit("report.deleted", report, actor=user, changes={"name": [report.name, None]})
        report.delete()


def report_job_request(*, user, definition, format: str, name: str = "") -> ReportJob:
    """Queue an export of a builder definition as CSV or XLSX; a worker builds the file (reports.tasks)."""
    from tenancy.workers import send_on_commit
    from tenant_apps.reports.tasks import report_job_build

    require_tenant()
    permission_require(user, "reports", "export")
    if format not in ReportJob.Format.values:
        raise ReportsError(_("Export as CSV or XLSX."), code="invalid_format", field="format")
    d = _checked(user=user, definition=definition)
    name = (name or "").strip()[:120] or str(d.dataset.label)
    with transaction.atomic():
        job = ReportJob.objects.create(name=name, definition=d.as_json(), format=format, requested_by=user)
        _audit("report.export_requested", job, actor=user, changes={"format": [None, format]})
        send_on_commit(report_job_build, job.pk)
    return job


def _progress(job_id: int, value: int) -> None:
    # Its own short write, committed at once, so the page polling the job sees it move.
    ReportJob.objects.filter(pk=job_id, status=ReportJob.Status.RUNNING).update(progress=max(0, min(99, value)))


def report_job_run(*, job_id: int) -> ReportJob | None:
    """Build a job's file (idempotent: a job already done or failed is left as it is). The query runs with the
    requester's permissions as they are now (a revoked right fails the job)."""
    from tenant_apps.reports.exports import result_csv, result_xlsx
    from tenant_apps.reports.selectors import builder_run

    require_tenant()
    with transaction.atomic():
        job = ReportJob.objects.select_for_update().select_related("requested_by").filter(pk=job_id).first()
        if job is None or job.status in (ReportJob.Status.DONE, ReportJob.Status.FAILED):
            return job
        job.status, job.started_at, job.progress = ReportJob.Status.RUNNING, timezone.now(), 5
        job.save(update_fields=["status", "started_at", "progress"])
    try:
        permission_require(job.requested_by, "reports", "export")
        result = builder_run(definition=job.definition, user=job.requested_by)
        _progress(job.pk, 40)
        total = max(1, len(result.rows))

        def progress(done: int, job_id=job.pk, total=total):
            _progress(job_id, 40 + int(55 * done / total))

        if job.format == ReportJob.Format.XLSX:
            content = result_xlsx(result, title=job.name, progress=progress)
        else:
            content = result_csv(result, progress=progress)
    except Exception as exc:  # noqa: BLE001 - the job records why; the requester sees it on the job page
        log.warning("report job %s failed: %s", job.pk, exc)
        message = exc.message if isinstance(exc, ReportsError) else _("The report could not be built.")
        with transaction.atomic():
            ReportJob.objects.filter(pk=job.pk).update(status=ReportJob.Status.FAILED, error=str(message)[:300],
                                                       finished_at=timezone.now())
            job.refresh_from_db()
            _audit("report.export_failed", job, actor=None, reason=str(exc)[:300])
        return job
    with transaction.atomic():
        stamp = timezone.now()
        ReportJob.objects.filter(pk=job.pk).update(
            status=ReportJob.Status.DONE, progress=100, content=content, row_count=len(result.rows),
            file_name=f"{slugify(job.name) or 'report'}-{stamp:%Y%m%d-%H%M}.{job.format}", finished_at=stamp)
        job.refresh_from_db()
        _audit("report.export_built", job, actor=None, changes={"rows": [None, len(result.rows)]})
    return job
