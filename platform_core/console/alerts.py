"""E-mail to the platform operators when a brokerage's alert opens (and once more when it clears).

The console computes alerts from live figures (selectors.row_alerts); this module remembers which are open in
Redis (a hash brokerage:kind → text) so an alert is mailed once when it appears, not every minute while it
lasts. Run every minute by the scheduler (tenancy.tasks.console_alerts_notify); safe to run from several
schedulers at once: opening is an HSETNX, so only one run mails a given opening.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from platform_core.console import selectors
from platform_core.redis import key, redis_client

log = logging.getLogger(__name__)


def _operators() -> list[str]:
    from tenant_apps.identity.models import User, UserKind

    return list(User.objects.filter(kind=UserKind.OPERATOR, is_active=True).values_list("email", flat=True))


def alerts_notify() -> dict[str, list[str]]:
    """Mail newly opened and newly cleared alerts; returns {"opened": [...], "cleared": [...]} as slug:kind."""
    client = redis_client()
    open_key = key("console", "alerts", "open")
    current = {f"{r.brokerage.slug}:{a.kind}": (r.brokerage, a) for r in selectors.brokerage_rows(limit=100_000)
               for a in r.alerts}
    opened = [k for k, (_, a) in current.items() if client.hsetnx(open_key, k, a.text)]
    cleared = [k for k in client.hkeys(open_key) if k not in current and client.hdel(open_key, k)]
    recipients = _operators()
    if recipients and (opened or cleared):
        lines = [f"OPEN     {current[k][0].name} ({current[k][0].slug}): {current[k][1].text}" for k in opened]
        lines += [f"CLEARED  {k.replace(':', ' — ')}" for k in cleared]
        subject = (f"[BrokerOS] {len(opened)} alert(s) opened" + (f", {len(cleared)} cleared" if cleared else "")
                   if opened else f"[BrokerOS] {len(cleared)} alert(s) cleared")
        send_mail(subject, "\n".join(lines) + f"\n\nConsole: https://{settings.PLATFORM_DOMAIN}/\n",
                  settings.DEFAULT_FROM_EMAIL, recipients)
    return {"opened": sorted(opened), "cleared": sorted(cleared)}
