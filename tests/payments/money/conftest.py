"""Money workflow tests: a funded-able client, staff for every money role, payment methods on the sandbox PSP
(running in-process), and webhook delivery through the real HTTP endpoint. Everything runs in the per-test
transaction (rolled back), except the race, which uses a scratch brokerage dropped afterwards. After every
test the books of alpha and beta are checked (ledger_integrity_problems() == [])."""
from __future__ import annotations

import json
import urllib.request
import uuid
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, host_of, mfa_enrol
from tests.payments.conftest import credentials_write, signature_header

STAFF_ROLES = ("support", "compliance", "finance", "finance2", "manager")


def control(psp, api_key: str, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(psp.url + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"{}")


def make_client(slug: str, *, email: str | None = None, kyc: str = "approved", country: str = "CY",
                full_name: str = "Maria Garcia"):
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind

    user = User.objects.create_user(email=email or f"trader-{uuid.uuid4().hex[:8]}@{slug}.test", password=PASSWORD,
                                    kind=UserKind.CLIENT, full_name=full_name)
    ClientRecord.objects.create(user=user, country=country)
    KycCase.objects.create(client=user, state=kyc, approved_at=timezone.now() if kyc == "approved" else None)
    return user


def methods_create(*, fee_percent="0"):
    from tenant_apps.brokerage.models import PaymentProviderConfig
    from tenant_apps.payments.models import PaymentMethod

    sandbox = PaymentProviderConfig.objects.get(code="sandbox")
    # provisioning made a card method already: the tests pin its rules
    card, _ = PaymentMethod.objects.update_or_create(code="card", defaults={
        "display_name": "Card", "provider": sandbox, "currencies": ["USD", "EUR"], "min_amount": Decimal("10"),
        "max_amount": Decimal("50000"), "processing_time": "Instant", "processing_minutes": 0,
        "fee_percent": Decimal(fee_percent), "countries": [], "kyc_states": [], "direction": "both"})
    wire = PaymentMethod.objects.create(code="wire", display_name="Bank transfer", provider=sandbox,
                                        currencies=["USD"], min_amount=Decimal("10"), processing_time="1–3 business days",
                                        processing_minutes=3 * 24 * 60, direction="withdrawal")
    return card, wire


@pytest.fixture
def money(db, tenants, settings, sandbox_psp, tenant_client):
    """Per brokerage (alpha, beta): its sandbox connection with a fresh merchant (callbacks held back: the
    test delivers them over HTTP itself), card + wire methods, a verified client, staff of every money role."""
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.payments.services._flow import money_rules

    settings.SANDBOX_PSP_URL = sandbox_psp.url
    made = {}
    for slug, brokerage in tenants.items():
        api_key = f"sk_sandbox_{uuid.uuid4().hex}"
        control(sandbox_psp, api_key, "POST", "/_control/faults", {"drop": True})
        secret = sandbox_psp.webhook_secret(api_key)
        credentials_write(brokerage, api_key=api_key, webhook_secrets=[secret])
        with tenant_context(brokerage):
            rules = money_rules()
            rules.review_first_deposit = False
            rules.save()
            card, wire = methods_create()
            client = make_client(slug)
            staff = {}
            for role in STAFF_ROLES:
                email = f"{role}.money@{slug}.test"
                staff[role] = staff_user_create(email=email, password=PASSWORD, role_codes=[role.rstrip("2")])[0]
        for role in STAFF_ROLES:
            mfa_enrol(brokerage, staff[role].email)
        made[slug] = SimpleNamespace(slug=slug, brokerage=brokerage, api_key=api_key, secret=secret, psp=sandbox_psp,
                                     card=card, wire=wire, client=client, staff=staff,
                                     http=tenant_client(brokerage, client.email),
                                     staff_http=lambda role, b=brokerage, s=staff: tenant_client(b, s[role].email))
    connection.set_schema_to_public()
    return made


def psp_events(ctx, payment_id: str) -> list[dict]:
    return control(ctx.psp, ctx.api_key, "GET", f"/_control/events?payment_id={payment_id}")["events"]


def post_webhook(ctx, body: bytes):
    """Deliver one PSP callback to the brokerage's webhook endpoint over HTTP, signed with its secret."""
    from django.test import Client

    http = Client(HTTP_HOST=host_of(ctx.brokerage))
    return http.post("/webhooks/psp/sandbox/", body, content_type="application/json",
                     HTTP_STRIPE_SIGNATURE=signature_header(body, ctx.secret))


def process_inbox(ctx):
    """What the webhook worker does: process every stored event of the brokerage."""
    from tenant_apps.payments import services

    with tenant_context(ctx.brokerage):
        return services.webhook_inbox_drain(budget_s=60)


def event_bodies(ctx, payment_id: str) -> list[bytes]:
    return [json.dumps(e, separators=(",", ":")).encode() for e in psp_events(ctx, payment_id)]


def deliver_all(ctx, payment_id: str) -> list[bytes]:
    """Every event the PSP made for this payment, delivered in the PSP's order, then processed."""
    bodies = event_bodies(ctx, payment_id)
    for body in bodies:
        assert post_webhook(ctx, body).status_code == 200
    process_inbox(ctx)
    return bodies


def fund(ctx, amount: Decimal, *, currency: str = "USD"):
    """Give the client money in the wallet the way a deposit would (a credited deposit through the services)."""
    from tenant_apps.payments.models import Deposit
    from tenant_apps.payments.services import deposits

    with tenant_context(ctx.brokerage):
        deposit = Deposit.objects.create(client=ctx.client, method=ctx.card, provider_code="sandbox",
                                         reference=f"DEP-F{uuid.uuid4().hex[:8]}", amount=amount, currency=currency,
                                         status="pending_psp", provider_payment_id=f"pi_fund_{uuid.uuid4().hex[:10]}")
        deposits.deposit_payment_succeeded(provider_code="sandbox", reference=deposit.reference)
        deposit.refresh_from_db()
        assert deposit.status == "credited"
        return deposit


@pytest.fixture(autouse=True)
def books_balance(request):
    """After each test: alpha's and beta's ledgers hold every invariant (as commit would check them)."""
    names = set(request.fixturenames)
    if "db" not in names and "committed_db" not in names:
        yield
        return
    request.getfixturevalue("db" if "db" in names else "committed_db")
    tenants = request.getfixturevalue("tenants")
    yield
    from tenant_apps.ledger.selectors import ledger_integrity_problems

    connection.set_schema_to_public()
    if "db" in names:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    problems = {}
    for slug, brokerage in tenants.items():
        with tenant_context(brokerage):
            found = ledger_integrity_problems()
        if found:
            problems[slug] = found
    connection.set_schema_to_public()
    assert not problems, problems
