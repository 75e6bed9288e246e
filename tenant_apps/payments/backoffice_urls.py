"""Back-office money queues, mounted at /backoffice/money/."""
from django.urls import path

from tenant_apps.payments import backoffice_methods, backoffice_wires
from tenant_apps.payments import backoffice_views as views

urlpatterns = [
    path("deposits/", views.DepositQueueView.as_view(), name="backoffice_money_deposits"),
    path("deposits/<int:pk>/", views.DepositDetailView.as_view(), name="backoffice_money_deposit"),
    path("withdrawals/", views.WithdrawalQueueView.as_view(), name="backoffice_money_withdrawals"),
    path("withdrawals/<int:pk>/", views.WithdrawalDetailView.as_view(), name="backoffice_money_withdrawal"),
    path("adjustments/", views.AdjustmentListView.as_view(), name="backoffice_money_adjustments"),
    path("adjustments/<int:pk>/decide/", views.AdjustmentDecideView.as_view(), name="backoffice_money_adjustment_decide"),
    path("transfers/", views.TransferListView.as_view(), name="backoffice_money_transfers"),
    path("transfers/<int:pk>/", views.TransferDetailView.as_view(), name="backoffice_money_transfer"),
    path("reconciliation/", views.ReconciliationView.as_view(), name="backoffice_money_reconciliation"),
    path("reconciliation/<int:pk>/resolve/", views.DiscrepancyResolveView.as_view(),
         name="backoffice_money_discrepancy_resolve"),
    # payment methods and their rules (payments:configure)
    path("methods/", backoffice_methods.MethodListView.as_view(), name="backoffice_money_methods"),
    path("methods/<int:pk>/", backoffice_methods.MethodEditView.as_view(), name="backoffice_money_method"),
    # incoming bank wires (payments.wires: view for Support, match for Finance, approve for Compliance/Manager)
    path("wires/", backoffice_wires.WireQueueView.as_view(), name="backoffice_money_wires"),
    path("wires/import/", backoffice_wires.WireImportView.as_view(), name="backoffice_money_wires_import"),
    path("wires/<int:pk>/", backoffice_wires.WireDetailView.as_view(), name="backoffice_money_wire"),
    path("wires/<int:pk>/approve/", backoffice_wires.WireApproveView.as_view(), name="backoffice_money_wire_approve"),
]
