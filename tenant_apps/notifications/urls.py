"""Trader's Room notification pages, mounted at /notifications/ (platform_core.urls_tenant)."""
from django.urls import path

from tenant_apps.notifications import views

urlpatterns = [
    path("", views.portal_list, name="portal_notifications"),
    path("<int:pk>/open/", views.portal_open, name="portal_notification_open"),
]
