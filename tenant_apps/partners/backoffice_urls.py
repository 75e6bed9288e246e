"""Back-office IB pages, mounted at /backoffice/partners/."""
from django.urls import path

from tenant_apps.partners import views

urlpatterns = [
    path("", views.PartnerListView.as_view(), name="backoffice_partners"),
    path("settings/", views.PartnerSettingsView.as_view(), name="backoffice_partner_settings"),
    path("performance/", views.PerformanceReportView.as_view(), name="backoffice_partner_performance"),
    path("reassignments/", views.ReassignmentQueueView.as_view(), name="backoffice_reassignments"),
    path("reassignments/<int:request_id>/", views.ReassignmentDecideView.as_view(), name="backoffice_reassignment"),
    path("reassignments/<int:request_id>/cancel/", views.ReassignmentCancelView.as_view(),
         name="backoffice_reassignment_cancel"),
    path("clients/<int:client_id>/", views.ClientIbHistoryView.as_view(), name="backoffice_client_ib_history"),
    path("materials/", views.MaterialsView.as_view(), name="backoffice_partner_materials"),
    path("materials/<int:pk>/", views.MaterialToggleView.as_view(), name="backoffice_partner_material"),
    path("materials/<int:pk>/file", views.MaterialFileView.as_view(), name="backoffice_partner_material_file"),
    path("<int:pk>/", views.PartnerDetailView.as_view(), name="backoffice_partner"),
    path("<int:pk>/decide/", views.PartnerDecideView.as_view(), name="backoffice_partner_decide"),
]
