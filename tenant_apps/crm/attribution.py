"""First-touch source attribution: the IB referral code, UTM parameters and landing page a visitor arrived with,
kept 30 days in a signed, host-only cookie and copied to the client's record at registration."""
from __future__ import annotations

from django.conf import settings
from django.utils import timezone

COOKIE = "brokeros_src"
SALT = "crm.attribution"
MAX_AGE = 30 * 24 * 3600
FIELDS = ("ref", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
SKIP_PREFIXES = ("/backoffice/", "/api/", "/static/", "/webhooks/", "/i18n/")


def _clean(value: str, limit: int = 100) -> str:
    return "".join(ch for ch in str(value) if ch.isprintable()).strip()[:limit]


def attribution_read(request) -> dict:
    """The visitor's first-touch attribution (empty dict when none or tampered with)."""
    data = request.get_signed_cookie(COOKIE, default=None, salt=SALT, max_age=MAX_AGE)
    if not data:
        return {}
    import json

    try:
        parsed = json.loads(data)
    except ValueError:
        return {}
    return {k: _clean(v, 300) for k, v in parsed.items() if isinstance(v, str)} if isinstance(parsed, dict) else {}


class AttributionMiddleware:
    """Sets the cookie on the first visit that carries a referral code or UTM parameter; never overwrites it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method != "GET" or request.path.startswith(SKIP_PREFIXES):
            return response
        params = {f: _clean(request.GET[f]) for f in FIELDS if request.GET.get(f, "").strip()}
        if not params or COOKIE in request.COOKIES and attribution_read(request):
            return response
        import json

        params["landing_page"] = _clean(request.path, 300)
        params["at"] = timezone.now().isoformat()
        # domain=None: host-only, so one brokerage's cookie is never sent to another's domain.
        response.set_signed_cookie(COOKIE, json.dumps(params, separators=(",", ":")), salt=SALT, max_age=MAX_AGE,
                                   domain=None, httponly=True, samesite="Lax",
                                   secure=settings.SESSION_COOKIE_SECURE and request.is_secure())
        return response
