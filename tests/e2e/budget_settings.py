"""The browser-test server as production serves static files, for the dashboard's transfer budget (issue 9): DEBUG
off, so runserver's own (uncompressed) static handler steps aside and WhiteNoise serves /static/ — compressed, as
CompressedManifestStaticFilesStorage does in production (there from .gz files made at collectstatic; here gzip on
the fly, the same bytes on the wire). HTML is not compressed (it carries CSRF tokens: BREACH), as in production.
Cookies stay non-Secure: the journey runs over plain HTTP on loopback."""
from django.middleware.gzip import GZipMiddleware

from tests.e2e.server_settings import *  # noqa: F401,F403
from tests.e2e.server_settings import MIDDLEWARE, STATIC_URL

DEBUG = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False


class StaticGzipMiddleware(GZipMiddleware):
    """gzip for /static/ only (what WhiteNoise would send from its precompressed files)."""

    def process_response(self, request, response):
        if not request.path.startswith(STATIC_URL):
            return response
        return super().process_response(request, response)


MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]
MIDDLEWARE[1:1] = ["tests.e2e.budget_settings.StaticGzipMiddleware", "whitenoise.middleware.WhiteNoiseMiddleware"]
