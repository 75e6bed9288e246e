"""Inside a brokerage: session activity for the session list, and mandatory MFA for staff with sensitive rights."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from tenant_apps.identity.policies import mfa_required
from tenant_apps.identity.selectors import totp_enrolled


def _in_brokerage(request) -> bool:
    return connection.schema_name != get_public_schema_name() and getattr(request, "tenant", None) is not None


class SessionActivityMiddleware:
    """Keeps allauth's UserSession rows (IP, browser, last seen) current, at most one write per minute per
    session: allauth's own tracking middleware writes on every request."""

    INTERVAL_S = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session_key = getattr(getattr(request, "session", None), "session_key", None)
        if session_key and _in_brokerage(request) and request.user.is_authenticated:
            # cache.add is atomic and the key is tenant-scoped: only the first request in the interval writes.
            if cache.add(f"usersession-seen:{session_key}", 1, self.INTERVAL_S):
                from allauth.usersessions.models import UserSession

                UserSession.objects.create_from_request(request)
        return self.get_response(request)


def mfa_required_message() -> str:
    return _("Your role gives you access to money or compliance decisions, so this brokerage requires "
             "two-factor authentication. Set up an authenticator app to continue.")


class MfaEnrolmentMiddleware:
    """A staff member who must use MFA (identity.policies.mfa_required) and has no authenticator app yet is
    sent to the set-up page from every page but the set-up itself, sign-out and static/theme/language URLs;
    API calls made with their session get a typed 403."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._allowed: tuple[str, ...] | None = None

    def allowed_prefixes(self) -> tuple[str, ...]:
        if self._allowed is None:
            urlconf = settings.ROOT_URLCONF
            self._allowed = (
                reverse("mfa_index", urlconf=urlconf),               # set-up, codes, the MFA sign-in step
                reverse("account_reauthenticate", urlconf=urlconf),  # set-up asks for the password again
                reverse("account_logout", urlconf=urlconf),
                reverse("set_language", urlconf=urlconf),
                reverse("theme_css", urlconf=urlconf),
                reverse("branding_image", args=["logo"], urlconf=urlconf).rsplit("/", 1)[0] + "/",
                settings.STATIC_URL,
            )
        return self._allowed

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and _in_brokerage(request)
                and not request.path_info.startswith(self.allowed_prefixes())
                and mfa_required(user) and not totp_enrolled(user)):
            return self._refuse(request)
        return self.get_response(request)

    def _refuse(self, request):
        if request.path_info.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"code": "mfa_enrolment_required", "message": mfa_required_message()}, status=403)
        messages.warning(request, mfa_required_message())
        return redirect("mfa_activate_totp")
