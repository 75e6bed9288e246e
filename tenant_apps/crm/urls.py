from django.urls import path

from tenant_apps.crm import views

urlpatterns = [
    path("", views.ClientListView.as_view(), name="backoffice_clients"),
    path("routing/", views.RoutingRulesView.as_view(), name="backoffice_routing_rules"),
    path("routing/<int:rule_id>/", views.RoutingRuleView.as_view(), name="backoffice_routing_rule"),
    path("<int:client_id>/", views.ClientDetailView.as_view(), name="backoffice_client"),
    path("<int:client_id>/finance/", views.ClientFinanceView.as_view(), name="backoffice_client_finance"),
]
