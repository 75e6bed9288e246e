"""Deciding what an uploaded KYC document really is (OWASP ASVS V5): size limit, type by content, images
decoded and re-encoded (metadata, trailing payloads and polyglots do not survive), PDFs accepted only if they
parse and are not encrypted. Everything else is refused with a message that says why. Pure: stores nothing."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO

from django.core.exceptions import ValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# A phone photo is ~12-50 MP; anything claiming more is refused before decoding (decompression bomb).
MAX_PIXELS = 50_000_000
MAX_SIDE = 12_000
STORED_MAX_SIDE = 4000
ACCEPTED_LABEL = "a JPEG or PNG photo, or a PDF"
ACCEPT_ATTRIBUTE = "image/*,application/pdf"


@dataclass(frozen=True)
class CleanDocument:
    data: bytes
    content_type: str
    extension: str


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def read_document_upload(uploaded) -> bytes:
    size = getattr(uploaded, "size", None)
    if size is not None and size > MAX_DOCUMENT_BYTES:
        raise _refuse(f"The file is {size / 1024 / 1024:.1f} MB; the limit is 10 MB. Take a smaller photo or "
                      "scan at a lower resolution.", "too_large")
    uploaded.seek(0)
    data = uploaded.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _refuse("The file is larger than the 10 MB limit.", "too_large")
    if not data:
        raise _refuse("The file is empty (0 bytes). Choose the photo or PDF again.", "empty")
    return data


_EXECUTABLE_MAGIC = (b"\x7fELF", b"MZ", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"#!")
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b", b"BZh")


def document_clean(data: bytes) -> CleanDocument:
    """The document as we will store it, or ValidationError naming the problem."""
    head = data[:1024]
    if head.startswith(_EXECUTABLE_MAGIC):
        raise _refuse(f"This file is a program, not a document, whatever its name says. Upload {ACCEPTED_LABEL}.",
                      "executable")
    if head.startswith(_ARCHIVE_MAGIC):
        raise _refuse(f"Archives (zip and similar) are not accepted. Upload {ACCEPTED_LABEL}.", "archive")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<svg", b"<?xml", b"<!doctype", b"<html")) or b"<svg" in stripped[:256]:
        raise _refuse(f"SVG and web files are not accepted (they can carry scripts). Upload {ACCEPTED_LABEL}.",
                      "markup")
    if data.startswith(b"%PDF-"):
        return _pdf_clean(data)
    return _image_clean(data)


_SCRIPT_MARKERS = (b"<script", b"<html", b"<svg", b"javascript:", b"<?php", b"<%")


def _polyglot_check(data: bytes, fmt: str) -> None:
    """Refuse an image that is also something else: an archive or a script hidden inside, or bytes after the
    image's own end marker (a GIF/JPEG/PNG with a zip or JavaScript appended)."""
    lowered = data.lower()
    if (b"PK\x03\x04" in data and b"PK\x05\x06" in data) or any(m in lowered for m in _SCRIPT_MARKERS):
        raise _refuse("This image carries hidden content (an archive or a script) and cannot be accepted. "
                      "Take a new photo of the document.", "polyglot")
    end = {"JPEG": data.rfind(b"\xff\xd9") + 2 if b"\xff\xd9" in data else len(data),
           "PNG": data.rfind(b"IEND") + 8 if b"IEND" in data else len(data),
           "GIF": len(data) if data.endswith(b"\x00;") else len(data) + 1}.get(fmt, len(data))
    trailing = data[end:] if end <= len(data) else b"x"
    if trailing.strip(b"\x00 \r\n\t"):
        raise _refuse("This image has extra data after its end and cannot be accepted. Take a new photo of the "
                      "document.", "polyglot")


def _pdf_clean(data: bytes) -> CleanDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if any(marker in data for marker in (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/RichMedia")):
        raise _refuse("This PDF contains scripts or attached files and cannot be accepted. Print it to a new PDF "
                      "or upload a photo of the document.", "pdf_active_content")
    if b"PK\x03\x04" in data:  # a zip riding inside: a polyglot, whatever the PDF part says
        raise _refuse("This PDF carries an embedded archive and cannot be accepted. Export the document to a "
                      "new PDF or upload a photo.", "polyglot")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(BytesIO(data), strict=True)
            if reader.is_encrypted:
                raise _refuse("This PDF is password-protected. Upload a copy without a password, or a photo "
                              "of the document.", "pdf_encrypted")
            pages = len(reader.pages)
            for page in reader.pages[:20]:
                page.mediabox  # noqa: B018 - touching every page object proves the structure resolves
    except ValidationError:
        raise
    except (PdfReadError, Exception):  # noqa: BLE001 - any parser failure means "damaged" to the user
        raise _refuse("This PDF is damaged and cannot be opened. Upload the document again or take a photo "
                      "of it.", "pdf_corrupt") from None
    if pages < 1:
        raise _refuse("This PDF has no pages.", "pdf_corrupt")
    return CleanDocument(data=data, content_type="application/pdf", extension="pdf")


def _image_clean(data: bytes) -> CleanDocument:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data), formats=("JPEG", "PNG", "WEBP", "GIF")) as probe:
                detected = probe.format
                width, height = probe.size
                if width * height > MAX_PIXELS or width > MAX_SIDE or height > MAX_SIDE:
                    raise _refuse(f"The image claims {width}×{height} pixels, more than any photo of a document "
                                  "(a decompression bomb). Upload a normal photo.", "decompression_bomb")
                probe.verify()
    except ValidationError:
        raise
    except UnidentifiedImageError:
        raise _refuse(f"This file is not {ACCEPTED_LABEL}, whatever its name says.", "type") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse("The image has too many pixels (a decompression bomb). Upload a normal photo.",
                      "decompression_bomb") from None
    except Exception:  # noqa: BLE001
        raise _refuse("The image is damaged or incomplete and cannot be read.", "image_corrupt") from None
    _polyglot_check(data, detected)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data), formats=(detected,)) as img:
                img.load()
                picture = ImageOps.exif_transpose(img)
                has_alpha = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
                picture = picture.convert("RGBA" if has_alpha else "RGB")
    except Exception:  # noqa: BLE001
        raise _refuse("The image is damaged or incomplete and cannot be read.", "image_corrupt") from None
    picture.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE), Image.Resampling.LANCZOS)
    # convert() copies .info, and Pillow writes some of it back (a JPEG comment, ICC, DPI): start from nothing.
    picture.info = {}
    out = BytesIO()
    # Re-encoded from pixels only: EXIF (GPS, device), comments and anything appended after the image are gone.
    if has_alpha:
        picture.save(out, format="PNG", optimize=True)
        return CleanDocument(data=out.getvalue(), content_type="image/png", extension="png")
    picture.save(out, format="JPEG", quality=90)
    return CleanDocument(data=out.getvalue(), content_type="image/jpeg", extension="jpg")
