"""Upload fuzz (OWASP ASVS V5): every hostile or broken file is refused with a clear message and NOTHING is
stored — no row, no file; real photos and PDFs are accepted, images re-encoded with their metadata gone."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import Image

from tenant_apps.compliance.models import KycDocument
from tests.compliance import samples
from tests.compliance.conftest import in_days, stored_kyc_files

HOSTILE = [
    # (case, file name the client claims, bytes, words the refusal must contain)
    ("renamed ELF executable", "passport.jpg", samples.elf, "is a program"),
    ("renamed Windows PE executable", "passport.jpg", samples.pe, "is a program"),
    ("zip bomb", "passport.jpg", samples.zip_bomb, "Archives"),
    ("decompression-bomb PNG", "passport.png", samples.decompression_bomb_png, "too many pixels"),
    ("GIF + zip polyglot", "passport.gif", samples.gif_zip_polyglot, "hidden content"),
    ("JPEG + zip polyglot", "passport.jpg", samples.jpeg_zip_polyglot, "hidden content"),
    ("GIF + JavaScript polyglot", "passport.gif", samples.gif_js_polyglot, "extra data after its end"),
    ("0-byte file", "passport.jpg", lambda: b"", "empty"),
    ("over the 10 MB limit", "passport.jpg", samples.over_limit, "10 MB"),
    ("encrypted PDF", "passport.pdf", lambda: samples.pdf(password="secret"), "password-protected"),
    ("malformed PDF", "passport.pdf", samples.malformed_pdf, "damaged"),
    ("SVG with a script", "passport.jpg", samples.svg, "SVG"),
    ("plain text", "passport.pdf", lambda: b"just some text, not a document", "not a JPEG or PNG photo, or a PDF"),
]


def post_upload(http, name, data, doc_type="passport", **dates):
    body = {"doc_type": doc_type, "file": SimpleUploadedFile(name, data, content_type="image/jpeg"),
            "expiry_date": str(dates.get("expiry", in_days(400))), "issue_date": str(dates.get("issue", ""))}
    return http.post("/verify/documents/", body)


@pytest.mark.parametrize(("case", "name", "make", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_each_hostile_or_broken_upload_is_refused_clearly_and_nothing_is_stored(case, name, make, words, people,
                                                                                tenants, tenant_client):
    alpha = tenants["alpha"]
    before = stored_kyc_files(alpha)
    response = post_upload(tenant_client(alpha, people["client"].email), name, make())
    assert response.status_code == 400, case
    assert words in response.content.decode(), case
    with tenant_context(alpha):
        assert not KycDocument.objects.exists()
    assert stored_kyc_files(alpha) == before


@pytest.mark.parametrize(("maker", "content_type"), [(samples.jpeg_with_metadata, "image/jpeg"),
                                                      (samples.png, "image/jpeg"),
                                                      (lambda: samples.png(alpha=True), "image/png")])
def test_real_photos_are_accepted_and_re_encoded_without_their_metadata(maker, content_type, people, tenants,
                                                                        tenant_client):
    alpha = tenants["alpha"]
    original = maker()
    response = post_upload(tenant_client(alpha, people["client"].email), "../../etc/passwd.jpg", original)
    assert response.status_code == 302, response.content.decode()[-3000:]
    with tenant_context(alpha):
        document = KycDocument.objects.get()
        stored = document.file.read()
        assert document.content_type == content_type and document.state == "pending_review"
        assert document.file.name.startswith("kyc/") and "passwd" not in document.file.name
    assert stored != original
    assert b"SecretPhoneMaker" not in stored and b"home address" not in stored and b"author" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert not img.getexif() and "comment" not in img.info and "Comment" not in img.info


def test_a_pdf_that_parses_is_accepted_as_is(people, tenants, tenant_client):
    import hashlib

    alpha = tenants["alpha"]
    data = samples.pdf(pages=2)
    response = post_upload(tenant_client(alpha, people["client"].email), "statement.pdf", data,
                           doc_type="proof_of_address", issue=in_days(-20))
    assert response.status_code == 302
    with tenant_context(alpha):
        document = KycDocument.objects.get()
        assert (document.content_type, document.sha256) == ("application/pdf", hashlib.sha256(data).hexdigest())


def test_an_expired_identity_document_is_refused_with_the_date(people, tenants, tenant_client):
    alpha = tenants["alpha"]
    before = stored_kyc_files(alpha)
    response = post_upload(tenant_client(alpha, people["client"].email), "id.jpg", samples.jpeg_with_metadata(),
                           doc_type="id_card", expiry=in_days(-1))
    assert response.status_code == 400
    assert "This document expired on" in response.content.decode()
    with tenant_context(alpha):
        assert not KycDocument.objects.exists()
    assert stored_kyc_files(alpha) == before


def test_a_proof_of_address_older_than_the_jurisdiction_limit_is_refused_with_that_reason(people, tenants,
                                                                                          tenant_client):
    alpha = tenants["alpha"]
    http = tenant_client(alpha, people["client"].email)
    response = post_upload(http, "bill.pdf", samples.pdf(), doc_type="proof_of_address", issue=in_days(-100))
    assert response.status_code == 400
    assert "Your proof of address is older than 3 months" in response.content.decode()
    with tenant_context(alpha):
        assert not KycDocument.objects.exists()
        # A brokerage that tightens the rule to 1 month refuses a 40-day-old bill too.
        from tenant_apps.brokerage.models import LegalEntity

        entity = LegalEntity.objects.get(is_default=True)
        entity.rules = {**entity.rules, "proof_of_address_max_months": 1}
        entity.save()
    response = post_upload(http, "bill.pdf", samples.pdf(), doc_type="proof_of_address", issue=in_days(-40))
    assert "older than 1 months" in response.content.decode()
    assert post_upload(http, "bill.pdf", samples.pdf(), doc_type="proof_of_address",
                       issue=in_days(-20)).status_code == 302


def test_the_upload_field_invites_phone_cameras_and_limits_types(people, tenants, tenant_client):
    page = tenant_client(tenants["alpha"], people["client"].email).get("/verify/documents/").content.decode()
    assert 'accept="image/*,application/pdf"' in page and 'capture="environment"' in page
    assert "data-drop-zone" in page and 'name="viewport"' in page
    assert "Alpha Trading" in page and "Beta Capital" not in page  # the brokerage's own branding


def test_the_orphan_sweep_removes_files_no_document_names_and_keeps_the_rest(people, tenants, tenant_client):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from tenant_apps.compliance.services import kyc_orphan_files_sweep

    alpha = tenants["alpha"]
    post_upload(tenant_client(alpha, people["client"].email), "id.jpg", samples.jpeg_with_metadata())
    with tenant_context(alpha):
        kept = KycDocument.objects.get().file.name.rsplit("/", 1)[-1]
        orphan = default_storage.save("kyc/orphan-from-a-rolled-back-upload.jpg", ContentFile(b"x"))
        assert kyc_orphan_files_sweep() >= 1
        assert not default_storage.exists(orphan)
    assert kept in stored_kyc_files(alpha)
