"""Reads of the notifications capability: the unread count (one query), the ranked list, the preferences table."""
from __future__ import annotations

from django.db.models import Case, IntegerField, Value, When

from tenant_apps.notifications import kinds
from tenant_apps.notifications.models import Category, Channel, Notification, NotificationPreference

LIST_LIMIT = 50


def unread_count(*, user) -> int:
    return Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).count()


def notifications_for(*, user, limit: int = LIST_LIMIT) -> list[Notification]:
    """The user's portal notifications: unread first, ranked by importance (action required > account events >
    promotions), newest first within a rank. One query, bounded."""
    unread_first = Case(When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
    return list(Notification.objects.filter(recipient=user, in_app=True)
                .annotate(unread_first=unread_first)
                .order_by("unread_first", "-importance", "-created_at", "-pk")[:limit])


def preferences_table(*, user) -> list[dict]:
    """One row per category: label, and per channel whether it is on and whether the user may change it."""
    chosen = {(p.category, p.channel): p.enabled for p in NotificationPreference.objects.filter(user=user)}
    rows = []
    for category in Category:
        cells = {}
        for channel in Channel:
            locked = channel == Channel.IN_APP and category in kinds.ALWAYS_IN_APP
            default = kinds.CATEGORY_DEFAULTS.get((category, channel), True)
            cells[channel.value] = {"enabled": True if locked else chosen.get((category, channel), default),
                                    "locked": locked}
        rows.append({"category": category.value, "label": category.label, **cells})
    return rows


def _unread_key(user_id: int) -> str:
    from django.db import connection

    return f"notifications:unread:{connection.schema_name}:{user_id}"


def unread_count_cached(*, user) -> int:
    """The badge on every page: from the cache when it can (no query), refreshed at most every few minutes and
    dropped whenever the user's notifications change (services.unread_changed)."""
    from django.core.cache import cache

    key = _unread_key(user.pk)
    value = cache.get(key)
    if value is None:
        value = unread_count(user=user)
        cache.set(key, value, 300)
    return value
