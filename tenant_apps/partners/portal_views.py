"""The partner portal (/partner/…, IBs only: an active IB account) and the Trader's Room referral area
(/referrals/, clients). An IB sees only its own referrals and sub-IBs; contact details only if the brokerage
allows it. Thin: selectors read, services write."""
from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from tenant_apps.identity.models import UserKind
from tenant_apps.partners import reports, selectors, services, states
from tenant_apps.partners.errors import PartnersError
from tenant_apps.partners.forms import ApplicationForm, ReferralLinkForm
from tenant_apps.partners.models import ReferralLink


def link_url(request, link: ReferralLink) -> str:
    return request.build_absolute_uri(f"{link.landing_path}?ref={link.code}")


def qr_svg(text: str) -> bytes:
    import qrcode
    import qrcode.image.svg

    out = io.BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2).save(out)
    return out.getvalue()


class PartnerRequiredMixin(AccessMixin):
    """A signed-in user with an active IB account of this brokerage; anyone else is refused."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.partner = selectors.active_partner_for_user(request.user) \
            if request.user.kind in (UserKind.CLIENT, UserKind.IB) else None
        if self.partner is None:
            return render(request, "backoffice/forbidden.html", {}, status=403)
        return super().dispatch(request, *args, **kwargs)

    def page(self, request, template: str, context: dict, status: int = 200):
        return render(request, template, {"partner": self.partner, "zone": selectors.tenant_zone().key, **context},
                      status=status)


class DashboardView(PartnerRequiredMixin, View):
    def get(self, request):
        now = timezone.now()
        default = self.partner.referral_links.filter(code=self.partner.code).first()
        series = reports.monthly_series(self.partner, now=now)
        return self.page(request, "partners/portal/dashboard.html", {
            "counts": selectors.referral_counts(self.partner, at=now),
            "sub_ibs": len(selectors.downline_at(self.partner.pk, now)),
            "upline": selectors.upline_at(self.partner.pk, now)[:1],
            "default_link": default, "default_url": link_url(request, default) if default else "",
            "series": series, "series_rows": reports.series_rows(series), "chart": reports.chart_payload(series),
        })


class ReferralsView(PartnerRequiredMixin, View):
    def get(self, request):
        show_contacts = selectors.policy().show_client_contacts
        labels = dict(selectors.REFERRAL_STATUSES)
        rows = [{"client_id": a.client_id, "name": a.client.full_name or f"Client #{a.client_id}",
                 "email": a.client.email if show_contacts else "",
                 "phone": getattr(getattr(a.client, "client_record", None), "phone", "") if show_contacts else "",
                 "country": getattr(getattr(a.client, "client_record", None), "country", ""),
                 "status": selectors.referral_status(getattr(getattr(a.client, "client_record", None), "stage", "")),
                 "since": a.valid_from} for a in selectors.current_clients(self.partner)[:500]]
        for row in rows:
            row["status_label"] = labels[row["status"]]
        return self.page(request, "partners/portal/referrals.html", {
            "rows": rows, "show_contacts": show_contacts})


class ReferralDetailView(PartnerRequiredMixin, View):
    def get(self, request, client_id: int):
        assignment = selectors.client_of_partner(self.partner, client_id)
        if assignment is None:
            raise Http404("No such referral.")
        record = getattr(assignment.client, "client_record", None)
        show_contacts = selectors.policy().show_client_contacts
        return self.page(request, "partners/portal/referral.html", {
            "assignment": assignment, "record": record, "show_contacts": show_contacts,
            "status": dict(selectors.REFERRAL_STATUSES)[selectors.referral_status(getattr(record, "stage", ""))],
        })


class LinksView(PartnerRequiredMixin, View):
    def _render(self, request, form, status=200):
        links = self.partner.referral_links.order_by("created_at")
        return self.page(request, "partners/portal/links.html", {
            "links": [{"link": link, "url": link_url(request, link)} for link in links], "form": form,
        }, status=status)

    def get(self, request):
        return self._render(request, ReferralLinkForm())

    def post(self, request):
        form = ReferralLinkForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        try:
            link = services.referral_link_create(partner=self.partner, actor=request.user, request=request,
                                                 **form.cleaned_data)
        except PartnersError as exc:
            form.add_error(None, exc.message)
            return self._render(request, form, status=400)
        messages.success(request, _("Link %(code)s created.") % {"code": link.code})
        return redirect("partner_links")


class LinkQrView(PartnerRequiredMixin, View):
    def get(self, request, code: str):
        link = self.partner.referral_links.filter(code=code).first()
        if link is None:
            raise Http404("No such link.")
        response = HttpResponse(qr_svg(link_url(request, link)), content_type="image/svg+xml")
        response["Cache-Control"] = "private, max-age=3600"
        return response


class TreeView(PartnerRequiredMixin, View):
    def get(self, request):
        now = timezone.now()
        nodes = selectors.downline_at(self.partner.pk, now)
        from collections import Counter

        from tenant_apps.partners.models import ClientAssignment

        counts = Counter(ClientAssignment.objects.filter(
            partner_id__in=[n.partner.pk for n in nodes], valid_from__lte=now)
            .exclude(valid_to__lte=now).values_list("partner_id", flat=True))
        children: dict[int, list] = {}
        for n in nodes:
            children.setdefault(n.parent_id, []).append(n)
        ordered = []

        def walk(pid):
            for n in children.get(pid, []):
                ordered.append({"node": n, "clients": counts.get(n.partner.pk, 0)})
                walk(n.partner.pk)

        walk(self.partner.pk)
        return self.page(request, "partners/portal/tree.html", {"nodes": ordered})


# --- Trader's Room --------------------------------------------------------------------------------------------

class TraderReferralsView(View):
    """A client's referral area: their link, QR code and referrals by status once they are an IB; the IB
    application otherwise."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        if request.user.kind != UserKind.CLIENT:
            raise PermissionDenied  # staff have no referral area
        return super().dispatch(request, *args, **kwargs)

    def _render(self, request, form, status=200):
        partner = selectors.partner_for_user(request.user)
        context = {"partner": partner, "form": form, "applications_open": selectors.policy().applications_open,
                   "status_text": states.PARTNER_CLIENT_STATUS.get(partner.status, "") if partner else ""}
        if partner is not None and partner.status == "active":
            default = partner.referral_links.filter(code=partner.code).first()
            context.update(counts=selectors.referral_counts(partner), default_link=default,
                           default_url=link_url(request, default) if default else "",
                           rebates=reports.rebates_earned(partner))
        return render(request, "partners/trader_referrals.html", context, status=status)

    def get(self, request):
        from tenant_apps.crm.attribution import attribution_read

        # A visitor who arrived with an IB's sub-IB link applies under that IB (the code is still checked on POST).
        sponsor = request.GET.get("sponsor", "") or attribution_read(request).get("ref", "")
        link = selectors.referral_link_resolve(sponsor)
        initial = {"sponsor_code": link.code} if link is not None and link.kind == ReferralLink.Kind.SUB_IB else {}
        return self._render(request, ApplicationForm(initial=initial))

    def post(self, request):
        form = ApplicationForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        data = form.cleaned_data
        try:
            services.partner_apply(user=request.user, company_name=data["company_name"], website=data["website"],
                                   note=data["note"], sponsor_code=data["sponsor_code"], request=request)
        except PartnersError as exc:
            form.add_error(None, exc.message)
            return self._render(request, form, status=400)
        messages.success(request, _("Thank you: your IB application is with our team."))
        return redirect("portal_referrals")


class MaterialsView(PartnerRequiredMixin, View):
    def get(self, request):
        from django.utils.translation import get_language

        return self.page(request, "partners/portal/materials.html", {
            "materials": selectors.materials_for_partners(language=(get_language() or "en")[:2])})


class MaterialFileView(PartnerRequiredMixin, View):
    def get(self, request, pk: int):
        from tenant_apps.partners.models import MarketingMaterial
        from tenant_apps.partners.views import material_response

        material = MarketingMaterial.objects.filter(pk=pk, is_active=True).first()
        if material is None:
            raise Http404("No such material.")
        return material_response(material, download=request.GET.get("download") == "1")
