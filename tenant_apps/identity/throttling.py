"""Sign-in throttling: how long a lockout from allauth's `login_failed` rate limits still lasts, and what it says.

allauth counts failed sign-ins per IP and per account (ACCOUNT_RATE_LIMITS["login_failed"]) in the cache, whose
keys carry the tenant's schema (django_tenants.cache.make_key), so a lockout at one brokerage never touches another.
The limits are sliding windows: a lockout ends when the oldest counted failure leaves its window.
"""
from __future__ import annotations

import math
import time

from allauth.core.internal import ratelimit
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import ngettext

APP = "allauth.account"
ACTION = "login_failed"


def login_lockout_seconds(request: HttpRequest, *, key: str | None) -> int:
    """Seconds until a sign-in may be tried again from this request's IP for this account key (0: not locked).

    A per-account limit is only looked at when `key` is given (the MFA step counts under a key of its own)."""
    now = time.time()
    wait = 0.0
    for rate in ratelimit.get_rates(app=APP, action=ACTION):
        if rate.per == "key" and key is None:
            continue
        if rate.per not in ("ip", "key"):
            continue
        cache_key = ratelimit.get_cache_key(request, app=APP, action=ACTION, rate=rate, key=key)
        history = [ts for ts in cache.get(cache_key, []) if ts > now - rate.duration]  # newest first
        if len(history) >= rate.amount:
            # Allowed again once the amount-th newest failure has left the window.
            wait = max(wait, history[rate.amount - 1] + rate.duration - now)
    return math.ceil(wait)


def longest_window_seconds() -> int:
    return int(max((rate.duration for rate in ratelimit.get_rates(app=APP, action=ACTION)), default=0))


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed sign-in attempts. Try again in about %(minutes)d minute, or reset your password.",
        "Too many failed sign-in attempts. Try again in about %(minutes)d minutes, or reset your password.",
        minutes,
    ) % {"minutes": minutes}
