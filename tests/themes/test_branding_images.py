"""Logo and favicon uploads (OWASP ASVS V5): type by content, size limits, re-encoded, served only by their tenant."""
import random
import re
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import Image, PngImagePlugin

from tests.themes.conftest import ADMIN
from tests.themes.pages import Page, image_bytes, theme_version_linked
from themes.models import Theme


def _theme(brokerage) -> Theme:
    with tenant_context(brokerage):
        return Theme.objects.get()


def _upload(client, kind: str, name: str, data: bytes, content_type: str = "image/png"):
    return client.post(f"/backoffice/branding/image/{kind}/",
                       {"action": "upload", "image": SimpleUploadedFile(name, data, content_type=content_type)})


def _stored_files(brokerage) -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / brokerage.schema_name / "branding"
    return sorted(folder.iterdir()) if folder.exists() else []


def _png_with_a_payload() -> bytes:
    """A real PNG carrying a text chunk and bytes after IEND (a polyglot's hiding places)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-metadata")
    return image_bytes("PNG", size=(300, 100), pnginfo=info) + b"<script>alert(1)</script>"


def test_a_real_png_logo_is_reencoded_and_served_as_png_with_nosniff_only_on_its_own_host(alpha_committed, tenants,
                                                                                           tenant_client):
    alpha, beta = alpha_committed, tenants["beta"]
    before = _theme(alpha)
    admin = tenant_client(alpha, ADMIN)
    uploaded = _png_with_a_payload()

    response = _upload(admin, "logo", "../../../etc/my logo.png", uploaded)

    assert response.status_code == 302, response.content.decode()[:2000]
    theme = _theme(alpha)
    assert theme.version == before.version + 1
    # A name we chose, under alpha's own storage folder; nothing of the browser's file name survives.
    assert re.fullmatch(r"branding/logo-[0-9a-f]{32}\.png", theme.logo.name)
    assert [p.name for p in _stored_files(alpha)] == [Path(theme.logo.name).name]
    assert _stored_files(beta) == []

    served = admin.get(f"/branding/logo?v={theme.version}")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    body = b"".join(served.streaming_content)
    assert body != uploaded
    assert b"secret-metadata" not in body and b"<script>" not in body
    with Image.open(BytesIO(body)) as img:
        assert (img.format, img.size) == ("PNG", (300, 100))

    # The very next page shows the new logo at the new version.
    page = Page.of(tenant_client(alpha).get("/"))
    assert f"/branding/logo?v={theme.version}" in [i.get("src") for i in page.images]
    # Beta's host never serves alpha's file.
    assert tenant_client(beta).get("/branding/logo").status_code == 404
    assert tenant_client(beta).get(f"/branding/logo?v={theme.version}").status_code == 404


@pytest.mark.parametrize("fmt, options", [("JPEG", {}), ("WEBP", {}), ("ICO", {"sizes": [(48, 48)]})])
def test_jpeg_webp_and_ico_are_accepted_and_stored_as_png(db, tenants, tenant_client, fmt, options):
    alpha = tenants["alpha"]
    admin = tenant_client(alpha, ADMIN)
    data = image_bytes(fmt, size=(48, 48), **options)

    response = _upload(admin, "favicon", f"icon.{fmt.lower()}", data, content_type="application/octet-stream")

    assert response.status_code == 302, response.content.decode()[:2000]
    theme = _theme(alpha)
    assert re.fullmatch(r"branding/favicon-[0-9a-f]{32}\.png", theme.favicon.name)
    served = admin.get("/branding/favicon")
    assert served["Content-Type"] == "image/png"
    with Image.open(BytesIO(b"".join(served.streaming_content))) as img:
        assert img.format == "PNG" and img.size == (48, 48)


def _noise_png() -> bytes:
    out = BytesIO()
    Image.frombytes("RGB", (64, 64), random.Random(7).randbytes(64 * 64 * 3)).save(out, format="PNG")
    data = out.getvalue()
    assert len(data) > 10_000  # noise does not compress: cutting at 2000 bytes really truncates it
    return data


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'


@pytest.mark.parametrize("name, data, content_type, message", [
    ("logo.svg", SVG, "image/svg+xml", "SVG files are not accepted for the logo"),
    ("logo.png", SVG, "image/png", "SVG files are not accepted for the logo"),
    ("logo.png", b"Just some text, not an image at all.\n" * 20, "image/png",
     "This file is not a PNG, JPEG, WebP or ICO image, whatever its name says."),
    ("logo.png", image_bytes("GIF", size=(20, 20)), "image/png",
     "This file is not a PNG, JPEG, WebP or ICO image, whatever its name says."),
    ("logo.png", _noise_png()[:2000], "image/png",
     "The logo image is damaged or incomplete and cannot be read."),
    ("logo.png", b"", "image/png", "The logo file is empty."),
], ids=["svg", "svg-renamed-png", "text-renamed-png", "gif", "truncated-png", "empty"])
def test_svg_and_files_that_are_not_accepted_images_are_refused_with_a_specific_error(db, tenants, tenant_client,
                                                                                     name, data, content_type, message):
    alpha = tenants["alpha"]
    before = _theme(alpha)
    admin = tenant_client(alpha, ADMIN)

    response = _upload(admin, "logo", name, data, content_type)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'id="logo-file-error"' in html  # shown at the logo's own file field
    after = _theme(alpha)
    assert (after.logo.name, after.version) == (before.logo.name, before.version)
    assert _stored_files(alpha) == []
    assert admin.get("/branding/logo").status_code == 404


def test_a_2_mb_image_is_refused(db, tenants, tenant_client):
    alpha = tenants["alpha"]
    admin = tenant_client(alpha, ADMIN)
    noise = Image.frombytes("RGB", (840, 840), bytes(range(256)) * (840 * 840 * 3 // 256) + bytes(840 * 840 * 3 % 256))
    out = BytesIO()
    noise.save(out, format="PNG", compress_level=0)
    data = out.getvalue()
    assert len(data) >= 2 * 1024 * 1024

    response = _upload(admin, "logo", "big.png", data)

    assert response.status_code == 400
    assert "The logo file is 2.0 MB; the limit is 1 MB." in response.content.decode()
    assert _theme(alpha).logo.name == "" and _stored_files(alpha) == []


def test_a_small_file_claiming_a_huge_picture_is_refused_before_decoding(db, tenants, tenant_client):
    alpha = tenants["alpha"]
    admin = tenant_client(alpha, ADMIN)
    out = BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG")
    assert len(out.getvalue()) < 1024 * 1024

    response = _upload(admin, "logo", "bomb.png", out.getvalue())

    assert response.status_code == 400
    assert "The logo is 8000×8000 pixels; at most 4096×4096 is accepted." in response.content.decode()
    assert _stored_files(alpha) == []


def test_a_new_logo_replaces_the_old_file_and_remove_takes_it_away(alpha_committed, tenant_client):
    alpha = alpha_committed
    admin = tenant_client(alpha, ADMIN)
    assert _upload(admin, "logo", "a.png", image_bytes("PNG", colour=(200, 0, 0, 255))).status_code == 302
    first = _theme(alpha).logo.name

    assert _upload(admin, "logo", "b.png", image_bytes("PNG", colour=(0, 0, 200, 255))).status_code == 302
    second = _theme(alpha).logo.name
    assert second != first
    assert [p.name for p in _stored_files(alpha)] == [Path(second).name]  # the old file went after the commit

    assert admin.post("/backoffice/branding/image/logo/", {"action": "remove"}).status_code == 302
    assert _theme(alpha).logo.name == ""
    assert _stored_files(alpha) == []
    assert admin.get("/branding/logo").status_code == 404
    visitor = tenant_client(alpha)
    assert theme_version_linked(visitor.get("/")) == _theme(alpha).version
    assert not any(i.get("src", "").startswith("/branding/logo") for i in Page.of(visitor.get("/")).images)
