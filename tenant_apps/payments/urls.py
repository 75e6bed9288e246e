"""Mounted at /webhooks/psp/ on every brokerage's host (platform_core.urls_tenant)."""
from django.urls import path

from tenant_apps.payments import views

urlpatterns = [
    path("<slug:provider_code>/", views.psp_webhook, name="payments_psp_webhook"),
]
