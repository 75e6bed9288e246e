"""Operator console (platform domain, public schema). Thin: every write goes through a service."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import AccessMixin
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from platform_core.console import deadletters, selectors
from platform_core.console.forms import ProvisionBrokerageForm, StatusChangeForm
from provisioning.errors import ProvisioningInputError
from provisioning.migrate import failures_of, last_result_for, last_run
from provisioning.models import ProvisioningJob
from provisioning.services import provisioning_job_create
from provisioning.tasks import provisioning_job_run_async
from provisioning.validation import provisioning_input_validate
from tenancy.errors import TenancyError
from tenancy.models import Brokerage, BrokerageKind, BrokerageStatus, PlatformAuditEvent
from tenancy.services import brokerage_change_status
from tenancy.states import allowed_actions
from tenancy.workers import send_on_commit


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


class OperatorRequiredMixin(AccessMixin):
    """Only platform operators (users of the public schema with kind=operator) get in."""

    login_url = "console_login"

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return self.handle_no_permission()
        if not getattr(user, "is_platform_operator", False):
            return render(request, "console/forbidden.html", status=403)
        return super().dispatch(request, *args, **kwargs)


class LoginView(auth_views.LoginView):
    """Operator sign-in, throttled per IP and per e-mail (the most privileged login on the platform)."""

    template_name = "console/login.html"
    redirect_authenticated_user = True
    MAX_FAILURES = 10
    WINDOW_S = 15 * 60

    def _keys(self, request) -> list[str]:
        email = (request.POST.get("username") or "").strip().lower()[:254]
        return [f"console-login-fail:ip:{client_ip(request)}", f"console-login-fail:email:{email}"]

    def post(self, request, *args, **kwargs):
        from django.core.cache import cache

        if any((cache.get(k) or 0) >= self.MAX_FAILURES for k in self._keys(request)):
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, f"Too many failed sign-in attempts. Try again in {self.WINDOW_S // 60} minutes.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        from django.core.cache import cache

        for k in self._keys(self.request):
            cache.add(k, 0, self.WINDOW_S)
            cache.incr(k)
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    next_page = "console_login"


class DashboardView(OperatorRequiredMixin, View):
    def get(self, request):
        status = request.GET.get("status", "")
        if status and status not in BrokerageStatus.values:
            status = ""
        search = request.GET.get("q", "").strip()[:100]
        context = {
            "rows": selectors.brokerage_rows(status=status, search=search),
            "overview": selectors.platform_overview(),
            "status_filter": status,
            "search": search,
            "statuses": BrokerageStatus.choices,
        }
        if request.headers.get("HX-Request"):
            return render(request, "console/_brokerage_table.html", context)
        return render(request, "console/dashboard.html", context)


class BrokerageCreateView(OperatorRequiredMixin, View):
    def get(self, request):
        return render(request, "console/brokerage_new.html", {"form": ProvisionBrokerageForm()})

    def post(self, request):
        form = ProvisionBrokerageForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                params = provisioning_input_validate(
                    name=data["name"], slug=data["slug"], admin_email=data["admin_email"],
                    jurisdiction=data["jurisdiction"], theme_preset=data["theme_preset"], timezone=data["timezone"],
                    language=data["language"], custom_domains=form.cleaned_custom_domains(),
                    legal_entity_name=data["legal_entity_name"],
                )
            except ProvisioningInputError as exc:
                for field, errors in exc.errors.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            else:
                from django.db import transaction

                with transaction.atomic():
                    job = provisioning_job_create(params=params, source=ProvisioningJob.Source.CONSOLE,
                                                  requested_by=request.user)
                    send_on_commit(provisioning_job_run_async, str(job.pk))
                return redirect("console_job", job_id=job.pk)
        return render(request, "console/brokerage_new.html", {"form": form}, status=400)


class JobView(OperatorRequiredMixin, View):
    def get(self, request, job_id):
        job = get_object_or_404(ProvisioningJob.objects.select_related("brokerage"), pk=job_id)
        context = {"job": job, "steps": list(job.steps.all())}
        if request.headers.get("HX-Request"):
            return render(request, "console/_job_progress.html", context)
        return render(request, "console/job.html", context)


class MigrationsView(OperatorRequiredMixin, View):
    """The last `migrate_tenants` run: counts and every tenant that failed, with its error."""

    def get(self, request):
        run = last_run()
        return render(request, "console/migrations.html", {"run": run, "failures": failures_of(run) if run else []})


class BrokerageDetailView(OperatorRequiredMixin, View):
    def get(self, request, slug):
        brokerage = get_object_or_404(Brokerage.objects.prefetch_related("domains"), slug=slug,
                                      kind=BrokerageKind.BROKERAGE)
        counts = selectors.user_counts([brokerage.schema_name]) if brokerage.status != BrokerageStatus.PROVISIONING else {}
        clients, staff = counts.get(brokerage.schema_name, (0, 0))
        context = {
            "b": brokerage,
            "clients": clients,
            "staff": staff,
            "health": selectors.brokerage_health(brokerage),
            "actions": allowed_actions(brokerage.status),
            "events": PlatformAuditEvent.objects.filter(brokerage_slug=brokerage.slug)[:30],
            "jobs": brokerage.provisioning_jobs.all()[:5],
            "form": StatusChangeForm(),
            "migration": last_result_for(brokerage.schema_name),
            "dead_letters": selectors.health_safe(lambda: deadletters.dead_letters(brokerage.schema_name), []),
        }
        if request.headers.get("HX-Request"):
            return render(request, "console/_health.html", context)
        return render(request, "console/brokerage_detail.html", context)


class DeadLettersView(OperatorRequiredMixin, View):
    """Retry or discard a brokerage's dead-lettered messages (the chosen ones, or all), audited."""

    def post(self, request, slug):
        brokerage = get_object_or_404(Brokerage, slug=slug, kind=BrokerageKind.BROKERAGE)
        ids = None if request.POST.get("all") == "1" else request.POST.getlist("message")
        try:
            done = deadletters.dead_letters_act(actor=request.user, brokerage=brokerage,
                                                action=request.POST.get("action", ""), ids=ids,
                                                reason=request.POST.get("reason", ""), source_ip=client_ip(request))
        except deadletters.DeadLetterError as exc:
            messages.error(request, exc.message)
            return redirect("console_brokerage", slug=brokerage.slug)
        verb = "queued again" if request.POST.get("action") == "retry" else "discarded"
        messages.success(request, f"{brokerage.name}: {done} failed job{'s' if done != 1 else ''} {verb}."
                         if done else f"{brokerage.name}: those failed jobs were already handled.")
        return redirect("console_brokerage", slug=brokerage.slug)


class BrokerageActionView(OperatorRequiredMixin, View):
    def post(self, request, slug, action):
        brokerage = get_object_or_404(Brokerage, slug=slug, kind=BrokerageKind.BROKERAGE)
        if action not in {"suspend", "resume", "archive"}:
            raise Http404("Unknown action.")
        form = StatusChangeForm(request.POST)
        reason = form.data.get("reason", "")[:300]
        try:
            brokerage_change_status(brokerage_id=brokerage.pk, action=action, actor=request.user,
                                    reason=reason, source_ip=client_ip(request))
        except TenancyError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{brokerage.name}: {action} done.")
        return redirect("console_brokerage", slug=brokerage.slug)
