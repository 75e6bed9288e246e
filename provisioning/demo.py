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
        out.append(brokerage)
    connection.set_schema_to_public()
    return out


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
            lines.append("      two-factor code for staff who need it: "
                         f".venv/bin/python manage.py demo_totp {staff_email(b.slug, 'super_admin')}")
    lines.append("  Ctrl-C stops web, worker and scheduler.")
    return "\n".join(lines)
