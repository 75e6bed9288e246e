"""Compliance's screening page (/backoffice/screening/<client_id>/) and the KYC vendor webhook endpoint."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from platform_core.observability.metrics import observe_webhook
from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.identity.models import User, UserKind
from tenant_apps.kyc_checks import services
from tenant_apps.kyc_checks.models import Disposition, ScreeningCheck
from tenant_apps.kyc_checks.selectors import screening_overview


class ScreeningView(StaffPermissionMixin, View):
    permission = ("kyc.screening", "view")
    write_permission = ("kyc.screening", "review")

    def _client(self, client_id: int) -> User:
        client = User.objects.filter(pk=client_id, kind=UserKind.CLIENT).first()
        if client is None:
            raise Http404
        return client

    def get(self, request, client_id: int):
        client = self._client(client_id)
        return render(request, "kyc_checks/screening.html", {"client": client, **screening_overview(client),
                                                             "dispositions": Disposition.choices[1:]})

    def post(self, request, client_id: int):
        client = self._client(client_id)
        action = request.POST.get("action", "")
        note = request.POST.get("note", "")
        try:
            if action == "disposition":
                check = ScreeningCheck.objects.filter(client=client, pk=request.POST.get("check_id") or 0).first()
                if check is None:
                    raise ValueError("Choose a screening result.")
                services.screening_disposition_set(check=check, disposition=request.POST.get("disposition", ""),
                                                   note=note, actor=request.user)
            elif action in ("pep_on", "pep_off"):
                services.pep_flag_set(client=client, pep=action == "pep_on", actor=request.user, note=note)
            else:
                raise ValueError("Unknown action.")
        except (ValueError, TypeError) as exc:
            context = {"client": client, **screening_overview(client), "dispositions": Disposition.choices[1:],
                       "error": str(exc)}
            return render(request, "kyc_checks/screening.html", context, status=400)
        messages.success(request, "Saved.")
        return redirect("kyc_screening", client_id=client.pk)


class _TooLarge(Exception):
    pass


@csrf_exempt
def vendor_webhook(request, vendor: str = "sumsub"):
    if request.method != "POST":
        response = JsonResponse({"code": "method_not_allowed", "message": "Webhooks are delivered by POST."},
                                status=405)
        response["Allow"] = "POST"
        return response
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    body = b"" if declared > services.WEBHOOK_MAX_BODY_BYTES else request.read(services.WEBHOOK_MAX_BODY_BYTES + 1)
    if declared > services.WEBHOOK_MAX_BODY_BYTES or len(body) > services.WEBHOOK_MAX_BODY_BYTES:
        observe_webhook(vendor, "too_large")
        return JsonResponse({"code": "request_too_large", "message": "The body is too large."}, status=413)
    receipt = services.vendor_webhook_receive(vendor=vendor, raw_body=body, headers=request.headers)
    observe_webhook(vendor, "unknown_provider" if receipt is None else "refused" if not receipt.accepted
                    else "duplicate" if receipt.duplicate else "accepted")  # platform_core/observability
    if receipt is None:
        return JsonResponse({"code": "unknown_vendor", "message": "No such KYC vendor here."}, status=404)
    if not receipt.accepted:
        return JsonResponse({"code": receipt.code, "message": receipt.message}, status=400)
    return JsonResponse({"received": True, "duplicate": receipt.duplicate})
