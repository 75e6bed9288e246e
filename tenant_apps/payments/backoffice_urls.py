"""Back-office money queues, mounted at /backoffice/money/."""
from django.urls import path

from tenant_apps.payments import backoffice_views as views

urlpatterns = [
    path("deposits/", views.DepositQueueView.as_view(), name="backoffice_money_deposits"),
    path("deposits/<int:pk>/", views.DepositDetailView.as_view(), name="backoffice_money_deposit"),
    path("withdrawals/", views.WithdrawalQueueView.as_view(), name="backoffice_money_withdrawals"),
    path("withdrawals/<int:pk>/", views.WithdrawalDetailView.as_view(), name="backoffice_money_withdrawal"),
    path("adjustments/", views.AdjustmentListView.as_view(), name="backoffice_money_adjustments"),
    path("adjustments/<int:pk>/decide/", views.AdjustmentDecideView.as_view(), name="backoffice_money_adjustment_decide"),
    path("reconciliation/", views.ReconciliationView.as_view(), name="backoffice_money_reconciliation"),
    path("reconciliation/<int:pk>/resolve/", views.DiscrepancyResolveView.as_view(),
         name="backoffice_money_discrepancy_resolve"),
]
