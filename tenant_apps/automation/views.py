"""Back-office pages of automation: rules (presets to enable, enable/disable, edit parameters), the run log with
per-run details, and segments (build, preview count + first 50, save). Thin: the services decide."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from tenant_apps.automation import selectors
from tenant_apps.automation.errors import AutomationError, DefinitionError
from tenant_apps.automation.forms import BUILDER_ROWS, RuleForm, SegmentBuilderForm
from tenant_apps.automation.models import AutomationRule, Segment
from tenant_apps.automation.triggers import PRESETS, trigger_describe
from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.identity.permissions import has_perm

VIEW, MANAGE = ("automation", "view"), ("automation", "manage")


class RulesView(StaffPermissionMixin, View):
    permission, write_permission = VIEW, MANAGE

    def _render(self, request, status=200, error="", hours_form=None):
        from tenant_apps.automation.forms import WorkingHoursForm

        rules = selectors.rules_list()
        installed = {r.preset for r in rules if r.preset}
        hours = selectors.working_hours()
        hours_form = hours_form or WorkingHoursForm(initial={"start_hour": hours.work_start_hour,
                                                             "end_hour": hours.work_end_hour,
                                                             "days": hours.work_days})
        return render(request, "automation/rules.html", {
            "hours": hours, "hours_form": hours_form, "zone": request.tenant.timezone,
            "rules": [(r, trigger_describe(r)) for r in rules], "error": error,
            "presets": [p for p in PRESETS if p.code not in installed],
            "runs": selectors.runs_list(limit=10), "can_manage": has_perm(request.user, *MANAGE),
        }, status=status)

    def get(self, request):
        return self._render(request)

    def post(self, request):
        from tenant_apps.automation.services import preset_enable, rule_set_enabled

        action = request.POST.get("action", "")
        if action == "hours":
            return self._hours(request)
        try:
            if action == "enable_preset":
                rule = preset_enable(actor=request.user, code=request.POST.get("preset", ""), request=request)
            elif action in ("enable", "disable"):
                rule_id = request.POST.get("rule", "")
                rule = AutomationRule.objects.filter(pk=int(rule_id)).first() if rule_id.isdigit() else None
                if rule is None:
                    return self._render(request, status=400, error=_("No such rule."))
                rule = rule_set_enabled(actor=request.user, rule=rule, enabled=action == "enable", request=request)
            else:
                return self._render(request, status=400, error=_("Unknown action."))
        except AutomationError as exc:
            return self._render(request, status=400, error=exc.message)
        messages.success(request, _("Rule “%(name)s” is %(state)s.")
                         % {"name": rule.name, "state": _("enabled") if rule.enabled else _("disabled")})
        return redirect("automation_rules")


    def _hours(self, request):
        from tenant_apps.automation.forms import WorkingHoursForm
        from tenant_apps.automation.services import working_hours_save

        form = WorkingHoursForm(request.POST)
        if form.is_valid():
            try:
                working_hours_save(actor=request.user, start_hour=form.cleaned_data["start_hour"],
                                   end_hour=form.cleaned_data["end_hour"], days=form.cleaned_data["days"],
                                   request=request)
            except DefinitionError as exc:
                for problem in exc.problems:
                    form.add_error(None, problem)
            else:
                messages.success(request, _("Working hours saved."))
                return redirect("automation_rules")
        return self._render(request, status=400, hours_form=form)


class RuleView(StaffPermissionMixin, View):
    permission, write_permission = VIEW, MANAGE

    def _rule(self, rule_id):
        rule = AutomationRule.objects.select_related("segment").filter(pk=rule_id).first()
        if rule is None:
            raise Http404("No such rule.")
        return rule

    def _render(self, request, rule, form, status=200):
        return render(request, "automation/rule.html", {
            "rule": rule, "form": form, "describe": trigger_describe(rule),
            "runs": selectors.runs_list(rule_id=rule.pk, limit=20), "can_manage": has_perm(request.user, *MANAGE),
        }, status=status)

    def get(self, request, rule_id: int):
        rule = self._rule(rule_id)
        return self._render(request, rule, RuleForm(rule=rule, initial=RuleForm.initial_from(rule)))

    def post(self, request, rule_id: int):
        from tenant_apps.automation.services import rule_params_update

        rule = self._rule(rule_id)
        form = RuleForm(request.POST, rule=rule)
        if form.is_valid():
            try:
                rule_params_update(actor=request.user, rule=rule, params=form.service_params(),
                                   name=form.cleaned_data["name"], segment=form.cleaned_data.get("segment"),
                                   request=request)
            except DefinitionError as exc:
                for problem in exc.problems:
                    form.add_error(None, problem)
            else:
                messages.success(request, _("Rule “%(name)s” saved.") % {"name": form.cleaned_data["name"]})
                return redirect("automation_rule", rule_id=rule.pk)
        return self._render(request, self._rule(rule_id), form, status=400)


class RunsView(StaffPermissionMixin, View):
    permission = VIEW

    def get(self, request):
        return render(request, "automation/runs.html", {"runs": selectors.runs_list(limit=200)})


class RunView(StaffPermissionMixin, View):
    permission = VIEW

    def get(self, request, pk: int):
        detail = selectors.run_detail(pk)
        if detail is None:
            raise Http404("No such run.")
        return render(request, "automation/run.html", detail)


def _preview(form) -> dict | None:
    if form.is_bound and form.is_valid() and form.definition is not None:
        return selectors.segment_preview(form.definition)
    return None


class SegmentsView(StaffPermissionMixin, View):
    """The segment list and the builder: GET with conditions previews, POST saves."""

    permission, write_permission = VIEW, MANAGE

    def _render(self, request, form, status=200):
        return render(request, "automation/segments.html", {
            "segments": selectors.segments_list(), "form": form, "preview": _preview(form),
            "rows": BUILDER_ROWS, "can_manage": has_perm(request.user, *MANAGE),
        }, status=status)

    def get(self, request):
        bound = any(request.GET.get(f"c{i}") for i in range(BUILDER_ROWS)) or "match" in request.GET
        form = SegmentBuilderForm(request.GET if bound else None)
        return self._render(request, form, status=400 if bound and not form.is_valid() else 200)

    def post(self, request):
        return _segment_save(self, request, segment=None)


class SegmentView(StaffPermissionMixin, View):
    permission, write_permission = VIEW, MANAGE

    def _segment(self, pk):
        segment = Segment.objects.filter(pk=pk).first()
        if segment is None:
            raise Http404("No such segment.")
        return segment

    def _render(self, request, form, status=200, segment=None):
        preview = _preview(form) if form.is_bound else selectors.segment_preview(segment.definition)
        return render(request, "automation/segment.html", {
            "segment": segment, "form": form, "preview": preview, "can_manage": has_perm(request.user, *MANAGE),
        }, status=status)

    def get(self, request, pk: int):
        segment = self._segment(pk)
        return self._render(request, SegmentBuilderForm(initial=SegmentBuilderForm.initial_from(segment)),
                            segment=segment)

    def post(self, request, pk: int):
        return _segment_save(self, request, segment=self._segment(pk))


def _segment_save(view, request, *, segment):
    from tenant_apps.automation.services import segment_save

    form = SegmentBuilderForm(request.POST)
    if form.is_valid():
        try:
            saved = segment_save(actor=request.user, name=form.cleaned_data["name"], definition=form.definition,
                                 description=form.cleaned_data["description"], segment=segment, request=request)
        except DefinitionError as exc:
            for problem in exc.problems:
                form.add_error(None, problem)
        else:
            messages.success(request, _("Segment “%(name)s” saved.") % {"name": saved.name})
            return redirect("automation_segment", pk=saved.pk)
    kwargs = {"segment": segment} if segment is not None else {}
    return view._render(request, form, status=400, **kwargs)
