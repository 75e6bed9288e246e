"""Turning an uploaded logo or favicon into a PNG we made ourselves (OWASP ASVS V5: size, type by content).

The browser's file name and Content-Type are ignored: Pillow decides what the bytes are, only PNG, JPEG,
WebP and ICO decoders are allowed to try, and the result is always re-encoded, so nothing a user uploaded
(metadata, trailing payloads, polyglots) is ever served as-is.
"""
from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from django.core.exceptions import ValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 1024 * 1024
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "ICO")
ACCEPTED_LABEL = "PNG, JPEG, WebP or ICO"
ACCEPT_ATTRIBUTE = "image/png,image/jpeg,image/webp,image/x-icon,image/vnd.microsoft.icon,.ico"
# Larger than any real logo; a small file that claims more pixels is a decompression bomb.
MAX_SOURCE_SIDE = 4096


@dataclass(frozen=True)
class ImageKind:
    code: str
    label: str
    max_side: int  # the stored PNG fits in max_side × max_side


IMAGE_KINDS: dict[str, ImageKind] = {
    "logo": ImageKind("logo", "logo", 1024),
    "favicon": ImageKind("favicon", "favicon", 256),
}


def _error(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def _looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in head


def read_upload(uploaded, *, kind: ImageKind) -> bytes:
    """The upload's bytes, refusing empty and oversized files before reading more than the limit."""
    size = getattr(uploaded, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise _error(f"The {kind.label} file is {size / 1024 / 1024:.1f} MB; the limit is 1 MB.", "image_too_large")
    uploaded.seek(0)
    data = uploaded.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:  # the declared size lied
        raise _error(f"The {kind.label} file is larger than the 1 MB limit.", "image_too_large")
    if not data:
        raise _error(f"The {kind.label} file is empty.", "image_empty")
    return data


def image_normalise(data: bytes, *, kind: ImageKind) -> bytes:
    """Validate an image by its content and return it re-encoded as PNG, at most kind.max_side pixels a side."""
    if _looks_like_svg(data):
        raise _error(f"SVG files are not accepted for the {kind.label} (they can carry scripts). "
                     f"Upload a {ACCEPTED_LABEL} image.", "image_svg")
    try:
        # Beyond Pillow's own bomb limit open() raises; below it, the size check further down refuses.
        with Image.open(BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
            detected = probe.format
            width, height = probe.size
            probe.verify()  # structure and checksums, without decoding pixels
    except UnidentifiedImageError:
        raise _error(f"This file is not a {ACCEPTED_LABEL} image, whatever its name says. "
                     f"Upload a {ACCEPTED_LABEL} image for the {kind.label}.", "image_type") from None
    except Image.DecompressionBombError:
        raise _error(f"The {kind.label} has too many pixels; at most {MAX_SOURCE_SIDE}×{MAX_SOURCE_SIDE} is accepted.",
                     "image_dimensions") from None
    except Exception:  # noqa: BLE001 - every decoder failure means the same thing to the user
        raise _error(f"The {kind.label} image is damaged or incomplete and cannot be read.", "image_corrupt") from None
    if width > MAX_SOURCE_SIDE or height > MAX_SOURCE_SIDE or width < 1 or height < 1:
        raise _error(f"The {kind.label} is {width}×{height} pixels; at most {MAX_SOURCE_SIDE}×{MAX_SOURCE_SIDE} "
                     f"is accepted.", "image_dimensions")
    try:
        # verify() leaves the image unusable: open again and decode every pixel.
        with Image.open(BytesIO(data), formats=(detected,)) as img:
            img.load()
            picture = ImageOps.exif_transpose(img)
            has_alpha = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
            picture = picture.convert("RGBA" if has_alpha else "RGB")
    except Exception:  # noqa: BLE001
        raise _error(f"The {kind.label} image is damaged or incomplete and cannot be read.", "image_corrupt") from None
    picture.thumbnail((kind.max_side, kind.max_side), Image.Resampling.LANCZOS)
    out = BytesIO()
    picture.save(out, format="PNG", optimize=True)  # no metadata is copied over
    return out.getvalue()
