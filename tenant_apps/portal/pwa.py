"""The Trader's Room as an installable web app: the tenant's web app manifest and its home-screen icons.

Everything comes from the current tenant's theme (name, colours, uploaded logo or favicon), so "add to home
screen" shows the broker's own brand and never another tenant's. Icons are PNGs we draw ourselves with Pillow from
the stored (already re-encoded, themes.images) logo — or a monogram in the tenant's colour when there is none —
and cached per tenant and theme version.

No service worker: Chromium offers "Install app" / "Add to home screen" from its menu without one (since Chrome
108 on Android, 112 on desktop), and a worker that intercepts requests is a risk for private, per-client pages.
"""
from __future__ import annotations

from io import BytesIO

from django.core.cache import cache
from PIL import Image, ImageDraw, ImageFont

ICON_SIZES = (192, 512)
APPLE_TOUCH_SIZE = 180
SERVED_SIZES = frozenset({*ICON_SIZES, APPLE_TOUCH_SIZE})
_ICON_CACHE = "pwa:icon:v1:{version}:{size}"  # the cache key function prefixes the schema name


def web_manifest(*, theme, icon_url) -> dict:
    """The manifest (https://www.w3.org/TR/appmanifest/) of the current tenant's portal.
    icon_url(size) gives the URL of one icon."""
    name = theme.portal_name
    return {
        "id": "/",
        "name": name,
        "short_name": name if len(name) <= 12 else name.split()[0][:12],
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": theme.primary,
        "background_color": "#ffffff",
        "icons": [{"src": icon_url(size), "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
                  for size in ICON_SIZES],
    }


def _source_image():
    """The tenant's logo (else favicon) as a Pillow image, or None."""
    from themes.models import Theme

    row = Theme.objects.order_by("id").first()
    for field in (getattr(row, "logo", None), getattr(row, "favicon", None)):
        if not field:
            continue
        try:
            with field.open("rb") as handle:
                img = Image.open(BytesIO(handle.read()), formats=("PNG", "JPEG", "WEBP", "ICO"))
                img.load()
                return img.convert("RGBA")
        except Exception:  # noqa: BLE001 - a missing or unreadable file: fall back to the monogram
            continue
    return None


def _hex_to_rgb(colour: str) -> tuple[int, int, int]:
    h = colour.lstrip("#")
    return tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))


def _monogram(size: int, *, theme) -> Image.Image:
    """The first letter of the portal name on the tenant's primary colour (the same mark the header shows)."""
    img = Image.new("RGB", (size, size), _hex_to_rgb(theme.primary))
    letter = (theme.portal_name.strip()[:1] or "B").upper()
    font = ImageFont.load_default(size=int(size * 0.55))
    draw = ImageDraw.Draw(img)
    draw.text((size / 2, size / 2), letter, fill=_hex_to_rgb(theme.on_primary), font=font, anchor="mm")
    return img


def _from_logo(source: Image.Image, size: int) -> Image.Image:
    """The logo centred on a white square with a safe margin (maskable-safe: 80% of the side)."""
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    logo = source.copy()
    logo.thumbnail((int(size * 0.8), int(size * 0.8)), Image.Resampling.LANCZOS)
    canvas.paste(logo, ((size - logo.width) // 2, (size - logo.height) // 2), logo)
    return canvas


def icon_png(*, theme, size: int) -> bytes:
    """A size×size PNG icon of the current tenant (cached by theme version: a new logo changes the version)."""
    if size not in SERVED_SIZES:
        raise ValueError(f"no icon of size {size}")
    key = _ICON_CACHE.format(version=theme.version, size=size)
    cached = cache.get(key)
    if cached is not None:
        return cached
    source = _source_image() if (theme.has_logo or theme.has_favicon) else None
    img = _from_logo(source, size) if source is not None else _monogram(size, theme=theme)
    out = BytesIO()
    img.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    cache.set(key, data, 86400)
    return data
