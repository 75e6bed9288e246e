"""GET /metrics on the platform host (tenant hosts have no such route: 404)."""
from __future__ import annotations

import hmac
import os

from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from platform_core.observability import metrics


def _allowed(request) -> bool:
    token = os.environ.get("METRICS_TOKEN", "")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and getattr(user, "is_platform_operator", False))


@require_GET
def metrics_view(request):
    if not _allowed(request):
        return JsonResponse({"code": "forbidden",
                             "message": "Metrics need 'Authorization: Bearer <METRICS_TOKEN>'."}, status=403)
    body, content_type = metrics.scrape()
    return HttpResponse(body, content_type=content_type)
