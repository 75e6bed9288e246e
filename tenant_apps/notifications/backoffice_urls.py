"""Back-office notification pages, mounted at /backoffice/notifications/ (tenant_apps.backoffice.urls)."""
from django.urls import path

from tenant_apps.notifications import views

urlpatterns = [
    path("", views.BackofficeListView.as_view(), name="backoffice_notifications"),
    path("<int:pk>/open/", views.BackofficeOpenView.as_view(), name="backoffice_notification_open"),
]
