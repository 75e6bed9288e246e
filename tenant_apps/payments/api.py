"""Staff API of the money queues (/api/v1/payments/…): the same selectors, services and matrix permissions as the
back office. Withdrawals are approved or rejected at their current stage (the services check the stage's roles and
maker ≠ checker), deposits under review are credited or rejected, adjustments are made and decided by a Manager.
Errors are the API's shape: {"code", "message", "fields"?} — 400 bad input, 403 refused, 404 unknown, 409 the
state or the money does not allow it."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from tenant_apps.backoffice.api_access import MatrixAPIView
from tenant_apps.identity.api_auth import error_responses
from tenant_apps.identity.models import User, UserKind
from tenant_apps.identity.permissions import PermissionDeniedError
from tenant_apps.ledger.errors import LedgerError, LedgerErrorCode
from tenant_apps.payments import selectors, states
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import Adjustment, AdjustmentCategory, Deposit, Withdrawal
from tenant_apps.payments.services import adjustments, deposits, withdrawals

# Refusals that are about the input, not the state of the money: 400 rather than 409.
INPUT_CODES = frozenset({"reason_required", "category_required", "note_required", "amount_zero", "not_a_client",
                         str(LedgerErrorCode.INVALID_AMOUNT), str(LedgerErrorCode.UNKNOWN_CURRENCY)})


def refusal(exc: Exception) -> Response:
    """A service's refusal as the API's error body: the same words the back office shows."""
    if isinstance(exc, PermissionDeniedError):
        return Response({"code": "permission_denied", "message": str(exc)}, status=403)
    code = str(getattr(exc, "code", "refused"))
    message = getattr(exc, "message", None) or str(exc)
    return Response({"code": code, "message": message}, status=400 if code in INPUT_CODES else 409)


REFUSALS = (PaymentsError, LedgerError, PermissionDeniedError)


# --- withdrawals -------------------------------------------------------------------------------------------------

class ApprovalOut(serializers.Serializer):
    stage = serializers.CharField()
    actor_id = serializers.IntegerField()
    at = serializers.DateTimeField()


class EventOut(serializers.Serializer):
    at = serializers.DateTimeField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    client_text = serializers.CharField()
    staff_note = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()


class WithdrawalOut(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    client_id = serializers.IntegerField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.CharField()
    stage = serializers.CharField()
    review_reasons = serializers.ListField(child=serializers.CharField())
    approvals = ApprovalOut(many=True)
    created_at = serializers.DateTimeField()


class WithdrawalDetailOut(WithdrawalOut):
    method = serializers.CharField()
    holder_name = serializers.CharField()
    client_reason = serializers.CharField()
    claimed_by_id = serializers.IntegerField(allow_null=True)
    events = EventOut(many=True)


def _approvals(w: Withdrawal) -> list[dict]:
    return [{"stage": a.stage, "actor_id": a.actor_id, "at": a.at} for a in w.approvals.all()]


def _withdrawal(w: Withdrawal) -> dict:
    return {"id": w.pk, "reference": w.reference, "client_id": w.client_id, "amount": str(w.amount),
            "currency": w.currency, "status": w.status, "stage": w.stage, "review_reasons": w.review_reasons,
            "created_at": w.created_at, "approvals": _approvals(w)}


def _events(subject) -> list[dict]:
    return [{"at": e.at, "from_status": e.from_status, "to_status": e.to_status, "client_text": e.client_text,
             "staff_note": e.staff_note, "actor_id": e.actor_id, "source": e.source} for e in subject.events.all()]


def _withdrawal_detail(pk: int) -> dict:
    w = get_object_or_404(Withdrawal.objects.select_related("method").prefetch_related("approvals", "events"), pk=pk)
    return {**_withdrawal(w), "method": w.method.code, "holder_name": w.holder_name, "client_reason": w.client_reason,
            "claimed_by_id": w.claimed_by_id, "events": _events(w)}


class WithdrawalQueueApi(MatrixAPIView):
    required_permissions = {"GET": ("payments", "review")}

    @extend_schema(responses={200: WithdrawalOut(many=True), **error_responses(400, 403)},
                   summary="Withdrawals by status and review stage")
    def get(self, request):
        status = request.query_params.get("status", "under_review")
        if status not in states.WITHDRAWAL_CLIENT_STATUS:
            return Response({"code": "invalid_status", "message": f"Unknown status {status!r}."}, status=400)
        stage = request.query_params.get("stage", "")
        if stage and stage not in states.WITHDRAWAL_STAGES:
            return Response({"code": "invalid_stage", "message": f"Unknown stage {stage!r}; one of "
                             f"{', '.join(states.WITHDRAWAL_STAGES)}."}, status=400)
        rows = selectors.withdrawals_queue(status=status, stage=stage,
                                           currency=request.query_params.get("currency", ""))[:500]
        return Response([_withdrawal(w) for w in rows])


class WithdrawalDetailApi(MatrixAPIView):
    required_permissions = {"GET": ("payments", "review")}

    @extend_schema(responses={200: WithdrawalDetailOut, **error_responses(403, 404)},
                   summary="One withdrawal with its approvals and history")
    def get(self, request, pk: int):
        return Response(_withdrawal_detail(pk))


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class WithdrawalApproveApi(MatrixAPIView):
    """Approve the withdrawal's current stage (its roles only; a person approves a withdrawal once)."""

    required_permissions = {"POST": ("payments", "review")}

    @extend_schema(request=None, responses={200: WithdrawalDetailOut, **error_responses(403, 404, 409)},
                   summary="Approve the current review stage")
    def post(self, request, pk: int):
        w = get_object_or_404(Withdrawal, pk=pk)
        try:
            withdrawals.withdrawal_approve(withdrawal=w, actor=request.user)
        except REFUSALS as exc:
            return refusal(exc)
        return Response(_withdrawal_detail(pk))


class WithdrawalRejectApi(MatrixAPIView):
    """Reject with a reason the client reads; the held amount is released."""

    required_permissions = {"POST": ("payments", "review")}

    @extend_schema(request=ReasonIn, responses={200: WithdrawalDetailOut, **error_responses(400, 403, 404, 409)},
                   summary="Reject at the current review stage")
    def post(self, request, pk: int):
        w = get_object_or_404(Withdrawal, pk=pk)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            withdrawals.withdrawal_reject(withdrawal=w, actor=request.user, reason=data.validated_data["reason"])
        except REFUSALS as exc:
            return refusal(exc)
        return Response(_withdrawal_detail(pk))


# --- deposits under review ---------------------------------------------------------------------------------------

class DepositOut(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    client_id = serializers.IntegerField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.CharField()
    review_reasons = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


class DepositDetailOut(DepositOut):
    method = serializers.CharField()
    fee = serializers.CharField()
    payer_name = serializers.CharField()
    failure_reason = serializers.CharField()
    events = EventOut(many=True)


def _deposit(d: Deposit) -> dict:
    return {"id": d.pk, "reference": d.reference, "client_id": d.client_id, "amount": str(d.amount),
            "currency": d.currency, "status": d.status, "review_reasons": d.review_reasons, "created_at": d.created_at}


def _deposit_detail(pk: int) -> dict:
    d = get_object_or_404(Deposit.objects.select_related("method").prefetch_related("events"), pk=pk)
    return {**_deposit(d), "method": d.method.code, "fee": str(d.fee), "payer_name": d.payer_name,
            "failure_reason": d.failure_reason, "events": _events(d)}


class DepositReviewQueueApi(MatrixAPIView):
    required_permissions = {"GET": ("payments", "view")}

    @extend_schema(responses={200: DepositOut(many=True), **error_responses(403)},
                   summary="Deposits waiting for manual review")
    def get(self, request):
        return Response([_deposit(d) for d in selectors.deposits_under_review()[:500]])


class DepositDetailApi(MatrixAPIView):
    required_permissions = {"GET": ("payments", "view")}

    @extend_schema(responses={200: DepositDetailOut, **error_responses(403, 404)}, summary="One deposit")
    def get(self, request, pk: int):
        return Response(_deposit_detail(pk))


class DepositDecideApi(MatrixAPIView):
    """Credit (approve) or reject a deposit under review; a rejection needs a reason."""

    required_permissions = {"POST": ("payments", "approve")}
    approve = True

    @extend_schema(request=ReasonIn, responses={200: DepositDetailOut, **error_responses(400, 403, 404, 409)})
    def post(self, request, pk: int):
        deposit = get_object_or_404(Deposit, pk=pk)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            deposits.deposit_review_decide(deposit=deposit, actor=request.user, approve=self.approve,
                                           reason=data.validated_data["reason"])
        except REFUSALS as exc:
            return refusal(exc)
        return Response(_deposit_detail(pk))


class DepositApproveApi(DepositDecideApi):
    approve = True


class DepositRejectApi(DepositDecideApi):
    approve = False


# --- manual adjustments ------------------------------------------------------------------------------------------

class AdjustmentIn(serializers.Serializer):
    client_id = serializers.IntegerField()
    amount = serializers.CharField(max_length=32, help_text="Signed: positive credits the wallet, negative debits.")
    currency = serializers.CharField(max_length=8)
    category = serializers.ChoiceField(choices=AdjustmentCategory.choices)
    note = serializers.CharField(max_length=2000)

    def validate_amount(self, value):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise serializers.ValidationError("Enter an amount such as 50.00 or -20.00.") from None
        if not amount.is_finite() or amount.is_zero():
            raise serializers.ValidationError("The amount must be a non-zero number.")
        return amount

    def validate_client_id(self, value):
        client = User.objects.filter(pk=value, kind=UserKind.CLIENT).first()
        if client is None:
            raise serializers.ValidationError("No client with this id.")
        return client


class AdjustmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    client_id = serializers.IntegerField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    category = serializers.CharField()
    note = serializers.CharField()
    status = serializers.CharField()
    created_by_id = serializers.IntegerField()
    decided_by_id = serializers.IntegerField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


def _adjustment(a: Adjustment) -> dict:
    return {"id": a.pk, "client_id": a.client_id, "amount": str(a.amount), "currency": a.currency,
            "category": a.category, "note": a.note, "status": a.status, "created_by_id": a.created_by_id,
            "decided_by_id": a.decided_by_id, "decided_at": a.decided_at, "created_at": a.created_at}


class AdjustmentsApi(MatrixAPIView):
    """Support reads adjustments; Finance makes them (above the threshold they wait for a Manager)."""

    required_permissions = {"GET": ("payments", "view"), "POST": ("payments", "adjust")}

    @extend_schema(responses={200: AdjustmentOut(many=True), **error_responses(403)}, summary="Manual adjustments")
    def get(self, request):
        status = request.query_params.get("status", "")
        if status and status not in ("pending_approval", "applied", "rejected"):
            return Response({"code": "invalid_status", "message": f"Unknown status {status!r}."}, status=400)
        return Response([_adjustment(a) for a in selectors.adjustments_list(status=status)[:500]])

    @extend_schema(request=AdjustmentIn, responses={201: AdjustmentOut, **error_responses(400, 403, 409)},
                   summary="Make a manual adjustment")
    def post(self, request):
        data = AdjustmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        try:
            made = adjustments.adjustment_create(actor=request.user, client=d["client_id"], amount=d["amount"],
                                                 currency=d["currency"], category=d["category"], note=d["note"])
        except REFUSALS as exc:
            return refusal(exc)
        return Response(_adjustment(made), status=201)


class DecisionIn(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class AdjustmentDecideApi(MatrixAPIView):
    """A Manager (never the maker) approves or rejects an adjustment waiting for approval."""

    required_permissions = {"POST": ("payments", "adjust")}

    @extend_schema(request=DecisionIn, responses={200: AdjustmentOut, **error_responses(400, 403, 404, 409)},
                   summary="Approve or reject a large adjustment")
    def post(self, request, pk: int):
        adjustment = get_object_or_404(Adjustment, pk=pk)
        data = DecisionIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            decided = adjustments.adjustment_decide(adjustment=adjustment, actor=request.user,
                                                    approve=data.validated_data["decision"] == "approve",
                                                    reason=data.validated_data["reason"])
        except REFUSALS as exc:
            return refusal(exc)
        return Response(_adjustment(decided))

