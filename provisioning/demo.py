"""Demo brokerages for `make run`: two tenants with different branding and jurisdictions, staff for every
role and a realistic set of clients. Idempotent: running it again changes nothing."""
from __future__ import annotations

import random
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from provisioning.services import provision_brokerage
from tenancy.models import Brokerage

DEMO_PASSWORD = "demo-pass-2026"
OPERATOR_EMAIL = "ops@brokeros.local"
OPERATOR_PASSWORD = "operator-demo-2026"


@dataclass(frozen=True)
class DemoBrokerage:
    name: str
    slug: str
    jurisdiction: str
    theme: str
    timezone: str
    language: str
    legal_entity: str
    clients: int


DEMO_BROKERAGES = [
    DemoBrokerage("Acme Markets", "acme", "cysec", "midnight", "Asia/Nicosia", "en", "Acme Markets (Cyprus) Ltd", 24),
    DemoBrokerage("Orbit FX", "orbit", "fsa_sc", "emerald", "Asia/Dubai", "en", "Orbit Global Markets Ltd", 37),
]
STAFF_ROLES = ["super_admin", "manager", "sales", "support", "compliance", "finance"]

FIRST = ["Maria", "James", "Sofia", "Omar", "Lucas", "Aisha", "Daniel", "Elena", "Yusuf", "Chloe", "Mateo", "Layla",
         "Noah", "Hana", "Ivan", "Fatima", "Leo", "Amira", "Carlos", "Nora", "Hugo", "Zara", "Tomas", "Mei"]
LAST = ["Garcia", "Smith", "Rossi", "Haddad", "Müller", "Khan", "Novak", "Silva", "Petrov", "Dubois", "Nakamura",
        "Mansour", "Kowalski", "Lopez", "Ahmed", "Jensen", "Costa", "Ibrahim", "Fischer", "Moreau"]


def staff_email(slug: str, role: str) -> str:
    return f"{role.replace('_', '')}@{slug}.demo"


def demo_totp_secret(email: str) -> str:
    """A fixed TOTP secret per demo staff login (demo data only), so `demo_totp` can print the current code."""
    import base64
    import hashlib

    return base64.b32encode(hashlib.sha1(f"brokeros-demo-totp:{email}".encode()).digest()).decode()


def demo_totp_code(email: str) -> str:
    import time

    from allauth.mfa import app_settings as mfa_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(demo_totp_secret(email), int(time.time()) // mfa_settings.TOTP_PERIOD))


def _enrol_demo_mfa(user) -> None:
    """Demo staff who must use two-factor start enrolled with a known secret (see `manage.py demo_totp`)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    from tenant_apps.identity.policies import mfa_required

    if mfa_required(user) and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, demo_totp_secret(user.email))


def seed_demo(*, stdout=None) -> list[Brokerage]:
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.identity.services import staff_user_create

    out = []
    for spec in DEMO_BROKERAGES:
        connection.set_schema_to_public()
        brokerage = Brokerage.objects.filter(slug=spec.slug).first()
        if brokerage is None:
            job = provision_brokerage(
                name=spec.name, slug=spec.slug, admin_email=staff_email(spec.slug, "super_admin"),
                admin_password=DEMO_PASSWORD, jurisdiction=spec.jurisdiction, theme_preset=spec.theme,
                timezone_name=spec.timezone, language=spec.language, legal_entity_name=spec.legal_entity,
                source="demo",
            )
            if job.status != "succeeded":
                raise RuntimeError(f"demo provisioning of {spec.slug} failed: {job.error}")
            brokerage = job.brokerage
            if stdout:
                stdout.write(f"provisioned {spec.name} ({job.method}, {job.duration_ms} ms)")
        with tenant_context(brokerage):
            for role in STAFF_ROLES[1:]:
                if not User.objects.filter(email=staff_email(spec.slug, role)).exists():
                    staff_user_create(email=staff_email(spec.slug, role), full_name=f"{role.title()} Demo",
                                      password=DEMO_PASSWORD, role_codes=[role])
            for user in User.objects.filter(kind=UserKind.STAFF, email__endswith=f"@{spec.slug}.demo"):
                _enrol_demo_mfa(user)
            rng = random.Random(spec.slug)
            existing = User.objects.filter(kind=UserKind.CLIENT).count()
            for i in range(existing, spec.clients):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                user = User(email=f"{first.lower()}.{last.lower().replace('ü', 'u')}{i}@example.com",
                            full_name=f"{first} {last}", kind=UserKind.CLIENT, language=rng.choice(["en", "es", "ar"]))
                user.set_unusable_password()
                user.save()
            seed_demo_bank_wires(finance=User.objects.get(email=staff_email(spec.slug, "finance")),
                                 beneficiary=spec.legal_entity, rng=rng)
            seed_demo_payment_methods(manager=User.objects.get(email=staff_email(spec.slug, "manager")))
            seed_demo_notifications(finance=User.objects.get(email=staff_email(spec.slug, "finance")))
            seed_demo_partners(slug=spec.slug, sales=User.objects.get(email=staff_email(spec.slug, "sales")),
                               manager=User.objects.get(email=staff_email(spec.slug, "manager")))
            seed_demo_commissions(slug=spec.slug, manager=User.objects.get(email=staff_email(spec.slug, "manager")),
                                  finance=User.objects.get(email=staff_email(spec.slug, "finance")))
            seed_demo_materials(slug=spec.slug, manager=User.objects.get(email=staff_email(spec.slug, "manager")))
            seed_demo_queues(slug=spec.slug, rng=rng)  # work queues: items waiting, some claimed/assigned
            seed_demo_support(support=User.objects.get(email=staff_email(spec.slug, "support")))  # tickets + help
            with _demo_trading_sim(stdout):
                seed_demo_trading_transfer(slug=spec.slug, finance=User.objects.get(email=staff_email(spec.slug,
                                                                                                      "finance")))
            seed_demo_trader_dashboard(slug=spec.slug, finance=User.objects.get(email=staff_email(spec.slug,
                                                                                                  "finance")))
            seed_demo_crm(slug=spec.slug, timezone_name=spec.timezone, rng=rng)  # pipeline, tasks, notes, calls
            seed_demo_automation(manager=User.objects.get(email=staff_email(spec.slug, "manager")))  # rules, segments
            seed_demo_reports(finance=User.objects.get(email=staff_email(spec.slug, "finance")),
                              manager=User.objects.get(email=staff_email(spec.slug, "manager")))  # saved reports
        out.append(brokerage)
    connection.set_schema_to_public()
    return out


def seed_demo_support(*, support) -> None:
    """Help articles (en, with es/ar for the most asked) and a handful of tickets in every state, with replies,
    an internal note, an SLA already breached and one unverified e-mail. Skipped when the desk has tickets."""
    from datetime import timedelta

    from django.utils import timezone

    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.support import services
    from tenant_apps.support.kb_seed import articles_seed
    from tenant_apps.support.models import Ticket, TicketSource

    articles_seed(staff=support)
    clients = list(User.objects.filter(kind=UserKind.CLIENT).order_by("pk")[:5])
    if Ticket.objects.exists() or len(clients) < 5:
        return
    a, b, c, d, e = clients
    waiting = services.ticket_open(client=a, category="withdrawal", subject="Withdrawal pending for 3 days",
                                   body="I asked for 250 USD on Monday and it still says pending.")
    services.staff_reply(ticket=waiting, staff=support, internal=True,
                         body="Finance says the card was used for a chargeback last year: payout by bank only.")
    services.staff_reply(ticket=waiting, staff=support, body="Your withdrawal can be sent by bank transfer only. "
                         "Please add your IBAN on the withdrawal page and we will send it today.")
    urgent = services.ticket_open(client=b, category="deposit", severity="urgent", subject="Deposit charged twice",
                                  body="My card was charged twice for the same 500 USD deposit.")
    Ticket.objects.filter(pk=urgent.pk).update(created_at=timezone.now() - timedelta(hours=5),
                                               sla_due_at=timezone.now() - timedelta(hours=3))  # SLA breached
    solved = services.ticket_open(client=c, category="verification", subject="Which proof of address?",
                                  body="Is a mobile phone bill accepted?")
    services.staff_reply(ticket=solved, staff=support, status="resolved",
                         body="Yes, if it shows your name and address and is less than 3 months old.")
    mine = services.ticket_open(client=d, category="technical", subject="Cannot log in to MT5", body="Invalid account.")
    services.ticket_assign(ticket=mine, staff=support, assignee=support)
    services.ticket_transition(ticket=mine, to="open", actor=support, reason="investigating")
    done = services.ticket_open(client=e, category="account", subject="Change my e-mail", body="New address please.")
    services.staff_reply(ticket=done, staff=support, body="Done: your new address is confirmed.")
    services.ticket_transition(ticket=done, to="closed", actor=support)
    services.ticket_open(client=None, from_email="prospect@example.org", source=TicketSource.EMAIL,
                         subject="Do you accept clients from Canada?", body="Hello, I would like to open an account.")


DEMO_IBANS = ["CY17002001280000001200527600", "SC18SSCB11010000000000001497USD"]


def seed_demo_bank_wires(*, finance, beneficiary: str, rng: random.Random) -> None:
    """A bank wire connection and method, two clients' wire deposits waiting for money, and three wires in
    Finance's queue (/backoffice/money/wires/): no reference, a payer-name difference, an amount difference."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from tenant_apps.brokerage.models import LegalEntity, PaymentProviderConfig
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.payments.adapters.bank_wire import wire_reference_new
    from tenant_apps.payments.models import Deposit, IncomingWire, MoneyEvent, PaymentMethod
    from tenant_apps.payments.services.wires import wire_enter

    if IncomingWire.objects.exists():
        return
    iban = DEMO_IBANS[sum(map(ord, beneficiary)) % len(DEMO_IBANS)]
    provider, _ = PaymentProviderConfig.objects.get_or_create(code="bank-wire", defaults={
        "kind": "bank_wire", "display_name": "Bank transfer", "currencies": ["EUR", "USD"],
        "legal_entity": LegalEntity.objects.order_by("-is_default", "pk").first(),
        "settings": {"beneficiary": beneficiary, "iban": iban, "bic": "BCYPCY2N", "bank_name": "Bank of Cyprus",
                     "processing_days": 2,
                     "accounts": {"USD": {"iban": "GB33BUKB20201555555555", "bic": "BUKBGB22",
                                          "bank_name": "Barclays (USD correspondent)"}}}})
    method, _ = PaymentMethod.objects.get_or_create(code="bank-wire", defaults={
        "display_name": "Bank transfer", "provider": provider, "currencies": ["EUR", "USD"], "direction": "deposit",
        "min_amount": Decimal("100"), "processing_time": "1–3 business days", "processing_minutes": 2 * 24 * 60})
    clients = list(User.objects.filter(kind=UserKind.CLIENT).order_by("pk")[:2])
    if len(clients) < 2:
        return
    waiting = []
    for client, amount in zip(clients, (Decimal("2500.00"), Decimal("1200.00")), strict=True):
        reference = wire_reference_new()
        deposit = Deposit.objects.create(client=client, method=method, provider_code=provider.code, reference=reference,
                                         provider_payment_id=reference, amount=amount, currency="EUR",
                                         status="pending_psp", created_at=timezone.now() - timedelta(days=2))
        MoneyEvent.objects.create(deposit=deposit, to_status="pending_psp", source="client", actor=client,
                                  client_text="Awaiting your bank transfer")
        waiting.append(deposit)
    today = timezone.localdate()
    for i, (amount, payer, details) in enumerate((
            (Decimal("750.00"), f"{rng.choice(FIRST).upper()} {rng.choice(LAST).upper()}", "TOP UP MY ACCOUNT"),
            (waiting[0].amount, "NORTHWIND HOLDINGS LTD", f"{waiting[0].reference} deposit"),
            (Decimal("1185.00"), waiting[1].client.full_name.upper(), waiting[1].reference.lower().replace("-", " ")))):
        wire_enter(actor=finance, provider_code=provider.code, value_date=today - timedelta(days=i),
                   amount=amount, currency="EUR", payer_name=payer, payer_account="DE89370400440532013000",
                   bank_reference=details, bank_transaction_id=f"DEMO-{i + 1}")


def seed_demo_payment_methods(*, manager) -> None:
    """Method rules to look at (/backoffice/money/methods/): an e-wallet for verified, not high-risk clients of the
    brokerage's entity in a few countries, fastest after cards. Made through the editor's service (audited); a
    second run adds nothing."""
    from tenant_apps.brokerage.models import LegalEntity, PaymentProviderConfig
    from tenant_apps.payments.models import PaymentMethod
    from tenant_apps.payments.services.methods import payment_method_save

    sandbox = PaymentProviderConfig.objects.filter(kind=PaymentProviderConfig.Kind.SANDBOX).first()
    if sandbox is None or PaymentMethod.objects.filter(code="e-wallet").exists():
        return
    entity = LegalEntity.objects.order_by("-is_default", "pk").first()
    payment_method_save(actor=manager, data={
        "code": "e-wallet", "display_name": "E-wallet", "provider": str(sandbox.pk), "direction": "both",
        "countries": "CY, GR, DE, ES, SC, AE, ZA", "currencies": "USD, EUR", "kyc_states": ["approved"],
        "risk_levels": ["low", "medium"], "legal_entities": [str(entity.pk)] if entity else [],
        "min_amount": "20", "max_amount": "10000", "fee_percent": "1.5", "fee_fixed": "0",
        "processing_time": "Within 1 hour", "processing_minutes": "60", "is_enabled": "on"})


def seed_demo_notifications(*, finance) -> None:
    """What the first clients were told (a credit, a withdrawal on its way, a verified account, their waiting wire
    deposits) and a note in Finance's own list (/backoffice/notifications/). Keyed: a second run adds nothing."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.notifications.money import money_event_notify
    from tenant_apps.notifications.services import notify
    from tenant_apps.payments.models import Deposit

    for deposit in Deposit.objects.filter(status="pending_psp").select_related("client", "method__provider")[:5]:
        money_event_notify(obj=deposit, status="pending_psp")
    for client in User.objects.filter(kind=UserKind.CLIENT).order_by("pk")[:3]:
        notify(client, "kyc.approved", context={}, link="/verify/", dedupe_key="demo:kyc")
        notify(client, "deposit.credited", link="/money/", dedupe_key="demo:deposit",
               context={"reference": "DEP-DEMO1", "amount": Decimal("500.00"), "credited": Decimal("500.00"),
                        "currency": "USD"})
        notify(client, "withdrawal.sent", link="/money/", dedupe_key="demo:withdrawal",
               context={"reference": "WD-DEMO1", "amount": Decimal("120.00"), "currency": "USD",
                        "method": "Bank transfer", "eta": "1–3 business days",
                        "expected_date": timezone.now() + timedelta(days=2)})
    notify(finance, "message", link="/backoffice/money/wires/", dedupe_key="demo:wires",
           context={"title": "Incoming wires wait for matching", "body": "Three bank wires could not be matched to a "
                    "deposit automatically: check the payer names and amounts."})


def seed_demo_partners(*, slug: str, sales, manager) -> None:
    """An IB tree (master IB → IB → sub-IB; partner portal logins ib-master/ib/ib-sub@<slug>.demo, password
    DEMO_PASSWORD), six referred clients from 60 days ago, and one client moved from the IB to the master IB a week
    ago at local midnight (requested by Sales, approved by the Manager, "recalculate")."""
    from datetime import timedelta

    from django.utils import timezone

    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.partners.models import ClientAssignment, Partner
    from tenant_apps.partners.selectors import tenant_zone
    from tenant_apps.partners.services import (
        partner_create,
        reassignment_approve,
        reassignment_request_create,
        referral_link_create,
    )

    if Partner.objects.exists():
        return
    now = timezone.now()
    start = now - timedelta(days=60)
    tree = []
    for code, name in (("master", "Helios Partners"), ("ib", "Piraeus FX Club"), ("sub", "Limassol Traders")):
        email = f"ib-{code}@{slug}.demo".replace("ib-ib@", "ib@")
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, password=DEMO_PASSWORD, kind=UserKind.CLIENT, full_name=name)
        tree.append(partner_create(user=user, actor=manager, code=f"{slug}-{code}", company_name=name,
                                   parent=tree[-1] if tree else None, at=start))
    master, ib, sub = tree
    referral_link_create(partner=ib, actor=manager, campaign="autumn-webinar")
    referral_link_create(partner=master, actor=manager, kind="sub_ib", campaign="recruit")
    clients = list(User.objects.filter(kind=UserKind.CLIENT).exclude(email__endswith=".demo").order_by("id")[:6])
    for i, client in enumerate(clients):
        ClientAssignment.objects.create(client=client, partner=(ib, ib, sub, sub, master, ib)[i],
                                        valid_from=start + timedelta(days=i), source="demo")
    if clients:
        midnight = (now - timedelta(days=7)).astimezone(tenant_zone()).replace(hour=0, minute=0, second=0,
                                                                               microsecond=0, tzinfo=None)
        req = reassignment_request_create(actor=sales, client_id=clients[0].pk, to_partner_id=master.pk,
                                          effective_at=midnight, mode="recalculate", now=now,
                                          reason="Client asked to deal with the master IB directly (e-mail).")
        reassignment_approve(request_id=req.pk, actor=manager, note="Confirmed with the client by phone.", now=now)
    # the IB performance report's benchmarks (flags IBs below them)
    from decimal import Decimal

    from tenant_apps.partners.selectors import policy
    from tenant_apps.partners.services import partner_policy_update

    found = policy()
    partner_policy_update(actor=manager, backdate_limit_days=found.backdate_limit_days,
                          show_client_contacts=found.show_client_contacts, applications_open=found.applications_open,
                          min_activation_rate=Decimal("30"), min_funding_rate=Decimal("50"))


def seed_demo_commissions(*, slug: str, manager, finance) -> None:
    """A commission plan for the demo IB tree ($7/lot FX, $12/lot metals, 10 % revenue share, 10 % override to the
    parent, $0.50/lot to the grandparent), a month and a half of closed deals on the referred clients' (archived,
    so never synced) trading accounts, the previous month accrued and approved, the current month accrued."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from tenant_apps.brokerage.models import AccountType, TradingServerConfig
    from tenant_apps.commissions.engine import period_of
    from tenant_apps.commissions.errors import CommissionsError
    from tenant_apps.commissions.models import CommissionPlan
    from tenant_apps.commissions.services import (
        commission_period_accrue,
        commission_period_approve,
        plan_assign,
        plan_create,
    )
    from tenant_apps.partners.models import ClientAssignment, Partner
    from tenant_apps.trading.models import AccountStatus, Deal, TradingAccount

    partners = list(Partner.objects.filter(code__startswith=f"{slug}-").order_by("id"))
    server = TradingServerConfig.objects.filter(code="mt5-sim").first()
    account_type = AccountType.objects.filter(code="standard").first() or AccountType.objects.first()
    if CommissionPlan.objects.exists() or not partners or server is None or account_type is None:
        return
    now = timezone.now()
    start = now - timedelta(days=60)
    plan = plan_create(actor=manager, name="Standard IB plan", currency="USD", valid_from=start, rules=[
        {"kind": "rebate", "per_lot": "7", "symbol_group": "FX"},
        {"kind": "rebate", "per_lot": "12", "symbols": ["XAUUSD", "XAGUSD"], "symbol_group": "Metals"},
        {"kind": "revenue_share", "percent": "10"},
        {"kind": "override", "level": 1, "percent": "10"},
        {"kind": "override", "level": 2, "per_lot": "0.5"},
    ], terms={"exclude_own_trades": True, "hedged_pairs_once": True})
    for partner in partners:
        plan_assign(actor=manager, partner=partner, plan=plan, valid_from=start)
    rng = random.Random(f"{slug}-commissions")
    deals, ticket = [], 990_000_000
    for index, assignment in enumerate(ClientAssignment.objects.filter(source="demo").order_by("id")):
        account = TradingAccount.objects.create(
            client_id=assignment.client_id, server=server, account_type=account_type, login=990_000 + index,
            currency="USD", leverage=100, platform_group=account_type.platform_group, status=AccountStatus.ARCHIVED,
            status_reason="demo history")
        for _ in range(rng.randint(8, 20)):
            ticket += 1
            at = now - timedelta(days=45) + timedelta(minutes=rng.randint(0, 44 * 24 * 60))
            lots = Decimal(rng.choice(["0.10", "0.25", "0.50", "1.00", "2.00"]))
            deals.append(Deal(server=server, ticket=ticket, login=account.login, time=at,
                              symbol=rng.choice(["EURUSD", "GBPUSD", "USDJPY", "XAUUSD"]), side="buy", action=0,
                              entry=1, volume_lots=lots, price=Decimal("1.1"), profit=Decimal("0"),
                              commission=-(lots * 3).quantize(Decimal("0.01")), swap=Decimal("0"), position_id=ticket))
    Deal.objects.bulk_create(deals)
    current = period_of(now)
    previous = period_of(now.replace(day=1) - timedelta(days=1))
    commission_period_accrue(period=previous, reason="demo")
    commission_period_accrue(period=current, reason="demo")
    try:
        commission_period_approve(period=previous, actor=finance)
    except CommissionsError:  # nothing accrued in the previous month: nothing to approve
        pass


class _DemoSkipped(Exception):
    pass


def seed_demo_materials(*, slug: str, manager) -> None:
    """Marketing materials for the IBs: two banners in the brokerage's colour and a short PDF presentation
    (uploaded through the same service and checks as a manager's upload). Once."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    from tenant_apps.partners.models import MarketingMaterial
    from tenant_apps.partners.services import material_upload
    from themes.selectors import theme_current

    if MarketingMaterial.objects.exists():
        return
    theme = theme_current()
    rgb = tuple(int(theme.primary.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    name = theme.portal_name or slug.title()
    for title, size in (("Leaderboard banner 728×90", (728, 90)), ("Square banner 300×250", (300, 250))):
        image = Image.new("RGBA", size, rgb + (255,))
        draw = ImageDraw.Draw(image)
        draw.rectangle([0, 0, size[0] - 1, size[1] - 1], outline=(255, 255, 255, 160), width=3)
        draw.text((16, size[1] // 2 - 12), f"{name} — trade forex, metals and indices", fill=(255, 255, 255, 255))
        image.putpixel((0, 0), rgb + (254,))  # a touch of transparency keeps the banner a PNG
        out = io.BytesIO()
        image.save(out, "PNG")
        material_upload(actor=manager, title=title, description=f"For websites and social posts ({slug}).",
                        uploaded=SimpleUploadedFile("banner.png", out.getvalue()))
    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", "B", 20)
    doc.cell(text=f"Partner with {name}", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("helvetica", size=12)
    for line in ("Rebates per lot on every closed trade, paid monthly.", "Multi-tier overrides for your sub-IBs.",
                 "Real-time referrals, volume and commissions in your partner portal."):
        doc.cell(text=f"- {line}", new_x="LMARGIN", new_y="NEXT")
    material_upload(actor=manager, title="IB programme presentation", description="Two minutes to pitch us.",
                    uploaded=SimpleUploadedFile("deck.pdf", bytes(doc.output())))


def seed_demo_queues(*, slug: str, rng: random.Random) -> None:
    """The back office's work queues (/backoffice/queues/) with something in them: KYC cases submitted at various
    times (one past its SLA, one breaching soon, the rest fresh), and a few items claimed by or assigned to the
    demo staff. Runs once: a brokerage that already has claims is left alone."""
    from datetime import timedelta

    from django.utils import timezone

    from tenant_apps.compliance.models import KycCase
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.queues import registry, selectors
    from tenant_apps.queues.models import QueueClaim
    from tenant_apps.queues.services import queue_item_assign, queue_item_claim

    if QueueClaim.objects.exists():
        return
    manager = User.objects.get(email=staff_email(slug, "manager"))
    compliance = User.objects.get(email=staff_email(slug, "compliance"))
    now = timezone.now()
    waiting = [timedelta(hours=30), timedelta(minutes=25), timedelta(minutes=12), timedelta(minutes=4),
               timedelta(minutes=2)]
    clients = list(User.objects.filter(kind=UserKind.CLIENT, kyc_case__isnull=True).order_by("pk")[:len(waiting)])
    for client, age in zip(clients, waiting, strict=False):
        KycCase.objects.create(client=client, state="pending_review", submitted_at=now - age,
                               risk_level=rng.choice(["low", "low", "medium", "high"]))
    cases = list(KycCase.objects.filter(state="pending_review").order_by("submitted_at", "pk")
                 .values_list("pk", flat=True)[:3])
    for i, case_id in enumerate(cases):
        if i == 0:
            queue_item_claim(code="kyc", object_id=case_id, actor=compliance)
        elif i == 1:
            queue_item_assign(code="kyc", object_id=case_id, assignee=compliance, actor=manager)
    # whatever waits in the money and IB queues: the oldest item of each is taken by the manager
    for code in ("deposits", "withdrawals", "reassignments"):
        first = selectors.queue_base(registry.get(code), manager).order_by("queue_since").values_list("pk", flat=True)
        if first:
            queue_item_claim(code=code, object_id=first[0], actor=manager)


def _demo_trading_sim(stdout=None):
    """The trading simulator `make run` starts after seeding: if nothing answers on its port yet, run it in this
    process on the same port and snapshot file while seeding, so the demo accounts are there when it starts."""
    import contextlib
    import os
    import socket

    @contextlib.contextmanager
    def running():
        port = int(os.environ.get("TRADING_SIM_PORT", "8443"))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            sim = None  # already running (a second `make run`, or started by hand)
        except OSError:
            from decimal import Decimal

            from tenant_apps.trading.simulator.server import SimConfig, TradingSimulator

            sim = TradingSimulator(SimConfig(
                port=port, manager_login=int(os.environ.get("TRADING_SIM_MANAGER_LOGIN", "1000")),
                manager_password=os.environ.get("TRADING_SIM_MANAGER_PASSWORD", "Manager-2026!"),
                snapshot_path=os.environ.get("TRADING_SIM_SNAPSHOT", ".local/trading_sim.json"),
                auto_create_groups=True, commission_per_lot=Decimal("3.50"))).start()
        try:
            yield
        except Exception as exc:  # the demo runs without it; say so instead of failing `make run`
            if stdout:
                stdout.write(f"demo transfer skipped (trading simulator: {exc})")
        finally:
            if sim is not None:
                sim.store.save(sim.config.snapshot_path)
                sim.stop()

    return running()


def seed_demo_trading_transfer(*, slug: str, finance) -> None:
    """A verified client (trader@<slug>.demo, the demo password) with two live accounts on the trading server, a
    card deposit credited straight into the first, and a completed transfer to the second (/money/transfer/,
    /backoffice/money/transfers/). Through the real services and the simulator; once per brokerage."""
    from decimal import Decimal

    from django.utils import timezone

    from tenant_apps.brokerage.models import AccountType
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.payments.models import Deposit, PaymentMethod, Transfer
    from tenant_apps.payments.services import deposits, trading_transfers
    from tenant_apps.trading.services import trading_account_provision, trading_account_request_live

    email = f"trader@{slug}.demo"
    if Transfer.objects.filter(client__email=email, status="completed", source_trading_account__isnull=False).exists():
        return
    client = User.objects.filter(email=email).first()
    if client is None:
        client = User.objects.create_user(email=email, password=DEMO_PASSWORD, kind=UserKind.CLIENT,
                                          full_name="Dana Trader")
        ClientRecord.objects.create(user=client, country="CY")
        KycCase.objects.create(client=client, state="approved", approved_at=timezone.now())
    standard = AccountType.objects.get(code="standard", is_demo=False)
    accounts = list(client.trading_accounts.filter(is_demo=False).order_by("pk")[:2])
    while len(accounts) < 2:
        accounts.append(trading_account_request_live(client=client, account_type=standard))
    accounts = [trading_account_provision(account_id=a.pk) for a in accounts]
    if any(a.status != "active" for a in accounts):
        raise _DemoSkipped(f"accounts not created on the server: {[a.status_reason for a in accounts]}")
    card = PaymentMethod.objects.get(code="card")
    deposit = Deposit.objects.filter(client=client, target_trading_login=str(accounts[0].login)).first()
    if deposit is None:
        deposit = Deposit.objects.create(client=client, method=card, provider_code=card.provider.code,
                                         reference=f"DEP-DEMO{client.pk}", amount=Decimal("1000.00"),
                                         currency=standard.currency, status="pending_psp",
                                         target_trading_login=str(accounts[0].login),
                                         provider_payment_id=f"pi_demo_{slug}_{client.pk}")
        deposits.deposit_payment_succeeded(provider_code=deposit.provider_code, reference=deposit.reference,
                                           source="demo")
        deposit.refresh_from_db()
        if deposit.status == "under_review":  # a first deposit: Finance approves it
            deposits.deposit_review_decide(deposit=deposit, actor=finance, approve=True, reason="demo")
    into = trading_transfers.deposit_to_trading_account(deposit_id=deposit.pk)  # what the credit's hook did
    trading_transfers.transfer_process(transfer_id=into.pk)
    moved = trading_transfers.transfer_request(client=client, source=accounts[0], destination=accounts[1],
                                               amount=Decimal("250.00"))
    trading_transfers.transfer_process(transfer_id=moved.pk)


def seed_demo_trader_dashboard(*, slug: str, finance) -> None:
    """What makes trader@<slug>.demo's dashboard look lived-in besides the accounts and the transfer above: money in
    the wallet (a card deposit), a withdrawal being reviewed, and notifications of each rank (action required,
    account event, promotion). Through the services; a second run adds nothing. Trade results come from the
    simulator's market and the periodic sync once `make run` is up."""
    from decimal import Decimal

    from tenant_apps.identity.models import User
    from tenant_apps.ledger.errors import LedgerError
    from tenant_apps.notifications.services import notify
    from tenant_apps.payments.errors import PaymentsError
    from tenant_apps.payments.models import Deposit, PaymentMethod
    from tenant_apps.payments.services import deposits, withdrawals

    client = User.objects.filter(email=f"trader@{slug}.demo").first()
    if client is None:
        return
    reference = f"DEP-DASH{client.pk}"
    if not Deposit.objects.filter(reference=reference).exists():
        card = PaymentMethod.objects.get(code="card")
        Deposit.objects.create(client=client, method=card, provider_code=card.provider.code, reference=reference,
                               amount=Decimal("600.00"), currency="USD", status="pending_psp",
                               provider_payment_id=f"pi_dash_{slug}_{client.pk}")
        deposits.deposit_payment_succeeded(provider_code=card.provider.code, reference=reference, source="demo")
        deposit = Deposit.objects.get(reference=reference)
        if deposit.status == "under_review":
            deposits.deposit_review_decide(deposit=deposit, actor=finance, approve=True, reason="demo")
        method = (PaymentMethod.objects.filter(is_enabled=True, direction__in=["withdrawal", "both"],
                                               currencies__contains=["USD"]).order_by("pk").first())
        if method is not None and not client.withdrawals.exists():
            try:
                withdrawals.withdrawal_request(client=client, method=method, amount=Decimal("150.00"), currency="USD",
                                               destination_account="CY17002001280000001200527600")
            except (PaymentsError, LedgerError):
                pass  # the brokerage's rules refuse it: the dashboard shows the rest
    notify(client, "kyc.action_required", dedupe_key="demo:dashboard:poa",
           context={"reason": "Your proof of address is older than 6 months: upload a recent utility bill or bank "
                              "statement."}, link="/verify/")
    notify(client, "message", dedupe_key="demo:dashboard:account", link="/trading/",
           context={"title": "Your second live account is ready", "body": "Transfer money to it from your wallet "
                    "or your first account whenever you like."})
    notify(client, "promotion", dedupe_key="demo:dashboard:webinar",
           context={"title": "Webinar: trading the central bank week", "body": "Thursday 18:00 CET, free for "
                    "clients."})


def seed_demo_crm(*, slug: str, timezone_name: str, rng: random.Random) -> None:
    """The sales desk (/backoffice/clients/pipeline/, /backoffice/clients/tasks/): a Sales team with working hours
    and a default routing rule, a CRM record for every demo client (stage derived from its facts), leads from the
    API and a CSV import in the "lead" column, tasks for the Sales login (some overdue, one from automation) and
    notes, calls and e-mails on clients. Runs once: a brokerage that already has tasks is left alone."""
    from datetime import time, timedelta

    from django.utils import timezone

    from tenant_apps.crm.leads import lead_create
    from tenant_apps.crm.lifecycle import lifecycle_refresh
    from tenant_apps.crm.models import ClientRecord, RoutingRule, Task, TeamWorkingHours
    from tenant_apps.crm.services import client_note_add, task_complete, task_create
    from tenant_apps.identity.models import Team, User, UserKind

    if Task.objects.exists():
        return
    sales, manager = (User.objects.get(email=staff_email(slug, r)) for r in ("sales", "manager"))
    team = sales.team or Team.objects.create(name="Sales Desk")
    if sales.team_id != team.pk:
        sales.team = team
        sales.save(update_fields=["team"])
    TeamWorkingHours.objects.get_or_create(team=team, defaults={"timezone": timezone_name, "weekdays": [0, 1, 2, 3, 4],
                                                                "start": time(8), "end": time(20)})
    if not RoutingRule.objects.filter(is_default=True).exists():
        RoutingRule.objects.create(name="Everyone to the Sales Desk", priority=1000, team=team, is_default=True)
    now = timezone.now()
    countries = ["CY", "GR", "DE", "MX", "CO", "AE", "SA", "GB", "ES", "EG"]
    sources = [("google", "autumn-search"), ("facebook", "webinar"), ("", ""), ("newsletter", "")]
    for user in User.objects.filter(kind=UserKind.CLIENT, client_record__isnull=True).order_by("pk")[:60]:
        source, campaign = rng.choice(sources)
        ClientRecord.objects.create(user=user, owner=sales, team=team, country=rng.choice(countries),
                                    language=user.language, utm_source=source, utm_campaign=campaign,
                                    routed_at=now, routing_reason="Demo data: assigned to the Sales Desk.")
        lifecycle_refresh(client=user, now=now)
    ClientRecord.objects.filter(stage_changed_at__isnull=True).update(stage_changed_at=now)
    for i, (name, country, source, via) in enumerate([
            ("Valentina Ortiz", "MX", "expo-2026", "import"), ("Karim Saleh", "AE", "partner-site", "api"),
            ("Ines Moreau", "FR", "expo-2026", "import"), ("Pedro Alves", "PT", "partner-site", "api"),
            ("Sara Lindqvist", "SE", "", "import"), ("Ahmed Farouk", "EG", "expo-2026", "import")]):
        email = f"{name.split()[0].lower()}.lead{i}@example.com"
        if not User.objects.filter(email=email).exists():
            record = lead_create(data={"email": email, "name": name, "country": country, "source": source},
                                 actor=manager, source=via, now=now - timedelta(days=i * 2))
            ClientRecord.objects.filter(pk=record.pk).update(stage_changed_at=now - timedelta(days=i * 2))
    clients = list(User.objects.filter(kind=UserKind.CLIENT, client_record__owner=sales).order_by("pk")[:8])
    plans = [("Call: welcome and verification", -2), ("Chase proof of address", -1), ("Follow up first deposit", 0),
             ("Offer the webinar", 1), ("Quarterly check-in", 5), ("Call back about leverage", 2)]
    for client, (title, days) in zip(clients, plans, strict=False):
        task_create(client=client, owner=sales, title=title, due_at=now + timedelta(days=days, hours=1),
                    reminder_at=now + timedelta(days=days) if days > 0 else None, created_by=manager)
    if clients:
        task_create(client=clients[-1], owner=sales, title="KYC approved but not funded for 3 days: call",
                    due_at=now - timedelta(hours=5), source="automation:kyc-approved-unfunded")
        done = task_create(client=clients[0], owner=sales, title="Send the account opening pack",
                           due_at=now - timedelta(days=4), created_by=sales)
        task_complete(task=done, actor=sales, now=now - timedelta(days=4))
    notes = [("call", "Reached; wants to trade gold, asked about spreads and swaps.", "reached"),
             ("email", "Sent the verification checklist and the link to upload documents.", "sent"),
             ("note", "Prefers WhatsApp and calls after 18:00 local time.", ""),
             ("call", "No answer, left a voicemail.", "no answer")]
    for client, (kind, body, outcome) in zip(clients[:6], notes * 2, strict=False):
        client_note_add(client=client, author=sales, kind=kind, body=body, outcome=outcome)


def seed_demo_reports(*, finance, manager) -> None:
    """Two saved report-builder reports (tenant_apps/reports): Finance's shared "deposits by country and method
    this month" and the Manager's private "new clients by source per week" for the year so far. Idempotent."""
    from django.utils import timezone

    from tenant_apps.partners.selectors import tenant_zone
    from tenant_apps.reports.models import SavedReport
    from tenant_apps.reports.services import saved_report_save

    today = timezone.now().astimezone(tenant_zone()).date()
    wanted = [
        (finance, "Deposits by country and method (this month)", True,
         {"dataset": "deposits", "dimensions": ["country", "method"], "measures": ["count", "sum_amount", "sum_net"],
          "filters": {"date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat()}}),
        (manager, "New clients by source per week", False,
         {"dataset": "clients", "dimensions": ["week", "source"], "measures": ["count"],
          "filters": {"date_from": today.replace(month=1, day=1).isoformat(), "date_to": today.isoformat()}}),
    ]
    for owner, name, shared, definition in wanted:
        if not SavedReport.objects.filter(owner=owner, name=name).exists():
            saved_report_save(user=owner, name=name, definition=definition, shared=shared)


def demo_logins_text() -> str:
    port = settings.PLATFORM_PORT
    host = settings.PLATFORM_DOMAIN
    lines = [
        "",
        "BrokerOS is running.",
        f"  Operator console   http://{host}:{port}/        {OPERATOR_EMAIL} / {OPERATOR_PASSWORD}",
        f"  Platform API docs  http://{host}:{port}/api/docs/",
    ]
    for b in Brokerage.objects.brokerages().order_by("created_at"):
        lines.append(f"  {b.name:<18} {b.portal_url('/')}  ({b.get_status_display().lower()})")
        if b.slug in {d.slug for d in DEMO_BROKERAGES}:
            lines.append(f"      back office: {b.portal_url('/backoffice/')}")
            lines.append(f"      staff logins (password {DEMO_PASSWORD}): "
                         + ", ".join(staff_email(b.slug, r) for r in STAFF_ROLES))
            lines.append(f"      trader with two live accounts and a transfer: trader@{b.slug}.demo / {DEMO_PASSWORD}")
            lines.append(f"      partner portal {b.portal_url('/partner/')}: ib-master@{b.slug}.demo, ib@{b.slug}.demo, "
                         f"ib-sub@{b.slug}.demo (password {DEMO_PASSWORD})")
            lines.append("      two-factor code for staff who need it: "
                         f".venv/bin/python manage.py demo_totp {staff_email(b.slug, 'super_admin')}")
    lines.append("  Ctrl-C stops web, worker and scheduler.")
    return "\n".join(lines)


def seed_demo_automation(*, manager) -> None:
    """Segments and automation (/backoffice/automation/): the four preset rules enabled, two segments, and a run
    log of three daily evaluations (actions outside the brokerage's working hours show as deferred)."""
    from datetime import timedelta

    from django.utils import timezone

    from tenant_apps.automation.models import AutomationRun, Segment
    from tenant_apps.automation.services import automation_evaluate, preset_enable, segment_save
    from tenant_apps.automation.triggers import PRESETS

    if AutomationRun.objects.exists():
        return
    for preset in PRESETS:
        preset_enable(actor=manager, code=preset.code)
    for name, description, conditions in (
            ("High-value clients", "Deposited at least 5,000 USD in total",
             [{"field": "deposits_total", "op": "gte", "value": {"amount": "5000", "currency": "USD"}}]),
            ("Verified, never funded", "KYC approved, no deposit yet: the first-deposit call list",
             [{"field": "kyc_status", "op": "in", "value": ["approved"]},
              {"field": "deposited", "op": "is", "value": False}])):
        if not Segment.objects.filter(name=name).exists():
            segment_save(actor=manager, name=name, description=description,
                         definition={"match": "all", "conditions": conditions})
    now = timezone.now()
    for days_ago in (2, 1, 0):
        automation_evaluate(now=now - timedelta(days=days_ago))
