"""Recognising a returning browser: the signed, host-only device cookie and a short user-agent summary."""
from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.core import signing
from django.db import connection
from django.http import HttpRequest, HttpResponse

DEVICE_COOKIE = "brokeros_device"
# Browsers cap cookie lifetimes at 400 days; every sign-in renews it.
DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600


def _salt() -> str:
    # The schema in the salt: a device cookie minted by one brokerage means nothing to another, even if copied.
    return f"identity.device.{connection.schema_name}"


def new_device_id() -> str:
    return uuid.uuid4().hex


def device_cookie_read(request: HttpRequest) -> str | None:
    """The device id this browser presented, or None when it has no cookie or a tampered one."""
    try:
        value = request.get_signed_cookie(DEVICE_COOKIE, default=None, salt=_salt(), max_age=DEVICE_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return None
    if value and re.fullmatch(r"[0-9a-f]{32}", value):
        return value
    return None


def device_cookie_set(response: HttpResponse, device_id: str) -> None:
    response.set_signed_cookie(
        DEVICE_COOKIE, device_id, salt=_salt(), max_age=DEVICE_COOKIE_MAX_AGE,
        domain=None,  # host-only, like the session cookie
        secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax",
    )


_BROWSERS = (  # order matters: Edge and Opera also say "Chrome", Chrome also says "Safari"
    ("Edge", r"Edg(e|A|iOS)?/"), ("Opera", r"OPR/|Opera"), ("Samsung Internet", r"SamsungBrowser/"),
    ("Firefox", r"Firefox/|FxiOS/"), ("Chrome", r"Chrome/|CriOS/"), ("Safari", r"Safari/"),
)
_SYSTEMS = (
    ("iOS", r"iPhone|iPad|iPod"), ("Android", r"Android"), ("Windows", r"Windows"), ("macOS", r"Mac OS X|Macintosh"),
    ("ChromeOS", r"CrOS"), ("Linux", r"Linux"),
)


def user_agent_summary(user_agent: str) -> str:
    """'Firefox on Windows', 'Safari on iOS'; the raw string shortened when nothing is recognised."""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, user_agent or "")), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, user_agent or "")), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system
    return (user_agent or "Unknown browser").strip()[:120] or "Unknown browser"
