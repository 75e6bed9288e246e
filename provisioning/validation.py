"""Checks on provisioning input, all before anything is written. Every problem is reported at once."""
from __future__ import annotations

import re
import zoneinfo
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower
from django_tenants.utils import schema_exists

from provisioning.errors import ProvisioningInputError
from tenant_apps.brokerage.jurisdictions import PRESETS as JURISDICTIONS
from themes.presets import PRESETS as THEMES

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
SLUG_MIN, SLUG_MAX = 3, 40
NAME_MAX = 120
HOST_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

# Names that are platform hosts, infrastructure or PostgreSQL's own; never a brokerage's slug.
RESERVED_SLUGS = frozenset({
    "public", "www", "api", "admin", "static", "media", "platform", "console", "operator", "operators",
    "template", "brokeros", "mail", "smtp", "imap", "pop", "ftp", "app", "apps", "status", "help", "support",
    "docs", "auth", "login", "logout", "signup", "billing", "root", "default", "test", "localhost", "dashboard",
    "portal", "partners", "backoffice", "health", "healthz", "metrics", "cdn", "assets", "ns1", "ns2",
    "information-schema", "postgres", "pg", "system", "internal", "demo-template",
})
RESERVED_PREFIXES = ("pg-", "spare-", "brokeros-", "xn--")


@lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    """IANA zone names; reading them walks the tzdata tree (~15 ms), so once per process."""
    return frozenset(zoneinfo.available_timezones())


@dataclass
class ProvisioningInput:
    name: str
    slug: str
    admin_email: str
    jurisdiction: str = "fsa_sc"
    theme_preset: str = "ocean"
    timezone: str = "UTC"
    language: str = "en"
    custom_domains: list[str] = field(default_factory=list)
    legal_entity_name: str = ""
    support_email: str = ""

    @property
    def schema_name(self) -> str:
        return self.slug.replace("-", "_")

    @property
    def primary_domain(self) -> str:
        return f"{self.slug}.{settings.PLATFORM_DOMAIN}"

    def as_params(self) -> dict:
        return asdict(self)


def validate_hostname(host: str) -> str | None:
    """Returns an error message, or None if `host` is a valid DNS host name (RFC 1123)."""
    if len(host) > 253:
        return f"'{host[:40]}…' is longer than 253 characters."
    labels = host.split(".")
    if len(labels) < 2:
        return f"'{host}' is not a full domain name (like portal.example.com)."
    for label in labels:
        if not HOST_LABEL_RE.match(label):
            return f"'{host}' is not a valid domain name: label '{label}' may hold only a-z, 0-9 and inner hyphens, 1-63 characters."
    if labels[-1].isdigit():
        return f"'{host}' is an address, not a domain name."
    return None


def provisioning_input_validate(*, name: str, slug: str, admin_email: str, jurisdiction: str = "fsa_sc",
                                theme_preset: str = "ocean", timezone: str = "UTC", language: str = "en",
                                custom_domains: list[str] | tuple[str, ...] = (), legal_entity_name: str = "",
                                support_email: str = "", require_admin: bool = True) -> ProvisioningInput:
    """All checks on provisioning input. `require_admin=False` for restores, which bring their own users."""
    from tenancy.models import Brokerage, Domain

    errors: dict[str, list[str]] = {}

    def err(field_name: str, message: str) -> None:
        errors.setdefault(field_name, []).append(message)

    name = (name or "").strip()
    slug = (slug or "").strip()
    admin_email = (admin_email or "").strip().lower()
    if not name:
        err("name", "A brokerage name is required.")
    elif len(name) > NAME_MAX:
        err("name", f"The name is {len(name)} characters long; at most {NAME_MAX} are allowed.")
    elif any(ord(c) < 32 for c in name):
        err("name", "The name contains control characters.")

    if not slug:
        err("slug", "A slug is required (it becomes the portal address <slug>." + settings.PLATFORM_DOMAIN + ").")
    elif len(slug) > SLUG_MAX:
        err("slug", f"The slug is {len(slug)} characters long; at most {SLUG_MAX} are allowed.")
    elif len(slug) < SLUG_MIN:
        err("slug", f"The slug must be at least {SLUG_MIN} characters long.")
    elif slug != slug.lower() or not SLUG_RE.match(slug):
        err("slug", "Use lowercase letters, digits and hyphens only, starting with a letter and not ending with a hyphen.")
    elif "--" in slug:
        err("slug", "The slug may not contain two hyphens in a row.")
    elif slug in RESERVED_SLUGS or slug.startswith(RESERVED_PREFIXES):
        err("slug", f"'{slug}' is reserved by the platform; choose another slug.")

    else:
        schema = slug.replace("-", "_")
        if (Brokerage.objects.annotate(lslug=Lower("slug")).filter(lslug=slug).exists()
                or Brokerage.objects.filter(schema_name=schema).exists()):
            err("slug", f"A brokerage with the slug '{slug}' already exists.")
        elif schema_exists(schema):
            err("slug", f"A database schema named '{schema}' already exists; choose another slug.")
        elif Domain.objects.filter(domain=f"{slug}.{settings.PLATFORM_DOMAIN}").exists():
            err("slug", f"The domain {slug}.{settings.PLATFORM_DOMAIN} is already in use.")

    try:
        if require_admin or admin_email:
            validate_email(admin_email)
    except ValidationError:
        err("admin_email", f"'{admin_email}' is not a valid e-mail address." if admin_email else
            "The first Super Admin's e-mail address is required.")
    if support_email:
        try:
            validate_email(support_email)
        except ValidationError:
            err("support_email", f"'{support_email}' is not a valid e-mail address.")

    if jurisdiction not in JURISDICTIONS:
        err("jurisdiction", f"Unknown jurisdiction '{jurisdiction}'. Choose one of: {', '.join(JURISDICTIONS)}.")
    if theme_preset not in THEMES:
        err("theme_preset", f"Unknown theme preset '{theme_preset}'. Choose one of: {', '.join(THEMES)}.")
    if timezone not in known_timezones():
        err("timezone", f"Unknown time zone '{timezone}' (use an IANA name such as Europe/London).")
    if language not in dict(settings.LANGUAGES):
        err("language", f"Unsupported language '{language}'. Choose one of: {', '.join(dict(settings.LANGUAGES))}.")
    if len(legal_entity_name or "") > 200:
        err("legal_entity_name", "The legal entity name is longer than 200 characters.")

    domains: list[str] = []
    platform = settings.PLATFORM_DOMAIN
    for raw in custom_domains or ():
        host = (raw or "").strip().lower().rstrip(".")
        if not host:
            continue
        problem = validate_hostname(host)
        if problem:
            err("custom_domains", problem)
        elif host == platform or host.endswith("." + platform):
            err("custom_domains", f"'{host}' is under the platform domain; custom domains must be the broker's own.")
        elif host in domains:
            err("custom_domains", f"'{host}' is listed twice.")
        elif Domain.objects.filter(domain=host).exists():
            err("custom_domains", f"The domain '{host}' is already used by another brokerage.")
        else:
            domains.append(host)

    if errors:
        raise ProvisioningInputError(errors)
    return ProvisioningInput(
        name=name, slug=slug, admin_email=admin_email, jurisdiction=jurisdiction, theme_preset=theme_preset,
        timezone=timezone, language=language, custom_domains=domains,
        legal_entity_name=(legal_entity_name or "").strip(), support_email=(support_email or "").strip().lower(),
    )
