"""Mounted at /backoffice/screening/."""
from django.urls import path

from tenant_apps.kyc_checks import views

urlpatterns = [
    path("<int:client_id>/", views.ScreeningView.as_view(), name="kyc_screening"),
]
