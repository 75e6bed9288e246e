"""Trading endpoints of the tenant API, mounted at /api/v1/ by tenant_apps.backoffice.api_urls."""
from django.urls import path

from tenant_apps.trading import api

urlpatterns = [
    path("trading/accounts/", api.AccountListApi.as_view(), name="api_trading_accounts"),
    path("trading/accounts/<int:account_id>/leverage/", api.AccountLeverageApi.as_view(),
         name="api_trading_account_leverage"),
    path("trading/accounts/<int:account_id>/archive/", api.AccountArchiveApi.as_view(),
         name="api_trading_account_archive"),
    path("trading/accounts/<int:account_id>/credentials/", api.AccountCredentialsApi.as_view(),
         name="api_trading_account_credentials"),
    # staff (matrix: trading:view reads, trading:manage writes)
    path("backoffice/trading/accounts/", api.StaffAccountListApi.as_view(), name="api_staff_trading_accounts"),
    path("backoffice/trading/accounts/<int:account_id>/", api.StaffAccountDetailApi.as_view(),
         name="api_staff_trading_account"),
    path("backoffice/trading/accounts/<int:account_id>/block/", api.StaffAccountBlockApi.as_view(),
         name="api_staff_trading_account_block"),
    path("backoffice/trading/accounts/<int:account_id>/unblock/", api.StaffAccountUnblockApi.as_view(),
         name="api_staff_trading_account_unblock"),
    path("backoffice/trading/accounts/<int:account_id>/leverage/", api.StaffAccountLeverageApi.as_view(),
         name="api_staff_trading_account_leverage"),
]
