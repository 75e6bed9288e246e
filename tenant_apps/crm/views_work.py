"""Back-office pages of the sales desk: the lead pipeline, my tasks, tasks and notes on a client (from Client 360),
the CSV lead import and the teams' working hours. Thin: reads in crm.selectors, writes in crm.services/leads."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.crm import selectors
from tenant_apps.identity.permissions import has_perm


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**62 else None


def _form_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class PipelineView(StaffPermissionMixin, View):
    """Columns per lifecycle stage: count and the newest cards, filtered by owner, team, source, country."""

    permission = ("clients", "view")

    def get(self, request):
        filters = {"owner_id": _int(request.GET.get("owner")), "team_id": _int(request.GET.get("team")),
                   "source": request.GET.get("source", "") if request.GET.get("source", "") in dict(
                       selectors.LEAD_SOURCES) else "",
                   "country": (request.GET.get("country") or "").strip().upper()[:2]}
        return render(request, "crm/pipeline.html", {
            "columns": selectors.pipeline(request.user, **filters), "filters": filters,
            "options": selectors.pipeline_filter_options(request.user),
            "scoped": not has_perm(request.user, "clients", "view_all"),
        })


class MyTasksView(StaffPermissionMixin, View):
    permission = ("clients", "view")

    def get(self, request):
        status = request.GET.get("status", "open")
        status = status if status in ("open", "done", "cancelled") else "open"
        page = Paginator(selectors.tasks_of(request.user, status=status), 50).get_page(request.GET.get("page"))
        return render(request, "crm/my_tasks.html", {"page": page, "status": status, "now": timezone.now(),
                                                     "can_edit": has_perm(request.user, "clients", "edit")})


def _client_or_404(request, client_id):
    client = selectors.client_for(request.user, client_id)
    if client is None:
        raise Http404("No such client.")
    return client


class ClientTaskCreateView(StaffPermissionMixin, View):
    """POST from Client 360: a task on this client (clients:edit, and the client within the writer's scope)."""

    permission = ("clients", "edit")

    def post(self, request, client_id: int):
        from tenant_apps.crm.forms import TaskForm
        from tenant_apps.crm.services import task_create

        client = _client_or_404(request, client_id)
        form = TaskForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                task_create(client=client, owner=data["owner"], title=data["title"], due_at=data["due_at"],
                            reminder_at=data["reminder_at"], notes=data["notes"], created_by=request.user,
                            request=request)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Task added."))
                return redirect("backoffice_client", client_id=client.pk)
        return render(request, "crm/client_form.html", {"client": client, "form": form, "what": "task"}, status=400)


class ClientNoteCreateView(StaffPermissionMixin, View):
    permission = ("clients", "edit")

    def post(self, request, client_id: int):
        from tenant_apps.crm.forms import NoteForm
        from tenant_apps.crm.services import client_note_add

        client = _client_or_404(request, client_id)
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                client_note_add(client=client, author=request.user, request=request, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Saved to the client's record."))
                return redirect("backoffice_client", client_id=client.pk)
        return render(request, "crm/client_form.html", {"client": client, "form": form, "what": "note"}, status=400)


class TaskCompleteView(StaffPermissionMixin, View):
    """POST: close a task as done (or cancelled with status=cancelled); the client must be in the writer's scope."""

    permission = ("clients", "edit")

    def post(self, request, task_id: int):
        from tenant_apps.crm.models import Task
        from tenant_apps.crm.services import task_complete

        task = Task.objects.filter(pk=task_id).only("id", "client_id").first()
        if task is None or selectors.client_for(request.user, task.client_id) is None:
            raise Http404("No such task.")
        status = request.POST.get("status", "done")
        try:
            task_complete(task=task, actor=request.user, status=status, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return render(request, "crm/task_refused.html", {"errors": exc.messages}, status=400)
        messages.success(request, _("Task closed."))
        target = request.POST.get("next") or ""
        if target.startswith("/backoffice/") and "//" not in target:
            return redirect(target)
        return redirect("backoffice_my_tasks")


class LeadImportView(StaffPermissionMixin, View):
    """Upload a CSV → preview (each row's verdict), nothing imported yet."""

    permission = ("crm.leads", "create")

    def _render(self, request, form, status=200):
        from tenant_apps.crm.models import LeadImport

        recent = LeadImport.objects.select_related("created_by").defer("rows").order_by("-id")[:20]
        return render(request, "crm/lead_import.html", {"form": form, "recent": recent}, status=status)

    def get(self, request):
        from tenant_apps.crm.forms import LeadImportForm

        return self._render(request, LeadImportForm())

    def post(self, request):
        from tenant_apps.crm.forms import LeadImportForm
        from tenant_apps.crm.leads import MAX_FILE_BYTES, lead_import_preview

        form = LeadImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_FILE_BYTES:
                form.add_error("file", _("The file is larger than 5 MB; split it into smaller files."))
            else:
                try:
                    lead_import = lead_import_preview(actor=request.user, filename=upload.name,
                                                      content=upload.read(), request=request)
                except ValidationError as exc:
                    _form_errors(form, exc)
                else:
                    return redirect("backoffice_lead_import", import_id=lead_import.pk)
        return self._render(request, form, status=400)


class LeadImportDetailView(StaffPermissionMixin, View):
    """The preview, then the progress (polled) and the outcome of each row."""

    permission = ("crm.leads", "create")

    def get(self, request, import_id: int):
        from tenant_apps.crm.leads import ERRORS_SHOWN, PREVIEW_ROWS
        from tenant_apps.crm.models import LeadImport

        lead_import = LeadImport.objects.filter(pk=import_id).first()
        if lead_import is None:
            raise Http404("No such import.")
        rows = lead_import.rows
        counts = {"new": 0, "merge": 0, "duplicate": 0, "error": 0}
        for row in rows:
            counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
        context = {"imp": lead_import, "counts": counts, "rows": rows[:PREVIEW_ROWS], "more": len(rows) > PREVIEW_ROWS,
                   "problems": [r for r in rows if r["verdict"] in ("error", "duplicate")][:ERRORS_SHOWN],
                   "percent": int(100 * lead_import.processed_rows / lead_import.total_rows)
                   if lead_import.total_rows else 0}
        template = "crm/_lead_import_progress.html" if request.headers.get("HX-Request") else "crm/lead_import_detail.html"
        return render(request, template, context)


class LeadImportConfirmView(StaffPermissionMixin, View):
    permission = ("crm.leads", "create")

    def post(self, request, import_id: int):
        from tenant_apps.crm.leads import lead_import_confirm
        from tenant_apps.crm.models import LeadImport

        lead_import = LeadImport.objects.filter(pk=import_id).defer("rows").first()
        if lead_import is None:
            raise Http404("No such import.")
        try:
            done = lead_import_confirm(actor=request.user, lead_import=lead_import, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return render(request, "crm/task_refused.html", {"errors": exc.messages}, status=400)
        if done.status == LeadImport.Status.DONE:
            messages.success(request, _("Import finished: %(created)s created, %(merged)s merged, %(skipped)s skipped.")
                             % {"created": done.created_count, "merged": done.merged_count,
                                "skipped": done.skipped_count})
        return redirect("backoffice_lead_import", import_id=done.pk)


class WorkingHoursView(StaffPermissionMixin, View):
    """Each team's working hours for lead routing; managers set or clear them."""

    permission = ("crm.routing", "view")
    write_permission = ("crm.routing", "manage")

    def _render(self, request, form, status=200):
        from tenant_apps.crm.models import TeamWorkingHours

        hours = TeamWorkingHours.objects.select_related("team").order_by("team__name")[:200]
        return render(request, "crm/working_hours.html", {
            "hours": hours, "form": form, "can_manage": has_perm(request.user, "crm.routing", "manage"),
        }, status=status)

    def get(self, request):
        from tenant_apps.crm.forms import WorkingHoursForm

        return self._render(request, WorkingHoursForm())

    def post(self, request):
        from tenant_apps.crm.forms import WorkingHoursForm
        from tenant_apps.crm.services import working_hours_clear, working_hours_save
        from tenant_apps.identity.models import Team

        if request.POST.get("clear"):
            team = Team.objects.filter(pk=_int(request.POST.get("clear"))).first()
            if team is None:
                raise Http404("No such team.")
            working_hours_clear(actor=request.user, team=team, request=request)
            messages.success(request, _("Working hours removed: %(team)s takes leads at any time.") % {"team": team.name})
            return redirect("backoffice_working_hours")
        form = WorkingHoursForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                working_hours_save(actor=request.user, team=data["team"], timezone_name=data["timezone"],
                                   weekdays=data["weekdays"], start=data["start"], end=data["end"], request=request)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Working hours saved."))
                return redirect("backoffice_working_hours")
        return self._render(request, form, status=400)
