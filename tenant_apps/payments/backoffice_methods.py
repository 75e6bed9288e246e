"""Back-office editor of payment methods and their rules (/backoffice/money/methods/): payments:configure.
Validation and the audit entry (old → new) are in services/methods.py; this file only reads the form."""
from __future__ import annotations

from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.brokerage.models import LegalEntity, PaymentProviderConfig
from tenant_apps.compliance.states import KycState
from tenant_apps.payments.models import PaymentMethod
from tenant_apps.payments.services.methods import RISK_LEVELS, MethodRulesInvalid, payment_method_save

LIST_FIELDS = ("countries", "currencies", "kyc_states", "risk_levels")


def _form_data(post) -> dict:
    data = {key: post.get(key, "") for key in ("code", "display_name", "provider", "direction", "countries",
                                                 "currencies", "min_amount", "max_amount", "fee_percent",
                                                 "fee_fixed", "processing_time", "processing_minutes")}
    data["kyc_states"] = post.getlist("kyc_states")
    data["risk_levels"] = post.getlist("risk_levels")
    data["legal_entities"] = post.getlist("legal_entities")
    data["is_enabled"] = post.get("is_enabled", "")
    return data


def _initial(method: PaymentMethod | None) -> dict:
    if method is None:
        return {"direction": "both", "min_amount": "0", "fee_percent": "0", "fee_fixed": "0", "processing_minutes": "0",
                "is_enabled": "on", "kyc_states": [], "risk_levels": [], "legal_entities": []}
    return {"code": method.code, "display_name": method.display_name, "provider": str(method.provider_id),
            "direction": method.direction, "countries": ", ".join(method.countries),
            "currencies": ", ".join(method.currencies), "kyc_states": method.kyc_states,
            "risk_levels": method.risk_levels,
            "legal_entities": [str(pk) for pk in method.legal_entities.values_list("pk", flat=True)],
            "min_amount": method.min_amount, "max_amount": "" if method.max_amount is None else method.max_amount,
            "fee_percent": method.fee_percent, "fee_fixed": method.fee_fixed,
            "processing_time": method.processing_time, "processing_minutes": method.processing_minutes,
            "is_enabled": "on" if method.is_enabled else ""}


def _page(request, *, method: PaymentMethod | None, form: dict, errors: dict | None = None, status: int = 200):
    return render(request, "payments/bo_methods.html", {
        "methods": (PaymentMethod.objects.select_related("provider").prefetch_related("legal_entities")
                    .order_by("processing_minutes", "display_name")),
        "editing": method, "form": form, "errors": errors or {},
        "providers": PaymentProviderConfig.objects.order_by("display_name"), "directions": PaymentMethod.Direction.choices,
        "entities": LegalEntity.objects.order_by("name"), "kyc_states": KycState.CHOICES,
        "risk_levels": RISK_LEVELS}, status=status)


class MethodListView(StaffPermissionMixin, View):
    """Every method with its rules, fastest first, and the form to add one."""

    permission = ("payments", "configure")

    def get(self, request):
        return _page(request, method=None, form=_initial(None))

    def post(self, request):
        data = _form_data(request.POST)
        try:
            payment_method_save(actor=request.user, data=data)
        except MethodRulesInvalid as exc:
            return _page(request, method=None, form=data, errors=exc.fields, status=400)
        return redirect("backoffice_money_methods")


class MethodEditView(StaffPermissionMixin, View):
    permission = ("payments", "configure")

    def get(self, request, pk: int):
        method = get_object_or_404(PaymentMethod, pk=pk)
        return _page(request, method=method, form=_initial(method))

    def post(self, request, pk: int):
        method = get_object_or_404(PaymentMethod, pk=pk)
        data = _form_data(request.POST)
        try:
            payment_method_save(actor=request.user, data=data, method=method)
        except MethodRulesInvalid as exc:
            return _page(request, method=method, form=data, errors=exc.fields, status=400)
        return redirect("backoffice_money_methods")
