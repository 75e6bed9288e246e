"""Back-office report pages (/backoffice/reports/): standard reports, the report builder, saved reports and
export jobs. Views are thin: reads in selectors.py, writes in services.py."""
from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin, access_denied
from tenant_apps.identity.permissions import PermissionDeniedError, has_perm
from tenant_apps.partners.reports import ReportRangeError, parse_range
from tenant_apps.reports import selectors, services
from tenant_apps.reports.definitions import DATASETS, STAGES
from tenant_apps.reports.errors import ReportForbidden, ReportsError
from tenant_apps.reports.models import ReportJob

LIST_FILTERS = ("country", "method", "status", "currency", "symbol", "stage")


def _range(request):
    return parse_range(request.GET.get("from", ""), request.GET.get("to", ""))


def _values(data, key: str) -> list[str]:
    out = []
    for raw in data.getlist(key):
        out += [v.strip() for v in raw.split(",") if v.strip()]
    return out


def definition_from_form(data) -> dict:
    """The builder form (GET or POST) as a definition; validation is definitions.definition_validate's."""
    dataset = data.get("dataset", "")
    allowed = DATASETS[dataset].filters if dataset in DATASETS else ()
    filters = {"date_from": data.get("date_from", ""), "date_to": data.get("date_to", "")}
    for key in LIST_FILTERS:
        values = _values(data, key)
        if values:
            # a filter the dataset does not have is passed on, so the user is told (never silently ignored)
            filters[key] = [v.upper() for v in values] if key in ("country", "currency") and key in allowed else values
    return {"dataset": dataset, "dimensions": data.getlist("dimensions"), "measures": data.getlist("measures"),
            "filters": filters}


class _Report(StaffPermissionMixin, View):
    template = ""

    def page(self, request, context, status=200):
        return render(request, self.template, context, status=status)


class ReportsIndexView(StaffPermissionMixin, View):
    permission = ("reports", "funnel")

    def get(self, request):
        user = request.user
        can_view = has_perm(user, "reports", "view")
        return render(request, "reports/index.html", {
            "can_view": can_view, "can_money": can_view and selectors.may_see_money(user),
            "can_export": has_perm(user, "reports", "export"), "can_partners": has_perm(user, "partners", "view"),
            "saved": selectors.saved_reports_for(user=user) if can_view else [],
            "jobs": selectors.jobs_for(user=user) if has_perm(user, "reports", "export") else []})


class MoneyReportView(_Report):
    """Deposits, withdrawals and net per day, method, country or legal entity, per currency."""

    permission = ("reports", "view")
    template = "reports/money.html"

    def get(self, request):
        if not selectors.may_see_money(request.user):
            return access_denied(request, "clients.finance", "view")
        group = request.GET.get("group", "day")
        ctx = {"group": group, "groups": selectors.MONEY_GROUPS, "raw_from": request.GET.get("from", ""),
               "raw_to": request.GET.get("to", "")}
        if group not in selectors.MONEY_GROUPS:
            return self.page(request, {**ctx, "error": _("Unknown grouping.")}, status=400)
        try:
            start, end = _range(request)
        except ReportRangeError as exc:
            return self.page(request, {**ctx, "error": str(exc)}, status=400)
        report = selectors.money_report(start=start, end=end, group=group, user=request.user)
        return self.page(request, {**ctx, "report": report, "chart": report.chart(), "raw_from": start.isoformat(),
                                   "raw_to": end.isoformat()})


class TradingReportView(_Report):
    permission = ("reports", "view")
    template = "reports/trading.html"

    def get(self, request):
        try:
            start, end = _range(request)
        except ReportRangeError as exc:
            return self.page(request, {"error": str(exc)}, status=400)
        filters = {"date_from": start.isoformat(), "date_to": end.isoformat()}
        by_day = selectors.builder_run(definition={"dataset": "trading_volume", "dimensions": ["day"],
                                                   "measures": ["count", "sum_volume"], "filters": filters})
        by_symbol = selectors.builder_run(definition={"dataset": "trading_volume", "dimensions": ["symbol"],
                                                      "measures": ["count", "sum_volume"], "filters": filters})
        return self.page(request, {"by_day": by_day, "by_symbol": by_symbol, "chart": by_day.chart(),
                                   "raw_from": start.isoformat(), "raw_to": end.isoformat()})


class FunnelReportView(_Report):
    permission = ("reports", "funnel")
    template = "reports/funnel.html"

    def get(self, request):
        group = request.GET.get("group", "source")
        ctx = {"group": group, "groups": selectors.FUNNEL_GROUPS}
        if group not in selectors.FUNNEL_GROUPS:
            return self.page(request, {**ctx, "error": _("Unknown grouping.")}, status=400)
        try:
            start, end = _range(request)
        except ReportRangeError as exc:
            return self.page(request, {**ctx, "error": str(exc)}, status=400)
        rows, total = selectors.funnel_report(start=start, end=end, group=group)
        chart = {"labels": ["registered", "kyc_approved", "funded", "active"],
                 "datasets": [{"label": "clients", "data": [total.registered, total.kyc_approved, total.funded,
                                                             total.active]}]}
        return self.page(request, {**ctx, "rows": rows, "total": total, "chart": chart,
                                   "raw_from": start.isoformat(), "raw_to": end.isoformat()})


class DormancyReportView(_Report):
    permission = ("reports", "view")
    template = "reports/dormancy.html"

    def get(self, request):
        try:
            start, end = _range(request)
        except ReportRangeError as exc:
            return self.page(request, {"error": str(exc)}, status=400)
        report = selectors.dormancy_report(start=start, end=end)
        return self.page(request, {"report": report, "chart": report["chart"], "raw_from": start.isoformat(),
                                   "raw_to": end.isoformat()})


class KycSlaReportView(_Report):
    permission = ("reports", "view")
    template = "reports/kyc_sla.html"

    def get(self, request):
        try:
            start, end = _range(request)
        except ReportRangeError as exc:
            return self.page(request, {"error": str(exc)}, status=400)
        report = selectors.kyc_sla_report(start=start, end=end)
        return self.page(request, {"report": report, "chart": report["chart"], "raw_from": start.isoformat(),
                                   "raw_to": end.isoformat()})


class BuilderView(_Report):
    """GET: the form, and the result when a dataset is chosen (?dataset=…&dimensions=…&measures=…);
    ?saved=<pk> opens a saved report. POST action=save (a saved report) or action=export (a job)."""

    permission = ("reports", "view")
    template = "reports/builder.html"

    def _ctx(self, request, form_data, **extra):
        selected = {"dataset": form_data.get("dataset", ""), "dimensions": form_data.getlist("dimensions"),
                    "measures": form_data.getlist("measures"), "date_from": form_data.get("date_from", ""),
                    "date_to": form_data.get("date_to", ""),
                    **{k: ",".join(_values(form_data, k)) for k in LIST_FILTERS}}
        return {"datasets": DATASETS, "stages": STAGES, "selected": selected,
                "can_export": has_perm(request.user, "reports", "export"),
                "saved": selectors.saved_reports_for(user=request.user), **extra}

    def get(self, request):
        data = request.GET
        if data.get("saved"):
            try:
                report = selectors.saved_report_get(user=request.user, pk=int(data["saved"]))
            except ValueError:
                report = None
            if report is None:
                raise Http404
            data = _querydict(report.definition)
        if not data.get("dataset"):
            return self.page(request, self._ctx(request, data))
        try:
            result = selectors.builder_run(definition=definition_from_form(data), user=request.user)
        except ReportForbidden as exc:
            return self.page(request, self._ctx(request, data, error=exc.as_dict()), status=403)
        except ReportsError as exc:
            return self.page(request, self._ctx(request, data, error=exc.as_dict()), status=400)
        return self.page(request, self._ctx(request, data, result=result, chart=result.chart(),
                                            query=_query_string(result.definition.as_json())))

    def post(self, request):
        action = request.POST.get("action", "")
        definition = definition_from_form(request.POST)
        try:
            if action == "save":
                report = services.saved_report_save(user=request.user, name=request.POST.get("name", ""),
                                                    definition=definition, shared=request.POST.get("shared") == "on")
                return redirect(f"{reverse('reports_builder')}?saved={report.pk}")
            if action == "export":
                job = services.report_job_request(user=request.user, definition=definition,
                                                  format=request.POST.get("format", ""),
                                                  name=request.POST.get("name", ""))
                return redirect("reports_job", pk=job.pk)
            raise ReportsError(_("Choose save or export."), code="invalid_action", field="action")
        except PermissionDeniedError as exc:
            return access_denied(request, exc.capability, exc.action)
        except ReportForbidden as exc:
            return self.page(request, self._ctx(request, request.POST, error=exc.as_dict()), status=403)
        except ReportsError as exc:
            return self.page(request, self._ctx(request, request.POST, error=exc.as_dict()), status=400)


def _query_string(definition: dict) -> str:
    from urllib.parse import urlencode

    pairs = [("dataset", definition["dataset"])] + [("dimensions", d) for d in definition["dimensions"]]
    pairs += [("measures", m) for m in definition["measures"]]
    for key, value in definition.get("filters", {}).items():
        pairs += [(key, ",".join(value))] if isinstance(value, list) else [(key, value)]
    return urlencode(pairs)


def _querydict(definition: dict):
    from django.http import QueryDict

    return QueryDict(_query_string(definition))


class SavedReportDeleteView(StaffPermissionMixin, View):
    permission = ("reports", "view")

    def post(self, request, pk: int):
        try:
            services.saved_report_delete(user=request.user, pk=pk)
        except ReportsError:
            raise Http404 from None
        return redirect("reports_index")


class JobView(StaffPermissionMixin, View):
    permission = ("reports", "export")

    def get(self, request, pk: int):
        job = selectors.job_get(user=request.user, pk=pk)
        if job is None:
            raise Http404
        return render(request, "reports/job.html", {"job": job})


class JobProgressView(StaffPermissionMixin, View):
    """The htmx fragment the job page polls (every second until done or failed)."""

    permission = ("reports", "export")

    def get(self, request, pk: int):
        job = selectors.job_get(user=request.user, pk=pk)
        if job is None:
            raise Http404
        return render(request, "reports/_job_progress.html", {"job": job})


class JobDownloadView(StaffPermissionMixin, View):
    permission = ("reports", "export")
    CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                     "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

    def get(self, request, pk: int):
        job = selectors.job_get(user=request.user, pk=pk, with_content=True)
        if job is None or job.status != ReportJob.Status.DONE:
            raise Http404
        response = HttpResponse(bytes(job.content), content_type=self.CONTENT_TYPES[job.format])
        response["Content-Disposition"] = f'attachment; filename="{job.file_name}"'
        return response
