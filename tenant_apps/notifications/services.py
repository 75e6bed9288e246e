"""Every write of the notifications capability: notify (render in the recipient's language, store once, e-mail
after commit), mark read, preferences, and the e-mail outbox the workers deliver."""
from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from tenancy.context import require_tenant
from tenant_apps.notifications import kinds
from tenant_apps.notifications.errors import NotificationError
from tenant_apps.notifications.models import Category, Channel, Notification, NotificationPreference

log = logging.getLogger(__name__)
EMAIL_MAX_ATTEMPTS = 8
EMAIL_STUCK_AFTER_S = 300


def language_of(user) -> str:
    """The user's saved language, else the brokerage's default, else the platform's; always one we serve."""
    served = {code for code, _ in settings.LANGUAGES}
    for candidate in (getattr(user, "language", ""), getattr(require_tenant(), "default_language", "")):
        code = (candidate or "").split("-")[0].lower()
        if code in served:
            return code
    return settings.LANGUAGE_CODE


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(getattr(require_tenant(), "timezone", "") or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _shown(value, zone: ZoneInfo) -> str:
    """A context value as the reader sees it, formatted in the active language (dates) — never through float."""
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value, zone) if timezone.is_aware(value) else value,
                                   "DATE_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "DATE_FORMAT")
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def render(kind: str, *, context: dict, language: str) -> tuple[str, str]:
    """(title, body) of `kind` in `language`."""
    spec = kinds.KINDS[kind]
    zone = _zone()
    with translation.override(language):
        values = {k: _shown(v, zone) for k, v in context.items()}
        try:
            return (str(spec.title) % values)[:200], str(spec.body) % values
        except KeyError as exc:
            raise NotificationError(f"Notification {kind!r} needs {exc.args[0]!r} in its context.",
                                    code="context_missing") from exc


def channel_enabled(user, *, category: str, channel: str) -> bool:
    if channel == Channel.IN_APP and category in kinds.ALWAYS_IN_APP:
        return True
    chosen = (NotificationPreference.objects.filter(user=user, category=category, channel=channel)
              .values_list("enabled", flat=True).first())
    return kinds.CATEGORY_DEFAULTS.get((category, channel), True) if chosen is None else chosen


def notify(user, kind: str, *, context: dict, link: str = "", dedupe_key: str = "") -> Notification:
    """Tell `user` something. Stored once per (user, kind, dedupe_key) — a replay returns the first one and sends
    nothing again; the e-mail (if the user wants this category by e-mail) leaves after the caller's commit."""
    require_tenant()
    if kind not in kinds.KINDS:
        raise NotificationError(f"Unknown notification kind {kind!r}: add it to notifications/kinds.py.",
                                code="unknown_kind")
    spec = kinds.KINDS[kind]
    language = language_of(user)
    title, body = render(kind, context=context, language=language)
    wants_email = bool(getattr(user, "email", "")) and channel_enabled(user, category=spec.category,
                                                                         channel=Channel.EMAIL)
    with transaction.atomic():
        notification, created = Notification.objects.get_or_create(
            recipient=user, kind=kind, dedupe_key=(dedupe_key or uuid.uuid4().hex)[:150],
            defaults={"category": spec.category, "importance": spec.importance, "title": title, "body": body,
                      "link": link[:300], "language": language, "email_wanted": wants_email,
                      "in_app": channel_enabled(user, category=spec.category, channel=Channel.IN_APP)})
        if created:
            unread_changed(user.pk)
        if created and wants_email:
            from tenancy.workers import send_on_commit
            from tenant_apps.notifications.tasks import notification_email_send

            send_on_commit(notification_email_send, notification.pk)
    return notification


def unread_changed(user_id: int) -> None:
    """Drop the cached badge count of a user (after commit: a rolled-back change leaves it as it was)."""
    from django.core.cache import cache

    from tenant_apps.notifications.selectors import _unread_key

    key = _unread_key(user_id)
    cache.delete(key)  # now (this transaction reads its own writes) and again after commit (others' reads)
    transaction.on_commit(lambda key=key: cache.delete(key))


def notification_mark_read(*, user, notification_id: int) -> Notification:
    """Mark one of the user's own notifications read (another user's is not found)."""
    notification = Notification.objects.filter(recipient=user, pk=notification_id).first()
    if notification is None:
        raise Notification.DoesNotExist(f"no notification {notification_id} for this user")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
        unread_changed(user.pk)
    return notification


def notifications_mark_all_read(*, user) -> int:
    marked = Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
    unread_changed(user.pk)
    return marked


def preferences_set(*, user, choices: dict[tuple[str, str], bool]) -> list[NotificationPreference]:
    """Save the user's channel choices per category; a choice the rules do not allow (money or security off in
    the portal, an unknown category or channel) is refused and nothing is saved."""
    from tenant_apps.audit.services import audit_record

    require_tenant()
    problems = []
    for category, channel in choices:
        if category not in Category.values or channel not in Channel.values:
            problems.append(f"unknown category or channel {category}/{channel}")
        elif channel == Channel.IN_APP and category in kinds.ALWAYS_IN_APP and not choices[(category, channel)]:
            problems.append(f"{Category(category).label} notifications always show in the portal")
    if problems:
        raise NotificationError("; ".join(problems) + ".", code="preference_not_allowed")
    saved, changes = [], {}
    with transaction.atomic():
        for (category, channel), enabled in sorted(choices.items()):
            before = channel_enabled(user, category=category, channel=channel)
            pref, _ = NotificationPreference.objects.update_or_create(
                user=user, category=category, channel=channel, defaults={"enabled": bool(enabled)})
            saved.append(pref)
            if before != bool(enabled):
                changes[f"{category}.{channel}"] = [before, bool(enabled)]
        if changes:
            audit_record(action="notifications.preferences_changed", obj=user, actor=user, changes=changes)
    return saved


# --- e-mail outbox (delivered by workers: tasks.notification_email_send, swept by tasks.notifications_email_sweep) --

def _email_message(notification: Notification) -> EmailMultiAlternatives:
    from themes.selectors import theme_current

    brokerage = require_tenant()
    theme = theme_current()
    with translation.override(notification.language):
        context = {"n": notification, "portal_name": theme.portal_name, "support_email": theme.support_email,
                   "legal_footer": theme.legal_footer,
                   "url": brokerage.portal_url(notification.link or "/notifications/"),
                   "settings_url": brokerage.portal_url("/notifications/#preferences")}
        subject = " ".join(render_to_string("notifications/email/subject.txt", context).split())
        body = render_to_string("notifications/email/message.txt", context)
    message = EmailMultiAlternatives(subject=subject[:250], body=body, from_email=settings.DEFAULT_FROM_EMAIL,
                                     to=[notification.recipient.email],
                                     headers={"Content-Language": notification.language})
    return message


def notification_email_deliver(*, notification_id: int) -> bool:
    """Send one notification's e-mail if it is still owed; True when sent now. Safe to call again (at least once:
    a crash between the send and its bookkeeping sends it again rather than never)."""
    require_tenant()
    with transaction.atomic():  # the attempt is counted (committed) even when the send then fails
        notification = (Notification.objects.select_for_update(skip_locked=True, of=("self",)).select_related("recipient")
                        .filter(pk=notification_id, email_wanted=True, email_sent_at__isnull=True).first())
        if notification is None:
            return False  # sent already, not wanted, or another worker holds it
        notification.email_attempts += 1
        Notification.objects.filter(pk=notification.pk).update(email_attempts=notification.email_attempts)
    _email_message(notification).send()  # raises: the worker retries with backoff
    Notification.objects.filter(pk=notification.pk, email_sent_at__isnull=True).update(email_sent_at=timezone.now())
    return True


def notifications_email_requeue() -> int:
    """The outbox sweep: re-enqueue e-mails still owed after a while (a lost message, Redis down at commit)."""
    from tenancy.workers import send_to_tenant
    from tenant_apps.notifications.tasks import notification_email_send

    brokerage = require_tenant()
    cutoff = timezone.now() - timezone.timedelta(seconds=EMAIL_STUCK_AFTER_S)
    ids = list(Notification.objects.filter(email_wanted=True, email_sent_at__isnull=True, created_at__lte=cutoff,
                                           email_attempts__lt=EMAIL_MAX_ATTEMPTS)
               .order_by("pk").values_list("pk", flat=True)[:200])
    for pk in ids:
        send_to_tenant(notification_email_send, brokerage.schema_name, pk)
    return len(ids)
