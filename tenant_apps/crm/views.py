"""Back-office client pages. Object-level: a client outside the reader's scope is a 404, not a 403."""
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.crm import selectors
from tenant_apps.identity.permissions import has_perm


class ClientListView(StaffPermissionMixin, View):
    permission = ("clients", "view")

    def get(self, request):
        query = (request.GET.get("q") or "").strip()[:100]
        clients = selectors.clients_visible_to(request.user).order_by("-date_joined", "-id")
        if query:
            clients = clients.filter(email__icontains=query) | clients.filter(full_name__icontains=query)
        page = Paginator(clients, 25).get_page(request.GET.get("page"))
        return render(request, "crm/client_list.html", {
            "page": page, "query": query, "sections": selectors.client_sections(request.user),
            "scoped": not has_perm(request.user, "clients", "view_all"),
        })


class ClientFinanceView(StaffPermissionMixin, View):
    """The client's balances and ledger accounts: finance data, never shown to Sales."""

    permission = ("clients.finance", "view")

    def get(self, request, client_id: int):
        client = selectors.client_for(request.user, client_id)
        if client is None:
            raise Http404("No such client.")
        return render(request, "crm/client_finance.html", {"client": client, "finance": selectors.client_finance(client)})


class RoutingRulesView(StaffPermissionMixin, View):
    """The routing rules in the order they are tried, and a form to add one."""

    permission = ("crm.routing", "view")
    write_permission = ("crm.routing", "manage")

    def _render(self, request, form, status=200):
        from tenant_apps.crm.models import RoutingRule

        rules = RoutingRule.objects.select_related("team").order_by("priority", "id")[:200]
        return render(request, "crm/routing_rules.html", {
            "rules": rules, "form": form, "can_manage": has_perm(request.user, "crm.routing", "manage"),
        }, status=status)

    def get(self, request):
        from tenant_apps.crm.forms import RoutingRuleForm

        return self._render(request, RoutingRuleForm())

    def post(self, request):
        return _rule_save(self, request, rule=None)


class RoutingRuleView(StaffPermissionMixin, View):
    permission = ("crm.routing", "view")
    write_permission = ("crm.routing", "manage")

    def _rule(self, rule_id):
        from tenant_apps.crm.models import RoutingRule

        rule = RoutingRule.objects.filter(pk=rule_id).first()
        if rule is None:
            raise Http404("No such routing rule.")
        return rule

    def _render(self, request, form, status=200, rule=None):
        return render(request, "crm/routing_rule.html", {
            "rule": rule, "form": form, "can_manage": has_perm(request.user, "crm.routing", "manage"),
        }, status=status)

    def get(self, request, rule_id: int):
        from tenant_apps.crm.forms import RoutingRuleForm

        rule = self._rule(rule_id)
        return self._render(request, RoutingRuleForm(initial=RoutingRuleForm.initial_from(rule)), rule=rule)

    def post(self, request, rule_id: int):
        return _rule_save(self, request, rule=self._rule(rule_id))


def _rule_save(view, request, *, rule):
    from django.contrib import messages
    from django.core.exceptions import ValidationError
    from django.shortcuts import redirect

    from tenant_apps.crm.forms import RoutingRuleForm
    from tenant_apps.crm.services import routing_rule_save

    form = RoutingRuleForm(request.POST)
    if form.is_valid():
        try:
            saved = routing_rule_save(actor=request.user, data=form.service_data(), rule=rule, request=request)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Routing rule “{saved.name}” saved.")
            return redirect("backoffice_routing_rules")
    kwargs = {"rule": rule} if rule is not None else {}
    return view._render(request, form, status=400, **kwargs)
