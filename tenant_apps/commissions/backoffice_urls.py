"""Back-office commission pages, mounted at /backoffice/commissions/."""
from django.urls import path

from tenant_apps.commissions import views

urlpatterns = [
    path("", views.PeriodsView.as_view(), name="backoffice_commissions"),
    path("plans/", views.PlanListView.as_view(), name="backoffice_commission_plans"),
    path("plans/<int:pk>/", views.PlanDetailView.as_view(), name="backoffice_commission_plan"),
    path("payouts/", views.PayoutsView.as_view(), name="backoffice_commission_payouts"),
    path("statements/<int:pk>/", views.StatementView.as_view(),
         name="backoffice_commission_statement"),
]
