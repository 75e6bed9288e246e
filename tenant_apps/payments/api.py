"""Staff API of the money queues (/api/v1/payments/…): the same selectors and matrix permissions as the back
office. Writes stay in the back office for now (services are ready: withdrawal_approve/reject, deposit_review_decide)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from tenant_apps.backoffice.api_access import MatrixAPIView
from tenant_apps.payments import selectors, states


class WithdrawalOut(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    client_id = serializers.IntegerField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.CharField()
    stage = serializers.CharField()
    review_reasons = serializers.ListField(child=serializers.CharField())
    approvals = serializers.ListField(child=serializers.DictField())
    created_at = serializers.DateTimeField()


class DepositOut(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    client_id = serializers.IntegerField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.CharField()
    review_reasons = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


class WithdrawalQueueApi(MatrixAPIView):
    required_permissions = {"GET": ("payments", "review")}

    @extend_schema(responses=WithdrawalOut(many=True), summary="Withdrawals by status and review stage")
    def get(self, request):
        status = request.query_params.get("status", "under_review")
        if status not in states.WITHDRAWAL_CLIENT_STATUS:
            return Response({"code": "invalid_status", "message": f"Unknown status {status!r}."}, status=400)
        rows = selectors.withdrawals_queue(status=status, stage=request.query_params.get("stage", ""),
                                           currency=request.query_params.get("currency", ""))[:500]
        return Response([{"id": w.pk, "reference": w.reference, "client_id": w.client_id, "amount": str(w.amount),
                          "currency": w.currency, "status": w.status, "stage": w.stage,
                          "review_reasons": w.review_reasons, "created_at": w.created_at,
                          "approvals": [{"stage": a.stage, "actor_id": a.actor_id, "at": a.at}
                                        for a in w.approvals.all()]} for w in rows])


class DepositReviewQueueApi(MatrixAPIView):
    required_permissions = {"GET": ("payments", "view")}

    @extend_schema(responses=DepositOut(many=True), summary="Deposits waiting for manual review")
    def get(self, request):
        return Response([{"id": d.pk, "reference": d.reference, "client_id": d.client_id, "amount": str(d.amount),
                          "currency": d.currency, "status": d.status, "review_reasons": d.review_reasons,
                          "created_at": d.created_at} for d in selectors.deposits_under_review()[:500]])
