"""The Trader's Room as an installable app (issue 9, item 5): each brokerage's manifest carries only its own name and
colours, its icons are real PNGs of the declared sizes drawn from its own logo (or its monogram), and every portal
page links them."""
from __future__ import annotations

import json
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context
from PIL import Image

from tests.conftest import host_of


def _theme(brokerage):
    from themes.selectors import theme_current

    with tenant_context(brokerage):
        theme = theme_current()
    connection.set_schema_to_public()
    return theme


def _get(brokerage, path: str):
    return Client(HTTP_HOST=host_of(brokerage)).get(path)


def _png(response, size: int) -> Image.Image:
    assert response.status_code == 200 and response["Content-Type"] == "image/png", response.status_code
    image = Image.open(BytesIO(response.content))
    image.verify()
    image = Image.open(BytesIO(response.content))
    assert image.format == "PNG" and image.size == (size, size)
    return image.convert("RGB")


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))


def test_each_brokerages_manifest_carries_only_its_own_name_and_colours(db, tenants):
    for slug, other in (("alpha", "beta"), ("beta", "alpha")):
        theme, others = _theme(tenants[slug]), _theme(tenants[other])
        response = _get(tenants[slug], "/manifest.webmanifest")
        assert response.status_code == 200 and response["Content-Type"] == "application/manifest+json"
        manifest = json.loads(response.content)
        assert manifest["name"] == theme.portal_name and manifest["short_name"] in theme.portal_name
        assert manifest["theme_color"] == theme.primary and manifest["start_url"] == "/"
        assert manifest["display"] == "standalone"
        assert [(i["sizes"], i["type"]) for i in manifest["icons"]] == [("192x192", "image/png"),
                                                                       ("512x512", "image/png")]
        raw = response.content.decode()
        assert others.portal_name not in raw and others.primary not in raw, (slug, raw)


def test_the_declared_icons_are_png_of_their_sizes_in_the_brokerages_colour_when_it_has_no_logo(db, tenants):
    for slug in ("alpha", "beta"):
        theme = _theme(tenants[slug])
        manifest = json.loads(_get(tenants[slug], "/manifest.webmanifest").content)
        for icon in manifest["icons"]:
            size = int(icon["sizes"].split("x")[0])
            image = _png(_get(tenants[slug], icon["src"]), size)
            assert image.getpixel((2, 2)) == _rgb(theme.primary)  # the monogram's background
            assert _rgb(theme.on_primary) in {c for _, c in image.getcolors(size * size)}  # its letter
        _png(_get(tenants[slug], "/pwa/icon-180.png"), 180)  # apple-touch-icon


def test_icons_of_a_brokerage_with_a_logo_are_drawn_from_that_logo(db, tenants, django_capture_on_commit_callbacks):
    from tenant_apps.identity.models import User
    from themes.services import theme_clear_image, theme_set_image

    logo = BytesIO()
    Image.new("RGB", (300, 120), (200, 30, 40)).save(logo, format="PNG")
    with tenant_context(tenants["beta"]):
        admin = User.objects.get(email="admin@beta.test")
        with django_capture_on_commit_callbacks(execute=True):
            theme_set_image(actor=admin, kind="logo", uploaded=SimpleUploadedFile("logo.png", logo.getvalue(),
                                                                                  content_type="image/png"))
    connection.set_schema_to_public()
    try:
        for size in (192, 512):
            image = _png(_get(tenants["beta"], f"/pwa/icon-{size}.png?v={_theme(tenants['beta']).version}"), size)
            assert image.getpixel((size // 2, size // 2)) == (200, 30, 40)  # the logo, centred
            assert image.getpixel((1, 1)) == (255, 255, 255)  # on a plain square with a margin
        # alpha (no logo) still shows its own monogram, never beta's logo
        alpha = _png(_get(tenants["alpha"], "/pwa/icon-192.png"), 192)
        assert alpha.getpixel((1, 1)) == _rgb(_theme(tenants["alpha"]).primary)
    finally:
        with tenant_context(tenants["beta"]):
            with django_capture_on_commit_callbacks(execute=True):
                theme_clear_image(actor=admin, kind="logo")
        connection.set_schema_to_public()


@pytest.mark.parametrize("path", ["/pwa/icon-100.png", "/pwa/icon-0.png", "/pwa/icon-99999999.png"])
def test_an_icon_size_not_declared_is_not_found(db, tenants, path):
    assert _get(tenants["alpha"], path).status_code == 404


def test_the_platform_host_serves_no_brokerage_manifest(db, tenants, platform_client):
    assert platform_client.get("/manifest.webmanifest").status_code == 404


def test_portal_pages_link_the_manifest_the_theme_colour_and_the_home_screen_icon(db, tenants):
    for slug in ("alpha", "beta"):
        theme = _theme(tenants[slug])
        for path in ("/", "/accounts/login/"):
            html = _get(tenants[slug], path).content.decode()
            assert '<link rel="manifest" href="/manifest.webmanifest">' in html, path
            assert f'<meta name="theme-color" content="{theme.primary}">' in html, path
            assert f'<link rel="apple-touch-icon" href="/pwa/icon-180.png?v={theme.version}">' in html, path
