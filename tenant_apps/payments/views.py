"""PSP webhooks in: POST /webhooks/psp/<provider_code>/ on the brokerage's own host. No session, no CSRF:
the signature decides. Answers in one INSERT's time; the work happens in the worker."""
from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from platform_core.observability.metrics import observe_webhook
from tenancy.lean import lean_route
from tenant_apps.payments import services
from tenant_apps.payments.errors import UnknownProvider


class _TooLarge(Exception):
    pass


def _read_body(request) -> bytes:
    """The raw bytes, refusing more than the limit without reading them (the declared length is checked first,
    then at most limit + 1 bytes are read, for bodies that lie about it)."""
    limit = services.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise _TooLarge
    body = request.read(limit + 1)
    if len(body) > limit:
        raise _TooLarge
    return body


@lean_route  # answered right after tenant routing: no session, user, locale or messages needed (tenancy.lean)
@csrf_exempt
def psp_webhook(request, provider_code: str):
    if request.method != "POST":
        response = JsonResponse({"code": "method_not_allowed", "message": "PSP webhooks are delivered by POST."},
                                status=405)
        response["Allow"] = "POST"
        return response
    try:
        raw_body = _read_body(request)
    except _TooLarge:
        observe_webhook(provider_code, "too_large")
        return JsonResponse({"code": "request_too_large",
                             "message": f"Webhook bodies are limited to {services.WEBHOOK_MAX_BODY_BYTES} bytes."},
                            status=413)
    try:
        receipt = services.webhook_receive(provider_code=provider_code, raw_body=raw_body, headers=request.headers,
                                           remote_addr=request.META.get("REMOTE_ADDR", ""))
    except UnknownProvider as exc:
        observe_webhook(provider_code, "unknown_provider")
        return JsonResponse({"code": exc.code, "message": exc.message}, status=404)
    observe_webhook(provider_code, "refused" if not receipt.accepted else "duplicate" if receipt.duplicate
                    else "accepted")  # webhook_outcomes_total (platform_core/observability)
    if not receipt.accepted:
        # Stored for forensics; a PSP that really sent it retries, an impostor learns nothing more.
        return JsonResponse({"code": receipt.code, "message": receipt.message}, status=400)
    return JsonResponse({"received": True, "duplicate": receipt.duplicate})
