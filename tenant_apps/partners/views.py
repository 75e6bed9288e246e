"""Back-office IB pages: list/tree, IB detail, reassignment queue, a client's IB history (dispute view), settings.
Thin: selectors read, services write; a client outside the reader's scope is a 404."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.identity.permissions import PermissionDeniedError, has_perm
from tenant_apps.partners import reports, selectors, services
from tenant_apps.partners.errors import PartnersError
from tenant_apps.partners.forms import PolicyForm, ReassignmentForm, ReferralLinkForm
from tenant_apps.partners.models import ClientAssignment, Partner, PartnerLink, ReassignmentRequest


def _client_visible(user, raw: str):
    """A client the staff member may see, by id or e-mail (None otherwise, never confirming it exists)."""
    from tenant_apps.crm.selectors import clients_visible_to

    raw = (raw or "").strip()
    clients = clients_visible_to(user)
    return clients.filter(pk=int(raw)).first() if raw.isdigit() else clients.filter(email__iexact=raw).first()


def _partner_by_code(code: str) -> Partner | None:
    return Partner.objects.filter(code__iexact=(code or "").strip()).first()


class PartnerListView(StaffPermissionMixin, View):
    permission = ("partners", "view")

    def get(self, request):
        return render(request, "partners/backoffice/list.html", {
            "tree": selectors.partner_tree(),
            "applications": Partner.objects.filter(status=Partner.Status.APPLIED).select_related("user", "sponsor")
            .order_by("created_at")[:100],
            "pending_requests": selectors.reassignment_queue().count(),
            "can_approve": has_perm(request.user, "partners", "approve"),
        })


class PartnerDetailView(StaffPermissionMixin, View):
    permission = ("partners", "view")
    write_permission = ("partners", "manage")

    def _partner(self, pk):
        partner = Partner.objects.select_related("user", "sponsor", "decided_by").filter(pk=pk).first()
        if partner is None:
            raise Http404("No such IB.")
        return partner

    def _render(self, request, partner, status=200, link_form=None):
        now = timezone.now()
        return render(request, "partners/backoffice/detail.html", {
            "partner": partner, "now": now,
            "links": partner.referral_links.order_by("created_at"),
            "upline": selectors.upline_at(partner.pk, now),
            "downline": selectors.downline_at(partner.pk, now),
            "parent_history": PartnerLink.objects.filter(partner=partner).select_related("parent", "request")
            .order_by("valid_from"),
            "clients": ClientAssignment.objects.filter(partner=partner).select_related("client", "client__client_record")
            .order_by("client_id", "valid_from")[:500],
            "counts": selectors.referral_counts(partner),
            "link_form": link_form or ReferralLinkForm(),
            "can_manage": has_perm(request.user, "partners", "manage"),
            "can_approve": has_perm(request.user, "partners", "approve"),
        }, status=status)

    def get(self, request, pk: int):
        return self._render(request, self._partner(pk))

    def post(self, request, pk: int):
        partner = self._partner(pk)
        action = request.POST.get("action", "")
        try:
            if action in ("suspend", "reactivate"):
                services.partner_status_change(partner_id=partner.pk, actor=request.user, request=request,
                                               status="suspended" if action == "suspend" else "active",
                                               note=request.POST.get("note", ""))
                messages.success(request, f"IB {partner.code} {action}d.")
            elif action == "link":
                form = ReferralLinkForm(request.POST)
                if not form.is_valid():
                    return self._render(request, partner, status=400, link_form=form)
                link = services.referral_link_create(partner=partner, actor=request.user, request=request,
                                                     **form.cleaned_data)
                messages.success(request, f"Link {link.code} created.")
            else:
                messages.error(request, "Unknown action.")
                return self._render(request, partner, status=400)
        except PartnersError as exc:
            messages.error(request, exc.message)
            return self._render(request, self._partner(pk), status=exc.http_status)
        return redirect("backoffice_partner", pk=partner.pk)


class PartnerDecideView(StaffPermissionMixin, View):
    """Approve or reject an IB application (partners:approve)."""

    permission = ("partners", "approve")

    def post(self, request, pk: int):
        if not Partner.objects.filter(pk=pk).exists():
            raise Http404("No such IB application.")
        try:
            partner = services.partner_application_decide(
                partner_id=pk, actor=request.user, approve=request.POST.get("action") == "approve",
                note=request.POST.get("note", ""), request=request)
        except PartnersError as exc:
            messages.error(request, exc.message)
            return redirect("backoffice_partners")
        messages.success(request, f"Application of {partner.user.email}: {partner.get_status_display().lower()}.")
        return redirect("backoffice_partner", pk=partner.pk)


class ReassignmentQueueView(StaffPermissionMixin, View):
    permission = ("partners", "view")
    write_permission = ("partners", "reassign")

    def _render(self, request, form, status=200):
        shown = request.GET.get("status", "pending")
        shown = shown if shown in ReassignmentRequest.Status.values else "pending"
        return render(request, "partners/backoffice/reassignments.html", {
            "requests": selectors.reassignment_queue(status=shown)[:200], "shown": shown,
            "statuses": ReassignmentRequest.Status.choices, "form": form,
            "zone": selectors.tenant_zone().key,
            "can_request": has_perm(request.user, "partners", "reassign"),
            "can_decide": has_perm(request.user, "partners", "reassign_approve"),
        }, status=status)

    def get(self, request):
        initial = {k: request.GET[k] for k in ("client", "subject_partner", "kind") if request.GET.get(k)}
        return self._render(request, ReassignmentForm(initial=initial))

    def post(self, request):
        form = ReassignmentForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        data = form.cleaned_data
        to_partner = _partner_by_code(data["to_partner"])
        if to_partner is None:
            form.add_error("to_partner", "No IB has this code.")
            return self._render(request, form, status=400)
        subject = {}
        if data["kind"] == "client":
            client = _client_visible(request.user, data["client"])
            if client is None:
                form.add_error("client", "No client of yours matches.")
                return self._render(request, form, status=400)
            subject["client_id"] = client.pk
        else:
            moving = _partner_by_code(data["subject_partner"])
            if moving is None:
                form.add_error("subject_partner", "No IB has this code.")
                return self._render(request, form, status=400)
            subject["subject_partner_id"] = moving.pk
        try:
            req = services.reassignment_request_create(
                actor=request.user, to_partner_id=to_partner.pk, effective_at=data["effective_local"].replace(tzinfo=None),
                reason=data["reason"], mode=data["mode"] or None, request=request, **subject)
        except PartnersError as exc:
            form.add_error(None, exc.message)
            return self._render(request, form, status=400)
        messages.success(request, f"Reassignment #{req.pk} requested; a manager must approve it.")
        return redirect("backoffice_reassignments")


class ReassignmentDecideView(StaffPermissionMixin, View):
    """Approve or reject a reassignment request (partners:reassign_approve; never your own)."""

    permission = ("partners", "reassign_approve")

    def post(self, request, request_id: int):
        if not ReassignmentRequest.objects.filter(pk=request_id).exists():
            raise Http404("No such request.")
        action = request.POST.get("action", "")
        try:
            if action == "approve":
                services.reassignment_approve(request_id=request_id, actor=request.user,
                                              note=request.POST.get("note", ""), request=request)
                messages.success(request, f"Reassignment #{request_id} approved.")
            elif action == "reject":
                services.reassignment_reject(request_id=request_id, actor=request.user,
                                             note=request.POST.get("note", ""), request=request)
                messages.success(request, f"Reassignment #{request_id} rejected.")
            else:
                messages.error(request, "Choose approve or reject.")
        except PartnersError as exc:
            messages.error(request, exc.message)
        return redirect("backoffice_reassignments")


class ReassignmentCancelView(StaffPermissionMixin, View):
    permission = ("partners", "reassign")

    def post(self, request, request_id: int):
        if not ReassignmentRequest.objects.filter(pk=request_id).exists():
            raise Http404("No such request.")
        try:
            services.reassignment_cancel(request_id=request_id, actor=request.user, request=request)
            messages.success(request, f"Reassignment #{request_id} cancelled.")
        except PermissionDeniedError:
            messages.error(request, "Only the requester or a manager may cancel this request.")
        except PartnersError as exc:
            messages.error(request, exc.message)
        return redirect("backoffice_reassignments")


class ClientIbHistoryView(StaffPermissionMixin, View):
    """The dispute view: every IB interval of one client and every request, who/when/why."""

    permission = ("partners", "view")

    def get(self, request, client_id: int):
        client = _client_visible(request.user, str(client_id))
        if client is None:
            raise Http404("No such client.")
        history = selectors.client_ib_history(client.pk)
        # amounts only for who may read commissions (the matrix decides, commissions:view)
        can_see_commissions = has_perm(request.user, "commissions", "view")
        return render(request, "partners/backoffice/client_history.html", {
            "client": client, **history, "zone": selectors.tenant_zone().key,
            "current": selectors.assignment_at(client.pk, timezone.now()),
            "can_request": has_perm(request.user, "partners", "reassign"),
            "can_see_commissions": can_see_commissions,
            "effect": reports.commission_effect_by_interval(client.pk, history["assignments"])
            if can_see_commissions else [],
        })


class PerformanceReportView(StaffPermissionMixin, View):
    """IB performance report (?from=YYYY-MM-DD&to=YYYY-MM-DD, &format=csv): registrations, KYC/funding/activation
    rates, volume and (for commissions:view) commissions per IB, flagged against the brokerage's benchmarks."""

    permission = ("partners", "view")

    def get(self, request):
        try:
            start, end = reports.parse_range(request.GET.get("from", ""), request.GET.get("to", ""))
        except reports.ReportRangeError as exc:
            return render(request, "partners/backoffice/performance.html", {
                "error": str(exc), "raw_from": request.GET.get("from", ""), "raw_to": request.GET.get("to", "")},
                status=400)
        report = reports.performance_report(start=start, end=end,
                                            with_commissions=has_perm(request.user, "commissions", "view"))
        if request.GET.get("format") == "csv":
            response = HttpResponse(report.csv(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="ib-performance-{start}-{end}.csv"'
            return response
        return render(request, "partners/backoffice/performance.html", {
            "report": report, "raw_from": start.isoformat(), "raw_to": end.isoformat()})


class PartnerSettingsView(StaffPermissionMixin, View):
    permission = ("partners", "view")
    write_permission = ("partners", "manage")

    def _render(self, request, form, status=200):
        return render(request, "partners/backoffice/settings.html", {
            "form": form, "can_manage": has_perm(request.user, "partners", "manage")}, status=status)

    def get(self, request):
        found = selectors.policy()
        return self._render(request, PolicyForm(initial={
            "backdate_limit_days": found.backdate_limit_days, "show_client_contacts": found.show_client_contacts,
            "applications_open": found.applications_open, "min_activation_rate": found.min_activation_rate,
            "min_funding_rate": found.min_funding_rate}))

    def post(self, request):
        form = PolicyForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        try:
            services.partner_policy_update(actor=request.user, request=request, **form.cleaned_data)
        except PartnersError as exc:
            form.add_error(None, exc.message)
            return self._render(request, form, status=400)
        messages.success(request, "IB programme settings saved.")
        return redirect("backoffice_partner_settings")


def material_response(material, *, download: bool = False):
    """The stored file, inert (platform_core/files.py), under a file name made from the title."""
    from django.utils.text import slugify

    from platform_core.files import inert_file_response

    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[material.content_type]
    return inert_file_response(material.file, content_type=material.content_type, download=download,
                               filename=f"{slugify(material.title) or 'material'}-{material.pk}.{extension}",
                               cache="private, max-age=300")


class MaterialsView(StaffPermissionMixin, View):
    """Marketing materials for the IBs: what they see, and an upload form for those who manage the programme."""

    permission = ("partners", "view")
    write_permission = ("partners", "manage")

    def _render(self, request, form, status=200):
        from tenant_apps.partners.forms import MaterialForm

        return render(request, "partners/backoffice/materials.html", {
            "materials": selectors.materials_all(), "form": form or MaterialForm(),
            "can_manage": has_perm(request.user, "partners", "manage")}, status=status)

    def get(self, request):
        return self._render(request, None)

    def post(self, request):
        from tenant_apps.partners.forms import MaterialForm

        form = MaterialForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(request, form, status=400)
        try:
            material = services.material_upload(actor=request.user, request=request, uploaded=form.cleaned_data["file"],
                                                title=form.cleaned_data["title"],
                                                description=form.cleaned_data["description"],
                                                language=form.cleaned_data["language"])
        except PartnersError as exc:
            form.add_error("file" if exc.code not in ("invalid_title", "invalid_language") else None, exc.message)
            return self._render(request, form, status=400)
        messages.success(request, f"“{material.title}” is now in the IBs' marketing materials.")
        return redirect("backoffice_partner_materials")


class MaterialToggleView(StaffPermissionMixin, View):
    permission = ("partners", "manage")

    def post(self, request, pk: int):
        active = request.POST.get("active")
        if active not in ("0", "1"):
            return HttpResponse("Say active=1 (show) or active=0 (withdraw).", status=400, content_type="text/plain")
        try:
            services.material_set_active(actor=request.user, material_id=pk, active=active == "1", request=request)
        except PartnersError as exc:
            if exc.code == "not_found":
                raise Http404(exc.message) from None
            raise
        return redirect("backoffice_partner_materials")


class MaterialFileView(StaffPermissionMixin, View):
    permission = ("partners", "view")

    def get(self, request, pk: int):
        from tenant_apps.partners.models import MarketingMaterial

        material = MarketingMaterial.objects.filter(pk=pk).first()
        if material is None:
            raise Http404("No such material.")
        return material_response(material, download=request.GET.get("download") == "1")
