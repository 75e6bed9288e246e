"""The Trader's Room trading page, mounted at /trading/ by the tenant URLconf."""
from tenant_apps.trading.urls import portal_urlpatterns as urlpatterns  # noqa: F401
