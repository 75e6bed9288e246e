"""Back-office trading pages (mounted at /backoffice/trading/) and the Trader's Room page (/trading/)."""
from django.urls import path

from tenant_apps.trading import views

backoffice_urlpatterns = [
    path("", views.BackofficeAccountListView.as_view(), name="backoffice_trading"),
    path("<int:account_id>/", views.BackofficeAccountDetailView.as_view(), name="backoffice_trading_account"),
    path("leverage/<int:request_id>/", views.BackofficeLeverageDecideView.as_view(),
         name="backoffice_trading_leverage_decide"),
]

portal_urlpatterns = [
    path("", views.PortalAccountsView.as_view(), name="portal_trading"),
]
