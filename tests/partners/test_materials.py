"""Marketing materials: the broker uploads banners and presentations (the KYC upload checks: type by content,
images re-encoded, SVG/programs/archives refused, nothing stored on a refusal), withdraws them, every change is
audited; IBs see and download only active materials of their own brokerage, in their language or for all."""
from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import Image


def png(width=728, height=90, colour=(20, 90, 200, 128)) -> bytes:
    """A banner with transparency (kept as PNG when re-encoded; an opaque image is stored as JPEG)."""
    out = io.BytesIO()
    Image.new("RGBA", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def pdf() -> bytes:
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=14)
    doc.cell(text="Why trade with us")
    return bytes(doc.output())


def test_a_manager_uploads_a_banner_and_a_pdf_and_the_ib_downloads_them(programme, tenant_client,
                                                                       django_assert_max_num_queries):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.partners.models import MarketingMaterial

    alpha = programme["brokerage"]
    manager = tenant_client(alpha, programme["manager"].email)
    response = manager.post("/backoffice/partners/materials/", {
        "title": "Leaderboard banner", "description": "728×90 for websites", "language": "",
        "file": SimpleUploadedFile("banner.png", png(), content_type="image/png")})
    assert response.status_code == 302, response.content.decode()[:500]
    response = manager.post("/backoffice/partners/materials/", {
        "title": "Presentación", "language": "es", "file": SimpleUploadedFile("deck.pdf", pdf())})
    assert response.status_code == 302
    with tenant_context(alpha):
        banner = MarketingMaterial.objects.get(title="Leaderboard banner")
        deck = MarketingMaterial.objects.get(title="Presentación")
        assert (banner.content_type, banner.width, banner.height, banner.uploaded_by) == (
            "image/png", 728, 90, programme["manager"])
        assert deck.content_type == "application/pdf" and deck.width is None
        assert banner.file.name.startswith("partners/materials/") and "banner" not in banner.file.name
        assert AuditEntry.objects.filter(action="partners.material_uploaded").count() == 2

    ib = tenant_client(alpha, programme["ib_a"].user.email)
    ib.get("/partner/materials/")  # warm: the session's first request loads the branding and the partner once
    with django_assert_max_num_queries(12) as one:
        page = ib.get("/partner/materials/")
    with tenant_context(alpha):
        for i in range(30):
            MarketingMaterial.objects.create(title=f"Banner {i}", file=banner.file.name, content_type="image/png",
                                             size=banner.size, sha256=banner.sha256, width=728, height=90)
    with django_assert_max_num_queries(len(one.captured_queries)):  # 31 materials: no query per row
        assert "Banner 29" in ib.get("/partner/materials/").content.decode()
    with tenant_context(alpha):
        MarketingMaterial.objects.filter(title__startswith="Banner ").delete()
    html = page.content.decode()
    assert page.status_code == 200 and "Leaderboard banner" in html
    assert "Presentación" not in html  # Spanish only; this IB reads English
    download = ib.get(f"/partner/materials/{banner.pk}/file?download=1")
    assert download.status_code == 200 and download["Content-Type"] == "image/png"
    assert download["Content-Disposition"] == f'attachment; filename="leaderboard-banner-{banner.pk}.png"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content).startswith(b"\x89PNG")

    ib.post("/i18n/setlang/", {"language": "es", "next": "/partner/materials/"})
    assert "Presentación" in ib.get("/partner/materials/").content.decode()

    # withdrawn: gone from the portal and its file is a 404 for IBs (staff still see it)
    assert manager.post(f"/backoffice/partners/materials/{banner.pk}/", {"active": "0"}).status_code == 302
    with tenant_context(alpha):
        banner.refresh_from_db()
        assert banner.is_active is False
        entry = AuditEntry.objects.get(action="partners.material_withdrawn")
        assert entry.changes == {"is_active": [True, False]}
    assert "Leaderboard banner" not in ib.get("/partner/materials/").content.decode()
    assert ib.get(f"/partner/materials/{banner.pk}/file").status_code == 404
    assert manager.get(f"/backoffice/partners/materials/{banner.pk}/file").status_code == 200
    assert manager.post(f"/backoffice/partners/materials/{banner.pk}/", {"active": "maybe"}).status_code == 400


def test_refused_uploads_say_why_and_store_nothing(programme, tenant_client):
    from django.core.files.storage import default_storage

    from tenant_apps.partners.models import MarketingMaterial

    alpha = programme["brokerage"]
    manager = tenant_client(alpha, programme["manager"].email)
    cases = [
        ({"title": "Logo", "file": SimpleUploadedFile("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>')},
         "SVG and web files are not accepted"),
        ({"title": "Tool", "file": SimpleUploadedFile("banner.png", b"MZ\x90\x00" + b"\x00" * 100)}, "is a program"),
        ({"title": "Pack", "file": SimpleUploadedFile("pack.png", b"PK\x03\x04" + b"\x00" * 100)}, "Archives"),
        ({"title": "", "file": SimpleUploadedFile("b.png", png())}, "This field is required"),
        ({"title": "Banner", "language": "fr", "file": SimpleUploadedFile("b.png", png())}, "fr is not one of"),
        ({"title": "No file"}, "This field is required"),
    ]
    with tenant_context(alpha):
        before = set(default_storage.listdir("partners/materials")[1]) if default_storage.exists(
            "partners/materials") else set()
    for data, message in cases:
        response = manager.post("/backoffice/partners/materials/", data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), (message, data)
    with tenant_context(alpha):
        assert not MarketingMaterial.objects.exists()
        after = set(default_storage.listdir("partners/materials")[1]) if default_storage.exists(
            "partners/materials") else set()
        assert after == before


def test_sales_reads_but_cannot_upload_and_ibs_of_another_brokerage_see_nothing(programme, beta_programme,
                                                                                tenant_client):
    from tenant_apps.identity.permissions import PermissionDeniedError
    from tenant_apps.partners.models import MarketingMaterial
    from tenant_apps.partners.services import material_upload

    alpha, beta = programme["brokerage"], beta_programme["brokerage"]
    with tenant_context(alpha):
        material = material_upload(actor=programme["manager"], title="Alpha banner",
                                   uploaded=SimpleUploadedFile("a.png", png()))
        try:
            material_upload(actor=programme["sales"], title="Sales banner", uploaded=SimpleUploadedFile("s.png", png()))
            raise AssertionError("sales may not upload")
        except PermissionDeniedError:
            pass
        assert MarketingMaterial.objects.count() == 1
    sales = tenant_client(alpha, programme["sales"].email)
    assert "Alpha banner" in sales.get("/backoffice/partners/materials/").content.decode()
    assert sales.post("/backoffice/partners/materials/", {"title": "x"}).status_code == 403
    beta_ib = tenant_client(beta, beta_programme["ib_a"].user.email)
    assert "Alpha banner" not in beta_ib.get("/partner/materials/").content.decode()
    assert beta_ib.get(f"/partner/materials/{material.pk}/file").status_code == 404


def test_the_demo_materials_are_two_banners_and_a_presentation_seeded_once(programme):
    from provisioning.demo import seed_demo_materials
    from tenant_apps.partners.models import MarketingMaterial

    with tenant_context(programme["brokerage"]):
        seed_demo_materials(slug="alpha", manager=programme["manager"])
        seed_demo_materials(slug="alpha", manager=programme["manager"])
        rows = {m.title: (m.content_type, m.width, m.height) for m in MarketingMaterial.objects.all()}
    assert rows == {"Leaderboard banner 728×90": ("image/png", 728, 90),
                    "Square banner 300×250": ("image/png", 300, 250),
                    "IB programme presentation": ("application/pdf", None, None)}
