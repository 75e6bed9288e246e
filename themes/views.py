"""The tenant's stylesheet (CSS variables) and branding images, served only from the current tenant."""
import mimetypes

from django.http import FileResponse, Http404, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from themes.selectors import theme_current

SAFE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/x-icon", "image/vnd.microsoft.icon"}


@require_GET
def theme_css(request):
    theme = theme_current()
    css = render_to_string("themes/theme.css", {"theme": theme})
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    # The URL carries the theme version, so a long cache is safe and a change is seen at once.
    response["Cache-Control"] = "public, max-age=86400" if request.GET.get("v") else "no-cache"
    return response


@require_GET
def branding_image(request, kind: str):
    if kind not in ("logo", "favicon") or request.tenant is None or request.tenant.kind != "brokerage":
        raise Http404("No such image.")
    from themes.models import Theme

    theme = Theme.objects.order_by("id").first()
    field = getattr(theme, kind, None) if theme else None
    if not field:
        raise Http404("No image uploaded.")
    content_type = mimetypes.guess_type(field.name)[0] or "application/octet-stream"
    if content_type not in SAFE_IMAGE_TYPES:
        raise Http404("Unsupported image type.")
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404("No image uploaded.") from None
    response = FileResponse(handle, content_type=content_type)
    # Uploads are re-encoded PNGs (themes.images); these headers keep even a bad file inert.
    extension = mimetypes.guess_extension(content_type) or ""
    response["Content-Disposition"] = f'inline; filename="{kind}{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "public, max-age=86400" if request.GET.get("v") else "no-cache"
    return response
