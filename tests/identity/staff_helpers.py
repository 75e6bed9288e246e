"""Helpers of the staff, role and API-token tests: audit entries appended since a point, invitation links
from the e-mail outbox, tokens minted for a user, and Bearer requests."""
from __future__ import annotations

import re

from django.core import mail
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from tests.conftest import host_of

ADMIN = "admin@alpha.test"
STRONG_PASSWORD = "Violet-harbour-1987!"
JOIN_LINK = re.compile(r"https?://(?P<host>[^/\s]+)(?P<path>/backoffice/join/(?P<token>[^/\s]+)/)")


def head_seq(brokerage) -> int:
    with tenant_context(brokerage), connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(seq), 0) FROM audit_auditentry")
        return cursor.fetchone()[0]


def entries_since(brokerage, seq: int, *, action: str | None = None) -> list:
    from tenant_apps.audit.models import AuditEntry

    with tenant_context(brokerage):
        found = AuditEntry.objects.filter(seq__gt=seq).order_by("seq")
        if action:
            found = found.filter(action=action)
        return list(found)


def invite_link(email: str) -> re.Match:
    """The accept link of the latest invitation e-mailed to `email`."""
    sent = [m for m in mail.outbox if m.to == [email]]
    assert sent, f"no e-mail to {email}: {[m.to for m in mail.outbox]}"
    found = JOIN_LINK.search(sent[-1].body)
    assert found, sent[-1].body
    return found


def mint(brokerage, email: str, scopes, **kwargs):
    """A token for the user (through the service the pages use); returns (ApiToken, secret string)."""
    from tenant_apps.identity.models import User
    from tenant_apps.identity.tokens import api_token_create

    with tenant_context(brokerage):
        minted = api_token_create(user=User.objects.get(email=email), name=kwargs.pop("name", "integration"),
                                  scopes=list(scopes), **kwargs)
    return minted.token, minted.secret


def bearer(brokerage_or_host, secret: str) -> Client:
    """A client with no session that sends `Authorization: Bearer <secret>` on every request."""
    host = brokerage_or_host if isinstance(brokerage_or_host, str) else host_of(brokerage_or_host)
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {secret}")
