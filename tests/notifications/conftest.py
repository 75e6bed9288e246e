"""Notification tests reuse the money fixtures (sandbox PSP in-process, a verified client and money staff on alpha
and beta, webhooks delivered over HTTP) and add readers for what a user was told."""
from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.payments.conftest import _fresh_inbox_state, sandbox_psp  # noqa: F401
from tests.payments.money.conftest import books_balance, money  # noqa: F401


def told(brokerage, user, kind: str | None = None) -> list:
    """The notifications `user` has in `brokerage`, oldest first (optionally one kind)."""
    from tenant_apps.notifications.models import Notification

    with tenant_context(brokerage):
        qs = Notification.objects.filter(recipient_id=user.pk).order_by("pk")
        if kind:
            qs = qs.filter(kind=kind)
        return list(qs)


def kinds_of(brokerage, user) -> list[str]:
    return [n.kind for n in told(brokerage, user)]


@pytest.fixture
def alpha_client(db, tenants):
    from tests.payments.money.conftest import make_client

    with tenant_context(tenants["alpha"]):
        return make_client("alpha", full_name="Ana Lopez")
