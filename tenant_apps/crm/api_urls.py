from django.urls import path

from tenant_apps.crm import api

urlpatterns = [
    path("clients/", api.ClientListApi.as_view(), name="api_clients"),
    path("clients/<int:client_id>/", api.ClientDetailApi.as_view(), name="api_client"),
    path("clients/<int:client_id>/finance/", api.ClientFinanceApi.as_view(), name="api_client_finance"),
    path("crm/leads/", api.LeadCreateApi.as_view(), name="api_crm_leads"),
]
