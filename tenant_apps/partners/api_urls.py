"""Staff API of the partners capability, mounted under /api/v1/."""
from django.urls import path

from tenant_apps.partners import api

urlpatterns = [
    path("partners/", api.PartnerListApi.as_view(), name="api_partners"),
    path("partners/clients/<int:client_id>/", api.ClientIbHistoryApi.as_view(), name="api_partner_client_history"),
    path("partners/reassignments/", api.ReassignmentListApi.as_view(), name="api_reassignments"),
    path("partners/reassignments/<int:request_id>/decide/", api.ReassignmentDecideApi.as_view(),
         name="api_reassignment_decide"),
]
