"""Back-office work queues, mounted at /backoffice/queues/."""
from django.urls import path

from tenant_apps.queues import views

urlpatterns = [
    path("", views.QueueIndexView.as_view(), name="queues_index"),
    path("badge/", views.QueueBadgeView.as_view(), name="queues_badge"),
    path("settings/", views.QueueSettingsView.as_view(), name="queues_settings"),
    path("<slug:code>/", views.QueueDetailView.as_view(), name="queues_queue"),
    path("<slug:code>/rows/", views.QueueRowsView.as_view(), name="queues_rows"),
    path("<slug:code>/claims/", views.QueueClaimsView.as_view(), name="queues_claims"),
]
