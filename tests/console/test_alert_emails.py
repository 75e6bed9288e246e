"""Operators are e-mailed once when a brokerage's alert opens and once when it clears, not every minute."""
from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import tenant_context

from platform_core.console.alerts import alerts_notify
from platform_core.redis import key, redis_client
from tests.conftest import OPERATOR_EMAIL
from tests.payments.conftest import event_body, signature_header


@pytest.fixture
def no_open_alerts():
    redis_client().delete(key("console", "alerts", "open"))
    yield
    redis_client().delete(key("console", "alerts", "open"))


def _forged_webhooks(tenant_client, brokerage, n=5):
    for i in range(n):
        body = event_body(event_id=f"evt_mail_{i}")
        tenant_client(brokerage).post("/webhooks/psp/sandbox/", data=body, content_type="application/json",
                                      HTTP_STRIPE_SIGNATURE=signature_header(body, "whsec_wrong"))
    connection.set_schema_to_public()


def test_an_alert_is_mailed_once_when_it_opens_and_once_when_it_clears(db, tenants, tenant_client, no_open_alerts,
                                                                      operator_client):
    assert alerts_notify() == {"opened": [], "cleared": []} and mail.outbox == []

    _forged_webhooks(tenant_client, tenants["alpha"])
    assert alerts_notify() == {"opened": ["alpha:webhooks"], "cleared": []}
    [opened] = mail.outbox
    assert opened.to == [OPERATOR_EMAIL]
    assert "1 alert(s) opened" in opened.subject
    assert "alpha" in opened.body and "5 webhook signature failures" in opened.body and "beta" not in opened.body

    assert alerts_notify() == {"opened": [], "cleared": []}, "still open: not mailed again"
    assert len(mail.outbox) == 1

    with tenant_context(tenants["alpha"]):
        from tenant_apps.payments.models import WebhookEvent

        WebhookEvent.objects.all().delete()
    connection.set_schema_to_public()
    assert alerts_notify() == {"opened": [], "cleared": ["alpha:webhooks"]}
    assert len(mail.outbox) == 2 and "1 alert(s) cleared" in mail.outbox[1].subject
