"""Client money API (/api/v1/money/): the same services as the Trader's Room pages, for the signed-in client."""
from decimal import Decimal, InvalidOperation

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tenant_apps.payments import states
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.services import withdrawals
from tenant_apps.payments.services.methods import methods_for_client
from tenant_apps.trading.api import IsClient


class WithdrawalIn(serializers.Serializer):
    method = serializers.CharField(max_length=40)
    amount = serializers.CharField(max_length=32)
    currency = serializers.CharField(max_length=8)
    holder_name = serializers.CharField(max_length=200, required=False, default="")
    account = serializers.CharField(max_length=64, required=False, default="")

    def validate_amount(self, value):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise serializers.ValidationError("Enter an amount such as 100.00.") from None
        if not amount.is_finite() or amount <= 0:
            raise serializers.ValidationError("The amount must be positive.")
        return amount


class WithdrawalOut(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    status = serializers.CharField()
    status_text = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()


def _out(w) -> dict:
    return {"id": w.pk, "reference": w.reference, "status": w.status,
            "status_text": states.WITHDRAWAL_CLIENT_STATUS[w.status], "amount": str(w.amount), "currency": w.currency}


class ClientWithdrawalsApi(APIView):
    permission_classes = [IsClient]

    @extend_schema(responses=WithdrawalOut(many=True))
    def get(self, request):
        return Response([_out(w) for w in request.user.withdrawals.select_related("method")[:50]])

    @extend_schema(request=WithdrawalIn, responses={201: WithdrawalOut})
    def post(self, request):
        data = WithdrawalIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        from tenant_apps.compliance.selectors import client_may

        allowed, why = client_may(request.user, "withdraw")
        if not allowed:  # the KYC capability table decides, before anything else is looked at
            return Response({"code": "kyc_pending", "message": why}, status=403)
        record = getattr(request.user, "client_record", None)
        methods = methods_for_client(user=request.user, direction="withdrawal",
                                     country=(getattr(record, "country", "") or "").upper())
        method = next((m for m in methods if m.code == d["method"]), None)
        if method is None:
            return Response({"code": "invalid_input", "message": "Invalid input.",
                             "fields": {"method": [f"'{d['method']}' is not a withdrawal method offered to you."]}},
                            status=400)
        try:
            w = withdrawals.withdrawal_request(client=request.user, method=method, amount=d["amount"],
                                               currency=d["currency"], holder_name=d["holder_name"],
                                               destination_account=d["account"])
        except PaymentsError as exc:
            status = 403 if exc.code == "kyc_not_allowed" else 409
            return Response({"code": exc.code, "message": exc.message}, status=status)
        return Response(_out(w), status=201)
