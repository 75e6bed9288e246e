"""Identity endpoints of the tenant API, mounted at /api/v1/ by tenant_apps.backoffice.api_urls."""
from django.urls import path

from tenant_apps.identity import api

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="api_me"),
    path("staff/", api.StaffListApi.as_view(), name="api_staff"),
    path("staff/<int:user_id>/", api.StaffDetailApi.as_view(), name="api_staff_detail"),
    path("staff/<int:user_id>/deactivate/", api.StaffDeactivateApi.as_view(), name="api_staff_deactivate"),
    path("api-tokens/", api.ApiTokenListApi.as_view(), name="api_tokens"),
    path("api-tokens/<int:token_id>/", api.ApiTokenDetailApi.as_view(), name="api_token"),
]
