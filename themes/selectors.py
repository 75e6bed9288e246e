"""Reading the branding of the current context (a brokerage, or the platform itself), cached per tenant."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from django.core.cache import cache
from django.db import connection
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name, schema_context

from themes.presets import FONT_STACKS, PLATFORM_PRESET

CACHE_KEY = "theme:v1"  # the cache key function prefixes the schema name

# WCAG 2.2 AA for UI components and large text (1.4.11, 1.4.3): 3:1.
MIN_CONTRAST = 3.0
WHITE = "#ffffff"
NEAR_BLACK = "#111111"
PAGE_BACKGROUND = WHITE  # Bootstrap's light body and cards


@dataclass(frozen=True)
class ResolvedTheme:
    portal_name: str
    primary: str
    accent: str
    font_stack: str
    dark_header: bool
    version: int
    has_logo: bool
    has_favicon: bool
    support_email: str
    support_phone: str
    legal_footer: str
    is_platform: bool

    @property
    def primary_rgb(self) -> str:
        return _rgb(self.primary)

    @property
    def accent_rgb(self) -> str:
        return _rgb(self.accent)

    @property
    def on_primary(self) -> str:
        """Text colour readable on the primary colour (WCAG relative luminance)."""
        return text_colour_on(self.primary)

    @property
    def on_accent(self) -> str:
        return text_colour_on(self.accent)

    @property
    def primary_hover(self) -> str:
        """Links on hover: the primary a shade darker (never lighter, so never less readable on white)."""
        return _darken(self.primary, 0.2)

    @property
    def primary_hover_rgb(self) -> str:
        return _rgb(self.primary_hover)


def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return ", ".join(str(int(h[i:i + 2], 16)) for i in (0, 2, 4))


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _darken(hex_colour: str, amount: float) -> str:
    h = hex_colour.lstrip("#")
    return "#" + "".join(f"{round(int(h[i:i + 2], 16) * (1 - amount)):02x}" for i in (0, 2, 4))


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour_on(background: str) -> str:
    """White or near-black, whichever reads better on the background."""
    return WHITE if contrast_ratio(background, WHITE) >= contrast_ratio(background, NEAR_BLACK) else NEAR_BLACK


@dataclass(frozen=True)
class ContrastCheck:
    """One place a brand colour meets another colour on screen, and whether it is readable there."""

    field: str  # "primary_colour" or "accent_colour"
    where: str
    foreground: str
    background: str
    ratio: float

    @property
    def passes(self) -> bool:
        return self.ratio >= MIN_CONTRAST

    @property
    def ratio_label(self) -> str:
        # Rounded down, so 2.96 never shows as a passing-looking "3.0:1".
        return f"{math.floor(self.ratio * 10) / 10:.1f}:1"


# Where the stylesheet (brand.css, theme.css) puts each brand colour. The primary is both a background
# (buttons, the coloured header) and a foreground on the white page (links, outline buttons, the light
# header's text), so it needs both checks; the accent is only a background behind text (brand mark,
# accent buttons) and a decorative bar. Text on a colour is white or near-black, whichever reads better.
_USES = {
    "primary_colour": ("text_on", "on_page"),
    "accent_colour": ("text_on",),
}
_WHERE = {
    ("primary_colour", "text_on"): _("Text on primary buttons and the coloured header"),
    ("primary_colour", "on_page"): _("Links and outline buttons on the white page"),
    ("accent_colour", "text_on"): _("Text on the brand mark and accent buttons"),
}


def colour_contrast_checks(*, field: str, colour: str) -> list[ContrastCheck]:
    """Every check one brand colour (already a valid #rrggbb) must pass; see _USES for why these."""
    checks = []
    for use in _USES[field]:
        if use == "text_on":
            foreground, background = text_colour_on(colour), colour
        else:
            foreground, background = colour, PAGE_BACKGROUND
        checks.append(ContrastCheck(field=field, where=_WHERE[(field, use)], foreground=foreground,
                                    background=background, ratio=contrast_ratio(foreground, background)))
    return checks


PLATFORM_THEME = ResolvedTheme(
    portal_name="BrokerOS", primary=PLATFORM_PRESET.primary, accent=PLATFORM_PRESET.accent,
    font_stack=FONT_STACKS[PLATFORM_PRESET.font][1], dark_header=True, version=1, has_logo=False,
    has_favicon=False, support_email="", support_phone="", legal_footer="", is_platform=True,
)


def theme_current() -> ResolvedTheme:
    """The theme of the schema the connection is on. One cache read on the hot path."""
    if connection.schema_name == get_public_schema_name():
        return PLATFORM_THEME
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        return ResolvedTheme(**cached)
    from themes.models import Theme

    row = Theme.objects.order_by("id").first()
    if row is None:
        # A brokerage mid-provisioning has no theme yet: neutral, never another tenant's.
        resolved = ResolvedTheme(**{**asdict(PLATFORM_THEME), "portal_name": getattr(connection.tenant, "name", ""),
                                    "is_platform": False})
    else:
        resolved = ResolvedTheme(
            portal_name=row.portal_name, primary=row.primary_colour, accent=row.accent_colour,
            font_stack=FONT_STACKS.get(row.font, FONT_STACKS["system"])[1], dark_header=row.dark_header,
            version=row.version, has_logo=bool(row.logo), has_favicon=bool(row.favicon),
            support_email=row.support_email, support_phone=row.support_phone, legal_footer=row.legal_footer,
            is_platform=False,
        )
        cache.set(CACHE_KEY, asdict(resolved), 3600)
    return resolved


def theme_invalidate(*, schema_name: str | None = None) -> None:
    """Drop the cached theme of the current schema, or of schema_name (on-commit callbacks bind it, so a
    commit that lands after the connection moved to another schema still clears the right tenant's key)."""
    if schema_name is None or schema_name == connection.schema_name:
        cache.delete(CACHE_KEY)
        return
    with schema_context(schema_name):
        cache.delete(CACHE_KEY)


def branding_can_edit(user) -> bool:
    """Only the brokerage's Super Admin changes its branding (the view and the services both ask this)."""
    from tenant_apps.identity.models import UserKind
    from tenant_apps.identity.permissions import has_perm

    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.kind == UserKind.STAFF
                and has_perm(user, "branding", "edit"))
