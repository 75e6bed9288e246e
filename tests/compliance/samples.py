"""Files for upload tests, made here so each one is exactly what its name says (no binary fixtures)."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image


def jpeg_with_metadata(size=(640, 400)) -> bytes:
    """A real JPEG photo carrying EXIF (camera make and GPS) and a comment, as phones produce."""
    img = Image.new("RGB", size, (200, 180, 150))
    for x in range(0, size[0], 8):  # some structure, so it is not a flat colour
        img.putpixel((x, x % size[1]), (10, 20, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"          # Make
    exif[0x8825] = {1: "N", 2: (35.0, 10.0, 0.0)}  # GPS IFD
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif.tobytes(), comment=b"GPS 35.1 N, home address")
    return out.getvalue()


def png(size=(300, 200), alpha=False, text="author: someone") -> bytes:
    from PIL import PngImagePlugin

    img = Image.new("RGBA" if alpha else "RGB", size, (10, 120, 200, 128) if alpha else (10, 120, 200))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    out = io.BytesIO()
    img.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (40, 40), 3).save(out, format="GIF")
    return out.getvalue()


def pdf(pages=1, password: str | None = None) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password:
        writer.encrypt(user_password=password, owner_password=password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def malformed_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200


def pe() -> bytes:
    return b"MZ\x90\x00\x03" + b"\x00" * 55 + b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00" + b"\x00" * 200


def zip_bomb() -> bytes:
    """A small zip that inflates to 200 MB of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("passport.jpg", b"\x00" * (200 * 1024 * 1024))
    return out.getvalue()


def decompression_bomb_png(width=100_000, height=100_000) -> bytes:
    """A tiny PNG whose header claims 10 gigapixels (the IHDR patched, its CRC recomputed)."""
    data = bytearray(png(size=(1, 1), text="x"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr:ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def small_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("payload.js", "alert(document.cookie)")
    return out.getvalue()


def gif_zip_polyglot() -> bytes:
    return gif() + small_zip()  # a valid GIF that is also a valid zip (the central directory is at the end)


def jpeg_zip_polyglot() -> bytes:
    return jpeg_with_metadata() + small_zip()


def gif_js_polyglot() -> bytes:
    return gif() + b"*/=1;alert(document.domain);//"


def svg() -> bytes:
    return b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def over_limit() -> bytes:
    return jpeg_with_metadata()[:2] + b"\x00" * (10 * 1024 * 1024 + 10)
