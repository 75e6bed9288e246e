"""Fixtures of the payments tests: PSP-style signing, webhook secrets on alpha's and beta's sandbox connections,
the sandbox PSP in-process, and the real web app on a live port so the PSP can call back over HTTP."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import QuietWSGIRequestHandler
from django_tenants.utils import tenant_context

from tenant_apps.brokerage.models import PaymentProviderConfig
from tenant_apps.payments import crypto
from tenant_apps.payments.models import PspCredentials, WebhookEvent
from tenant_apps.payments.sandbox_psp import SandboxPSP

SECRETS = {"alpha": "whsec_alpha_0123456789abcdef0123456789", "beta": "whsec_beta_fedcba9876543210fedcba98765"}


# --- what a PSP sends ---------------------------------------------------------------------------------------

def event_body(*, event_id: str | None = None, event_type: str = "payment_intent.succeeded", amount: int = 1050,
               currency: str = "usd", reference: str = "DEP-0001", payment_id: str | None = None, **extra) -> bytes:
    """A Stripe-shaped event (PROTOCOLS §2), as the raw bytes a PSP would POST."""
    obj = {"id": payment_id or f"pi_{uuid.uuid4().hex[:24]}", "object": "payment_intent", "amount": amount,
           "amount_received": amount if event_type == "payment_intent.succeeded" else 0, "currency": currency,
           "status": "succeeded" if event_type == "payment_intent.succeeded" else "requires_payment_method",
           "metadata": {"reference": reference}, "last_payment_error": None, **extra}
    event = {"id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "api_version": "2025-01-27",
             "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
             "request": {"id": None, "idempotency_key": None}, "type": event_type, "data": {"object": obj}}
    return json.dumps(event).encode()


def v1(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(body: bytes, *signing_secrets: str, timestamp: int | None = None, extra: str = "") -> str:
    """t=…,v1=… with one v1 per secret (what Stripe sends while a rolled secret is still active)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    parts = [f"t={timestamp}"] + [f"v1={v1(body, s, timestamp)}" for s in signing_secrets]
    return ",".join(parts) + (f",{extra}" if extra else "")


@pytest.fixture(autouse=True)
def _fresh_inbox_state(request):
    """No wake-up flag or cached secrets survive from one test to the next (both outlive transactions)."""
    from platform_core.redis import redis_client
    from tenant_apps.payments.services import inbox as inbox_service

    def clear():
        inbox_service._targets.clear()
        keys = [inbox_service._wake_key(schema) for schema in ("alpha", "beta")]
        redis_client().delete(*keys)

    clear()
    yield
    clear()


# --- credentials --------------------------------------------------------------------------------------------

def credentials_write(brokerage, *, webhook_secrets: list[str], api_key: str = "") -> None:
    """Set a sandbox connection's secrets directly (committed tests: the service would leave audit entries
    behind in the append-only trail)."""
    with tenant_context(brokerage):
        provider = PaymentProviderConfig.objects.get(code="sandbox")
        PspCredentials.objects.update_or_create(provider=provider, defaults={
            "api_key_encrypted": crypto.encrypt(api_key) if api_key else "",
            "webhook_secrets_encrypted": crypto.encrypt(json.dumps(webhook_secrets)),
            "webhook_secret_hints": [crypto.secret_hint(s) for s in webhook_secrets],
        })


@pytest.fixture
def webhook_secrets(db, tenants):
    """Alpha's and beta's sandbox connections each with their own secret (inside the test's transaction)."""
    for slug, brokerage in tenants.items():
        credentials_write(brokerage, webhook_secrets=[SECRETS[slug]])
    return SECRETS


@pytest.fixture
def committed_payments(committed_db, tenants):
    """Committed secrets on both brokerages; afterwards every webhook row and credential made is removed."""
    before = {}
    for slug, brokerage in tenants.items():
        with tenant_context(brokerage):
            before[slug] = WebhookEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        credentials_write(brokerage, webhook_secrets=[SECRETS[slug]])
    yield SECRETS
    for slug, brokerage in tenants.items():
        with tenant_context(brokerage):
            WebhookEvent.objects.filter(pk__gt=before[slug]).delete()
            PspCredentials.objects.filter(provider__code="sandbox").delete()


def inbox(brokerage, **filters) -> list[WebhookEvent]:
    with tenant_context(brokerage):
        return list(WebhookEvent.objects.filter(**filters).order_by("received_at", "pk"))


# --- the sandbox PSP and the live web app ------------------------------------------------------------------

@pytest.fixture(scope="session")
def sandbox_psp():
    """The sandbox PSP on a free port, with retries fast enough for a test (50 ms doubling, 4 attempts)."""
    psp = SandboxPSP(port=0, signing_master=secrets.token_hex(16), retry_base_s=0.05, retry_max_s=0.4,
                     max_attempts=4, payout_delay_s=0.05).start()
    yield psp
    psp.stop()


@pytest.fixture
def live_app(committed_db, tenants):
    """The real Django app (every middleware, tenant routing by host) on a free port; returns the port.
    Its request threads use their own database connections, so it only sees committed rows."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietWSGIRequestHandler, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def wait_for(condition, *, timeout_s: float = 10.0, every_s: float = 0.05):
    """Poll until condition() is truthy; returns its value or fails after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(every_s)
