"""Trader's Room money pages, mounted at /money/ (platform_core.urls_tenant)."""
from django.urls import path

from tenant_apps.payments import portal_views as views

urlpatterns = [
    path("", views.money_home, name="money_home"),
    path("deposit/", views.deposit_start, name="money_deposit_start"),
    path("deposit/return/", views.deposit_return, name="money_deposit_return"),
    path("deposit/<int:pk>/", views.deposit_detail, name="money_deposit"),
    path("withdraw/", views.withdraw, name="money_withdraw"),
    path("withdrawals/<int:pk>/", views.withdrawal_detail, name="money_withdrawal"),
    path("transfer/", views.transfer, name="money_transfer"),
    path("statement/", views.statement, name="money_statement"),
]
