"""Serving a stored upload (KYC document, ticket attachment, marketing material) inert: our content type, never the
browser's guess (nosniff), a CSP that sandboxes it, same-origin only, and a file name we made."""
from __future__ import annotations

from django.http import FileResponse, Http404


def inert_file_response(stored, *, content_type: str, filename: str, download: bool = False,
                        cache: str = "private, no-store") -> FileResponse:
    """`stored` is a FieldFile; a file missing from storage is a 404, never a 500."""
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise Http404("No such file.") from None
    response = FileResponse(handle, content_type=content_type)
    safe_name = "".join(ch for ch in filename if ch.isalnum() or ch in "-_.") or "file"
    response["Content-Disposition"] = f'{"attachment" if download else "inline"}; filename="{safe_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = cache
    return response
