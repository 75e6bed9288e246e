from django.urls import include, path

from tenant_apps.portal import views

urlpatterns = [
    path("", views.home, name="portal_home"),
    path("verify/", include("tenant_apps.compliance.portal_urls")),
]
