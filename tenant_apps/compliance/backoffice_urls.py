"""Back-office KYC review URLs, mounted at /backoffice/kyc/."""
from django.urls import path

from tenant_apps.compliance import backoffice_views as views

urlpatterns = [
    path("", views.KycQueueView.as_view(), name="backoffice_kyc_queue"),
    path("<int:case_id>/", views.KycCaseView.as_view(), name="backoffice_kyc_case"),
    path("<int:case_id>/assign/", views.KycCaseAssignView.as_view(), name="backoffice_kyc_assign"),
    path("documents/<int:document_id>/file/", views.KycDocumentFileView.as_view(), name="backoffice_kyc_document"),
]
