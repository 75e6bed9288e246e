"""Audit pages, mounted by the back office under /backoffice/audit/."""
from django.urls import path

from tenant_apps.audit import views

urlpatterns = [
    path("", views.AuditListView.as_view(), name="backoffice_audit"),
    path("export/user/<int:user_id>.csv", views.AuditUserExportView.as_view(), {"fmt": "csv"},
         name="backoffice_audit_export_csv"),
    path("export/user/<int:user_id>.json", views.AuditUserExportView.as_view(), {"fmt": "json"},
         name="backoffice_audit_export_json"),
    path("<str:object_type>/<str:object_id>/", views.AuditObjectView.as_view(), name="backoffice_audit_object"),
]
