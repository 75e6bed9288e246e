"""Mounted at /webhooks/kyc/ on every brokerage's host."""
from django.urls import path

from tenant_apps.kyc_checks import views

urlpatterns = [
    path("sumsub/", views.vendor_webhook, {"vendor": "sumsub"}, name="kyc_sumsub_webhook"),
]
