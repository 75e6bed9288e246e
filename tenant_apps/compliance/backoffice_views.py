"""Back-office KYC review: the queue (filters, SLA timer, htmx refresh), claim/assign, the case page with the
side-by-side document viewer and structured outcomes, and the permission-checked document file."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.compliance import selectors, services
from tenant_apps.compliance.errors import ComplianceError
from tenant_apps.compliance.forms import DecisionForm
from tenant_apps.compliance.models import KycCase, KycDocument, RiskLevel
from tenant_apps.compliance.portal_views import document_response
from tenant_apps.identity.models import User, UserKind
from tenant_apps.identity.permissions import PermissionDeniedError, has_perm


def _reviewers():
    return [u for u in User.objects.filter(kind=UserKind.STAFF, is_active=True).prefetch_related("roles")
            .order_by("email") if has_perm(u, "kyc", "decide")]


class KycQueueView(StaffPermissionMixin, View):
    permission = ("kyc", "view")

    def get(self, request):
        g = request.GET
        filters = {"legal_entity_id": (g.get("entity") or "")[:12], "country": (g.get("country") or "")[:2],
                   "risk_level": g.get("risk") if g.get("risk") in dict(RiskLevel.CHOICES) else "",
                   "min_age_minutes": g.get("age") if (g.get("age") or "").isdigit() else None,
                   "assignee": (g.get("assignee") or "")[:12]}
        rows = selectors.kyc_review_queue(**filters)
        context = {"rows": rows, "filters": g, "risk_levels": RiskLevel.CHOICES,
                   "entity": selectors.client_legal_entity(None), "reviewers": _reviewers(),
                   "sla_minutes": selectors.review_sla_minutes(), "can_decide": has_perm(request.user, "kyc", "decide")}
        template = "compliance/backoffice/_queue_table.html" if request.headers.get("HX-Request") \
            else "compliance/backoffice/queue.html"
        return render(request, template, context)


class KycCaseAssignView(StaffPermissionMixin, View):
    permission = ("kyc", "decide")

    def post(self, request, case_id: int):
        if not KycCase.objects.filter(pk=case_id).exists():
            raise Http404("No such case.")
        raw = (request.POST.get("assignee") or "").strip()
        assignee = None
        if raw:
            assignee = User.objects.filter(pk=int(raw) if raw.isdigit() else 0, kind=UserKind.STAFF).first()
            if assignee is None:
                messages.error(request, "Choose a reviewer from the list.")
                return redirect("backoffice_kyc_case", case_id=case_id)
        try:
            services.kyc_case_assign(case_id=case_id, actor=request.user, assignee=assignee, request=request)
        except ComplianceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Case assigned.")
        return redirect("backoffice_kyc_case", case_id=case_id)


class KycCaseView(StaffPermissionMixin, View):
    permission = ("kyc", "view")
    write_permission = ("kyc", "decide")

    def _render(self, request, case_id, form=None, status=200):
        try:
            detail = selectors.kyc_case_detail(case_id)
        except KycCase.DoesNotExist:
            raise Http404("No such case.") from None
        pending = [d for d in detail["documents"] if d.state == "pending_review"]
        return render(request, "compliance/backoffice/case.html", {
            **detail, "form": form or DecisionForm(documents=pending), "reviewers": _reviewers(),
            "can_see_documents": has_perm(request.user, "kyc.documents", "view"),
            "can_decide": has_perm(request.user, "kyc", "decide"),
        }, status=status)

    def get(self, request, case_id: int):
        return self._render(request, case_id)

    def post(self, request, case_id: int):
        case = KycCase.objects.filter(pk=case_id).first()
        if case is None:
            raise Http404("No such case.")
        pending = KycDocument.objects.filter(client_id=case.client_id, state="pending_review")
        form = DecisionForm(request.POST, documents=pending)
        if not form.is_valid():
            return self._render(request, case_id, form, status=400)
        data = form.cleaned_data
        try:
            updated = services.kyc_case_decide(case_id=case_id, actor=request.user, outcome=data["outcome"],
                                               reason_code=data["reason_code"], note=data["note"],
                                               document_ids=data["document_ids"], request=request)
        except (ComplianceError, PermissionDeniedError, ValidationError) as exc:
            form.add_error(None, getattr(exc, "message", str(exc)))
            return self._render(request, case_id, form, status=400)
        if updated.state == "pending_review" and updated.first_approval_by_id:
            messages.info(request, "First approval recorded. A second compliance approver must complete it.")
        else:
            messages.success(request, f"Case {updated.get_state_display().lower()}.")
        return redirect("backoffice_kyc_queue")


class KycDocumentFileView(StaffPermissionMixin, View):
    permission = ("kyc.documents", "view")

    def get(self, request, document_id: int):
        document = KycDocument.objects.filter(pk=document_id).first()
        if document is None:
            raise Http404("No such document.")
        return document_response(document)
