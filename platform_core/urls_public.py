"""URLs the platform root domain serves: operator console and the platform API."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from platform_core.observability.views import metrics_view

urlpatterns = [
    path("", include("themes.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/platform/", include("platform_core.console.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(urlconf="platform_core.urls_public"), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Prometheus scrape target (platform_core/observability): bearer METRICS_TOKEN, or a signed-in operator if unset.
    path("metrics", metrics_view, name="metrics"),
    path("", include("platform_core.console.urls")),
]

handler404 = "platform_core.errors.not_found"
handler500 = "platform_core.errors.server_error"
