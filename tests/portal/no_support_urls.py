"""Only the Trader's Room pages the dashboard's quick actions need, without any support page."""
from django.urls import include, path

urlpatterns = [
    path("money/", include("tenant_apps.payments.portal_urls")),
    path("trading/", include("tenant_apps.trading.urls_portal")),
]
