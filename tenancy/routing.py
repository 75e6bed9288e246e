"""Host → brokerage lookups cached per process, invalidated platform-wide the moment routing data changes.

Every request needs its brokerage. Reading it from PostgreSQL each time (a query plus a search_path switch)
was most of the per-request cost of small endpoints such as PSP webhooks. The cache is only as fresh as a
version number in Redis: any change to a Brokerage or Domain row bumps it (at once, and again after commit),
and a process that sees a new version drops everything it cached. Only hits are cached, never misses, so a
new domain answers at once. If Redis is unreachable the cache is bypassed (correct, just slower).
"""
from __future__ import annotations

import copy
import logging
import threading
import time

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

log = logging.getLogger(__name__)

TTL_S = 300  # a safety net only; invalidation is by version
_lock = threading.Lock()
_state = {"version": None}
_entries: dict[str, tuple[float, object]] = {}


def _version_key() -> str:
    from platform_core.redis import key

    return key("routing-version")


def current_version() -> str | None:
    from platform_core.redis import redis_client

    try:
        return redis_client().get(_version_key()) or "0"
    except Exception:  # noqa: BLE001 - Redis down: no caching, never a wrong answer
        return None


def invalidate() -> None:
    """Bump the platform-wide routing version (every process drops its cached hosts on its next request)."""
    from platform_core.redis import redis_client

    with _lock:
        _entries.clear()
    try:
        redis_client().incr(_version_key())
    except Exception:  # noqa: BLE001
        log.warning("could not bump the routing version; caches expire within %s s", TTL_S, exc_info=True)


def invalidate_now_and_after_commit() -> None:
    invalidate()
    transaction.on_commit(invalidate)


def lookup(hostname: str, load):
    """The brokerage answering on `hostname`: from this process's cache, or `load(hostname)` (which raises
    DoesNotExist for unknown hosts — not cached). Returns a private copy the caller may modify."""
    from django.db import connection

    if connection.in_atomic_block:
        # Inside a transaction the rows read may never be committed: never cache them (or serve from cache).
        return load(hostname)
    version = current_version()
    if version is None:
        return load(hostname)
    now = time.monotonic()
    with _lock:
        if _state["version"] != version:
            _entries.clear()
            _state["version"] = version
        hit = _entries.get(hostname)
    if hit is not None and hit[0] > now:
        return copy.copy(hit[1])
    tenant = load(hostname)
    with _lock:
        if _state["version"] == version:
            _entries[hostname] = (now + TTL_S, copy.copy(tenant))
    return tenant


@receiver(post_save, sender="tenancy.Brokerage")
@receiver(post_delete, sender="tenancy.Brokerage")
@receiver(post_save, sender="tenancy.Domain")
@receiver(post_delete, sender="tenancy.Domain")
def _routing_changed(**kwargs) -> None:
    invalidate_now_and_after_commit()
