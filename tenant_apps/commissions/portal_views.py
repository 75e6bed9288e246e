"""Partner portal commission pages (/partner/commissions/…): the IB's periods, its statements (HTML, CSV, PDF) and
payouts. Only its own rows: everything is read through the signed-in IB's partner record."""
from __future__ import annotations

from django.http import Http404
from django.views import View

from tenant_apps.commissions import selectors
from tenant_apps.commissions.views import statement_response
from tenant_apps.partners.portal_views import PartnerRequiredMixin


class CommissionsView(PartnerRequiredMixin, View):
    def get(self, request):
        return self.page(request, "commissions/portal/commissions.html", {
            "periods": selectors.partner_periods(self.partner), "payouts": selectors.payouts_of(self.partner)})


class StatementView(PartnerRequiredMixin, View):
    def get(self, request, period):
        parsed = selectors.period_parse(period)
        if parsed is None:
            raise Http404("No such period.")
        stmt = selectors.statement(self.partner, parsed)
        response = statement_response(stmt, request.GET.get("format", ""),
                                      f"commissions-{self.partner.code}-{parsed:%Y-%m}")
        if response is not None:
            return response
        return self.page(request, "commissions/portal/statement.html", {"statement": stmt})
