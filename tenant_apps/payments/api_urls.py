"""Mounted under /api/v1/ (tenant_apps.backoffice.api_urls)."""
from django.urls import path

from tenant_apps.payments import api, client_api

urlpatterns = [
    path("payments/withdrawals/", api.WithdrawalQueueApi.as_view(), name="api_payments_withdrawals"),
    path("money/withdrawals/", client_api.ClientWithdrawalsApi.as_view(), name="api_money_withdrawals"),
    path("money/transfers/", client_api.ClientTransfersApi.as_view(), name="api_money_transfers"),
    path("payments/deposits/review/", api.DepositReviewQueueApi.as_view(), name="api_payments_deposits_review"),
    path("payments/withdrawals/<int:pk>/", api.WithdrawalDetailApi.as_view(), name="api_payments_withdrawal"),
    path("payments/withdrawals/<int:pk>/approve/", api.WithdrawalApproveApi.as_view(),
         name="api_payments_withdrawal_approve"),
    path("payments/withdrawals/<int:pk>/reject/", api.WithdrawalRejectApi.as_view(),
         name="api_payments_withdrawal_reject"),
    path("payments/deposits/<int:pk>/", api.DepositDetailApi.as_view(), name="api_payments_deposit"),
    path("payments/deposits/<int:pk>/approve/", api.DepositApproveApi.as_view(), name="api_payments_deposit_approve"),
    path("payments/deposits/<int:pk>/reject/", api.DepositRejectApi.as_view(), name="api_payments_deposit_reject"),
    path("payments/adjustments/", api.AdjustmentsApi.as_view(), name="api_payments_adjustments"),
    path("payments/adjustments/<int:pk>/decide/", api.AdjustmentDecideApi.as_view(),
         name="api_payments_adjustment_decide"),
]
