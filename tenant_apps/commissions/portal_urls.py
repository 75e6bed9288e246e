"""Partner portal commission pages, mounted at /partner/commissions/."""
from django.urls import path

from tenant_apps.commissions import portal_views as views

urlpatterns = [
    path("", views.CommissionsView.as_view(), name="partner_commissions"),
    path("<str:period>/", views.StatementView.as_view(), name="partner_commission_statement"),
]
