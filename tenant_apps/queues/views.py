"""Back-office work queues (/backoffice/queues/…): the index with counts and SLA breaches, one queue (filters,
SLA timers, claim/assign/release, bulk), its polled fragment, the nav badge and the SLA settings. Views are thin:
reads in selectors.py, writes in services.py. Each queue also needs its own matrix permission (registry.py)."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin, access_denied
from tenant_apps.identity.models import User, UserKind
from tenant_apps.identity.permissions import PermissionDeniedError, has_perm
from tenant_apps.queues import registry, selectors, services
from tenant_apps.queues.errors import QueueError

POLL_SECONDS = 3


class QueueIndexView(StaffPermissionMixin, View):
    permission = ("queues", "view")

    def get(self, request):
        counts = selectors.queue_counts(request.user)
        return render(request, "queues/index.html", {
            "counts": counts, "total": sum(c["total"] for c in counts),
            "breached": sum(c["breached"] for c in counts),
            "can_configure": has_perm(request.user, "queues", "configure")})


class QueueBadgeView(StaffPermissionMixin, View):
    """The nav's "Queues" count, loaded by htmx after the page (no query added to other pages)."""

    permission = ("queues", "view")

    def get(self, request):
        return render(request, "queues/_badge.html", selectors.attention_total(request.user))


class _QueueMixin:
    def spec_or_refuse(self, request, code: str):
        spec = registry.get(code)
        if spec is None:
            raise Http404("No such queue.")
        if not has_perm(request.user, *spec.permission):
            return spec, access_denied(request, *spec.permission)
        return spec, None

    def page_context(self, request, spec):
        entities = selectors.legal_entities() if "entity" in spec.offered_filters else []
        filters = selectors.queue_filters_parse(spec, request.GET, user=request.user, entities=entities)
        page = selectors.queue_page(spec, request.user, filters, entities=entities)
        return filters, {"spec": spec, "filters": filters, "entities": entities, **page,
                         "rows_url": reverse("queues_rows", args=[spec.code]) + (
                             f"?{filters.querystring()}" if filters.querystring() else ""),
                         "poll_seconds": POLL_SECONDS, "me": request.user,
                         "can_assign": has_perm(request.user, "queues", "assign")}


class QueueDetailView(_QueueMixin, StaffPermissionMixin, View):
    permission = ("queues", "view")

    def get(self, request, code: str):
        spec, refused = self.spec_or_refuse(request, code)
        if refused:
            return refused
        filters, context = self.page_context(request, spec)
        context.update({"staff": selectors.queue_staff(spec) if has_perm(request.user, "queues", "assign") else [],
                        "age_choices": selectors.AGE_CHOICES, "risk_choices": selectors.RISK_CHOICES,
                        "querystring": filters.querystring()})
        return render(request, "queues/queue.html", context, status=400 if filters.errors else 200)


class QueueRowsView(_QueueMixin, StaffPermissionMixin, View):
    """The queue's body alone: polled every few seconds by the page (its URL carries the page's filters)."""

    permission = ("queues", "view")

    def get(self, request, code: str):
        spec, refused = self.spec_or_refuse(request, code)
        if refused:
            return refused
        filters, context = self.page_context(request, spec)
        context["querystring"] = filters.querystring()
        return render(request, "queues/_rows.html", context, status=400 if filters.errors else 200)


class QueueClaimsView(_QueueMixin, StaffPermissionMixin, View):
    """POST action=claim|release|assign with one or more `ids` (and `assignee` for assign). Never a decision."""

    permission = ("queues", "view")

    def post(self, request, code: str):
        spec, refused = self.spec_or_refuse(request, code)
        if refused:
            return refused
        # Back to the same filtered view: the filters are parsed again, so only valid ones travel.
        kept = selectors.queue_filters_parse(spec, QueryDict((request.POST.get("return") or "")[:500]),
                                             user=request.user).querystring()
        back = reverse("queues_queue", args=[spec.code]) + (f"?{kept}" if kept else "")
        action = request.POST.get("action", "")
        raw_ids = request.POST.getlist("ids")
        ids = [int(i) for i in raw_ids if i.isascii() and i.isdigit() and len(i) <= 18]
        if action not in spec.bulk_actions or len(ids) != len(raw_ids) or not ids:
            messages.error(request, _("Choose claim, assign or release and at least one item."))
            return self._bad(request, spec)
        assignee = None
        if action == "assign":
            raw = (request.POST.get("assignee") or "").strip()
            assignee = User.objects.filter(pk=int(raw), kind=UserKind.STAFF).first() \
                if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None
            if assignee is None:
                messages.error(request, _("Choose a staff member who works this queue."))
                return self._bad(request, spec)
        try:
            result = services.queue_bulk(code=spec.code, action=action, object_ids=ids, actor=request.user,
                                         assignee=assignee)
        except PermissionDeniedError as exc:
            return access_denied(request, exc.capability, exc.action)
        except QueueError as exc:
            messages.error(request, exc.message)
            return self._bad(request, spec)
        if result["done"]:
            messages.success(request, _("%(action)s: %(n)d item(s).") % {
                "action": {"claim": _("Claimed"), "assign": _("Assigned"), "release": _("Released")}[action],
                "n": len(result["done"])})
        for object_id, why in list(result["refused"].items())[:10]:
            messages.warning(request, _("#%(id)s not changed: %(why)s") % {"id": object_id, "why": why})
        return redirect(back)

    def _bad(self, request, spec):
        """Refused input: the queue page again with the reason, nothing changed."""
        filters, context = self.page_context(request, spec)
        context.update({"staff": selectors.queue_staff(spec) if context["can_assign"] else [],
                        "age_choices": selectors.AGE_CHOICES, "risk_choices": selectors.RISK_CHOICES,
                        "querystring": filters.querystring()})
        return render(request, "queues/queue.html", context, status=400)


class QueueSettingsView(StaffPermissionMixin, View):
    """Each queue's SLA in this brokerage (managers): the default until changed; every change audited."""

    permission = ("queues", "configure")

    def _page(self, request, status=200):
        slas = selectors.sla_minutes_by_queue()
        rows = [{"spec": s, "sla": slas[s.code], "default": s.default_sla()} for s in registry.all_queues()]
        return render(request, "queues/settings.html", {"rows": rows}, status=status)

    def get(self, request):
        return self._page(request)

    def post(self, request):
        code = request.POST.get("queue", "")
        try:
            services.queue_sla_set(code=code, minutes=request.POST.get("sla_minutes", ""), actor=request.user)
        except QueueError as exc:
            messages.error(request, exc.message)
            return self._page(request, status=400)
        messages.success(request, _("SLA saved."))
        return redirect("queues_settings")
