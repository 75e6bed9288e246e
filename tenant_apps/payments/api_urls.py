"""Mounted under /api/v1/ (tenant_apps.backoffice.api_urls)."""
from django.urls import path

from tenant_apps.payments import api, client_api

urlpatterns = [
    path("payments/withdrawals/", api.WithdrawalQueueApi.as_view(), name="api_payments_withdrawals"),
    path("money/withdrawals/", client_api.ClientWithdrawalsApi.as_view(), name="api_money_withdrawals"),
    path("payments/deposits/review/", api.DepositReviewQueueApi.as_view(), name="api_payments_deposits_review"),
]
