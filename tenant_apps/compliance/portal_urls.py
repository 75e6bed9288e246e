"""Trader's Room verification URLs, mounted at /verify/ by tenant_apps.portal.urls."""
from django.urls import path

from tenant_apps.compliance import portal_views as views

urlpatterns = [
    path("", views.overview, name="verify_overview"),
    path("profile/", views.profile, name="verify_profile"),
    path("documents/", views.documents, name="verify_documents"),
    path("documents/<int:document_id>/file/", views.document_file, name="verify_document_file"),
    path("submit/", views.submit, name="verify_submit"),
]
