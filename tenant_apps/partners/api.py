"""Staff API of the partners capability (the same services and scoping as the back office): IBs, a client's IB
history, reassignment requests and their decision. Errors are typed: {"code": ..., "message": ...}."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from tenant_apps.backoffice.api_access import MatrixAPIView
from tenant_apps.identity.api_auth import error_responses
from tenant_apps.partners import selectors, services
from tenant_apps.partners.errors import PartnersError
from tenant_apps.partners.models import ReassignmentRequest


class PartnerOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    status = serializers.CharField()
    parent = serializers.CharField(allow_null=True, help_text="Parent IB's code now (null: top level).")
    depth = serializers.IntegerField()
    clients = serializers.IntegerField(help_text="Clients assigned to this IB now.")


class IntervalOut(serializers.Serializer):
    partner = serializers.CharField()
    valid_from = serializers.DateTimeField()
    valid_to = serializers.DateTimeField(allow_null=True)
    source = serializers.CharField()
    request = serializers.IntegerField(allow_null=True)


class RequestOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    client = serializers.IntegerField(allow_null=True)
    subject_partner = serializers.CharField(allow_null=True)
    from_partner = serializers.CharField(allow_null=True)
    to_partner = serializers.CharField()
    effective_at = serializers.DateTimeField()
    mode = serializers.CharField()
    reason = serializers.CharField()
    status = serializers.CharField()
    requested_by = serializers.CharField()
    requested_at = serializers.DateTimeField()
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()


class RequestIn(serializers.Serializer):
    client_id = serializers.IntegerField(required=False)
    subject_partner_id = serializers.IntegerField(required=False)
    to_partner_id = serializers.IntegerField()
    effective_at = serializers.CharField(help_text="ISO 8601, e.g. 2026-12-14T00:00. Without an offset it is the "
                                                   "brokerage's wall clock (its timezone); with one, that moment.")

    def validate_effective_at(self, value):
        from django.utils.dateparse import parse_datetime

        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise serializers.ValidationError("Use ISO 8601, e.g. 2026-12-14T00:00.")
        return parsed
    mode = serializers.ChoiceField(choices=ReassignmentRequest.Mode.values, required=False)
    reason = serializers.CharField(max_length=2000)


class DecisionIn(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def request_payload(r: ReassignmentRequest) -> dict:
    return {"id": r.pk, "kind": r.kind, "client": r.client_id,
            "subject_partner": r.subject_partner.code if r.subject_partner_id else None,
            "from_partner": r.from_partner.code if r.from_partner_id else None, "to_partner": r.to_partner.code,
            "effective_at": r.effective_at, "mode": r.mode, "reason": r.reason, "status": r.status,
            "requested_by": r.requested_by.email, "requested_at": r.requested_at,
            "decided_by": r.decided_by.email if r.decided_by_id else None, "decided_at": r.decided_at,
            "decision_note": r.decision_note}


class PartnersApi(MatrixAPIView):
    def handle_exception(self, exc):
        if isinstance(exc, PartnersError):
            return Response({"code": exc.code, "message": exc.message}, status=exc.http_status)
        return super().handle_exception(exc)


class PartnerListApi(PartnersApi):
    required_permissions = {"GET": ("partners", "view")}

    @extend_schema(responses={200: PartnerOut(many=True), **error_responses(403)})
    def get(self, request):
        rows = selectors.partner_tree()
        codes = {row["partner"].pk: row["partner"].code for row in rows}
        return Response([PartnerOut({"id": row["partner"].pk, "code": row["partner"].code,
                                     "status": row["partner"].status, "parent": codes.get(row["parent_id"]),
                                     "depth": row["depth"], "clients": row["clients"]}).data for row in rows])


class ClientIbHistoryApi(PartnersApi):
    required_permissions = {"GET": ("partners", "view")}

    @extend_schema(responses={200: IntervalOut(many=True), **error_responses(403, 404)})
    def get(self, request, client_id: int):
        from tenant_apps.crm.selectors import client_for

        if client_for(request.user, client_id) is None:
            return Response({"code": "not_found", "message": "No such client."}, status=404)
        history = selectors.client_ib_history(client_id)
        return Response([IntervalOut({"partner": a.partner.code, "valid_from": a.valid_from, "valid_to": a.valid_to,
                                      "source": a.source, "request": a.request_id}).data
                         for a in history["assignments"]])


class ReassignmentListApi(PartnersApi):
    required_permissions = {"GET": ("partners", "view"), "POST": ("partners", "reassign")}

    @extend_schema(responses={200: RequestOut(many=True), **error_responses(403)})
    def get(self, request):
        shown = request.query_params.get("status", "pending")
        if shown not in ReassignmentRequest.Status.values:
            return Response({"code": "invalid_input", "message": "Unknown status."}, status=400)
        return Response([RequestOut(request_payload(r)).data for r in selectors.reassignment_queue(status=shown)[:200]])

    @extend_schema(request=RequestIn, responses={201: RequestOut, **error_responses(400, 403, 404, 409)})
    def post(self, request):
        from tenant_apps.crm.selectors import client_for

        data = RequestIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v.get("client_id") is not None and client_for(request.user, v["client_id"]) is None:
            return Response({"code": "not_found", "message": "No such client."}, status=404)
        req = services.reassignment_request_create(
            actor=request.user, client_id=v.get("client_id"), subject_partner_id=v.get("subject_partner_id"),
            to_partner_id=v["to_partner_id"], effective_at=v["effective_at"], mode=v.get("mode"), reason=v["reason"],
            request=request)
        return Response(RequestOut(request_payload(req)).data, status=status.HTTP_201_CREATED)


class ReassignmentDecideApi(PartnersApi):
    required_permissions = {"POST": ("partners", "reassign_approve")}

    @extend_schema(request=DecisionIn, responses={200: RequestOut, **error_responses(400, 403, 404, 409)})
    def post(self, request, request_id: int):
        if not ReassignmentRequest.objects.filter(pk=request_id).exists():
            return Response({"code": "not_found", "message": "No such request."}, status=404)
        data = DecisionIn(data=request.data)
        data.is_valid(raise_exception=True)
        decide = services.reassignment_approve if data.validated_data["decision"] == "approve" \
            else services.reassignment_reject
        req = decide(request_id=request_id, actor=request.user, note=data.validated_data["note"], request=request)
        return Response(RequestOut(request_payload(req)).data)
