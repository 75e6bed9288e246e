"""The partner portal, mounted at /partner/ (IBs only). Commission pages live under /partner/commissions/
(tenant_apps.commissions)."""
from django.urls import include, path

from tenant_apps.partners import portal_views as views

urlpatterns = [
    path("", views.DashboardView.as_view(), name="partner_dashboard"),
    path("referrals/", views.ReferralsView.as_view(), name="partner_referrals"),
    path("referrals/<int:client_id>/", views.ReferralDetailView.as_view(), name="partner_referral"),
    path("links/", views.LinksView.as_view(), name="partner_links"),
    path("links/<slug:code>/qr.svg", views.LinkQrView.as_view(), name="partner_link_qr"),
    path("tree/", views.TreeView.as_view(), name="partner_tree"),
    path("materials/", views.MaterialsView.as_view(), name="partner_materials"),
    path("materials/<int:pk>/file", views.MaterialFileView.as_view(), name="partner_material_file"),
    path("commissions/", include("tenant_apps.commissions.portal_urls")),  # statements, payouts (commissions)
]
