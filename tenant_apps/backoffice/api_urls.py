"""Tenant API (/api/v1/ on a brokerage's domain). Capabilities mount their endpoints here."""
from django.urls import include, path

from tenant_apps.brokerage import api as brokerage_api

urlpatterns = [
    path("brokerage/", brokerage_api.BrokerageProfileApi.as_view(), name="api_brokerage_profile"),
    path("", include("tenant_apps.crm.api_urls")),
    path("", include("tenant_apps.trading.api_urls")),  # trading/accounts/… (the signed-in client's own)
    path("", include("tenant_apps.identity.api_urls")),  # me/, staff/, api-tokens/
    path("", include("tenant_apps.payments.api_urls")),  # payments/withdrawals/, payments/deposits/review/
    path("", include("tenant_apps.partners.api_urls")),  # partners/… (IBs, reassignments: staff)
]
