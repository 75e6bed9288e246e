"""The tenant URLconf plus a support page named as the support app will name it (the dashboard links to it)."""
from django.http import HttpResponse
from django.urls import path

from platform_core.urls_tenant import urlpatterns as tenant_urlpatterns

urlpatterns = [path("support/", lambda request: HttpResponse("support"), name="support_portal_home"),
               *tenant_urlpatterns]
