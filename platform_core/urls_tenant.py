"""URLs a brokerage's domains serve: Trader's Room, back office, accounts, tenant API."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tenant_apps.identity.language import language_set_view

urlpatterns = [
    path("", include("themes.urls")),
    # Django's set_language, and the signed-in user's stored language follows (identity/language.py).
    path("i18n/setlang/", language_set_view, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("backoffice/", include("tenant_apps.backoffice.urls")),
    path("api/v1/", include("tenant_apps.backoffice.api_urls")),
    path("webhooks/psp/", include("tenant_apps.payments.urls")),
    path("money/", include("tenant_apps.payments.portal_urls")),  # Trader's Room: deposit, withdraw, transfer
    path("webhooks/kyc/", include("tenant_apps.kyc_checks.webhook_urls")),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="platform_core.urls_tenant"), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("trading/", include("tenant_apps.trading.urls_portal")),
    path("partner/", include("tenant_apps.partners.portal_urls")),  # the partner portal (active IBs only)
    path("referrals/", include("tenant_apps.partners.trader_urls")),  # Trader's Room: referral link, IB application
    path("notifications/", include("tenant_apps.notifications.urls")),  # Trader's Room: the client's own list
    path("support/", include("tenant_apps.support.portal_urls")),  # Trader's Room: tickets, help centre, e-mail in
    path("", include("tenant_apps.portal.urls")),
]

handler404 = "platform_core.errors.not_found"
handler500 = "platform_core.errors.server_error"
