from django.urls import path

from tenant_apps.backoffice.views_client360 import Client360View
from tenant_apps.crm import views

urlpatterns = [
    path("", views.ClientListView.as_view(), name="backoffice_clients"),
    path("routing/", views.RoutingRulesView.as_view(), name="backoffice_routing_rules"),
    path("routing/<int:rule_id>/", views.RoutingRuleView.as_view(), name="backoffice_routing_rule"),
    # Client 360 (tenant_apps.backoffice.selectors.client_360): the crm profile plus every block the reader may see.
    path("<int:client_id>/", Client360View.as_view(), name="backoffice_client"),
    path("<int:client_id>/finance/", views.ClientFinanceView.as_view(), name="backoffice_client_finance"),
]
