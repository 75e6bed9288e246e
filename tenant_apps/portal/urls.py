from django.urls import include, path

from tenant_apps.portal import views

urlpatterns = [
    path("", views.home, name="portal_home"),
    path("dashboard/live/", views.dashboard_live, name="portal_dashboard_live"),
    path("manifest.webmanifest", views.web_manifest, name="portal_manifest"),
    path("pwa/icon-<int:size>.png", views.pwa_icon, name="portal_pwa_icon"),
    path("verify/", include("tenant_apps.compliance.portal_urls")),
]
