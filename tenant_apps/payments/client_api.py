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


# --- internal transfers ----------------------------------------------------------------------------------------

class TransferIn(serializers.Serializer):
    source = serializers.CharField(max_length=24, help_text='"w<id>" for a wallet, "t<id>" for a trading account '
                                                            "(the keys GET lists).")
    destination = serializers.CharField(max_length=24)
    amount = serializers.CharField(max_length=32)

    validate_amount = WithdrawalIn.validate_amount


class TransferOut(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    source = serializers.CharField()
    destination = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.CharField()
    status_text = serializers.CharField()
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class TransferAccountOut(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    label = serializers.CharField()
    currency = serializers.CharField()
    available = serializers.CharField(allow_null=True, help_text="Wallet: available balance; trading: free margin.")
    status = serializers.CharField()
    usable = serializers.BooleanField()


class TransfersPageOut(serializers.Serializer):
    accounts = TransferAccountOut(many=True)
    transfers = TransferOut(many=True)


def _transfer_out(t) -> dict:
    from tenant_apps.payments.selectors import transfer_side_label

    return {"id": t.pk, "reference": t.reference, "source": transfer_side_label(t, "source"),
            "destination": transfer_side_label(t, "destination"), "amount": str(t.amount), "currency": t.currency,
            "status": t.status, "status_text": states.TRANSFER_CLIENT_STATUS.get(t.status, "Completed"),
            "failure_reason": t.failure_reason, "created_at": t.created_at, "completed_at": t.completed_at}


class ClientTransfersApi(APIView):
    """GET: the client's wallets and live trading accounts (with what may leave each) and their transfers.
    POST: a transfer between two of them (same currency); 201 with its status, or a typed refusal.

    An optional `Idempotency-Key` header (8–80 of A–Z a–z 0–9 _ . : -) makes the POST safe to resend: the first
    request with a key answers 201; a replay with the same key and the same body answers 200 with the SAME
    transfer and the header `Idempotent-Replayed: true`, and moves nothing; the same key with a different body
    answers 409 `idempotency_key_reused`. A request refused (4xx) stores nothing, so its key may be reused."""

    permission_classes = [IsClient]

    @extend_schema(responses=TransfersPageOut)
    def get(self, request):
        from tenant_apps.payments import selectors

        accounts = [{"key": e["key"], "kind": e["kind"], "label": e["label"], "currency": e["currency"],
                     "available": None if e["amount"] is None else str(e["amount"]), "status": e["status"],
                     "usable": e["usable"]} for e in selectors.transfer_endpoints(client=request.user)]
        return Response({"accounts": accounts,
                         "transfers": [_transfer_out(t) for t in selectors.transfers_for_client(client=request.user)]})

    @extend_schema(request=TransferIn, responses={201: TransferOut})
    def post(self, request):
        from tenant_apps.identity.permissions import PermissionDeniedError
        from tenant_apps.ledger.errors import LedgerError
        from tenant_apps.payments import selectors
        from tenant_apps.payments.services import trading_transfers

        data = TransferIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        from tenant_apps.compliance.selectors import client_may

        allowed, why = client_may(request.user, "transfer")
        if not allowed:  # the KYC capability table decides, before anything else is looked at
            return Response({"code": "kyc_pending", "message": why}, status=403)
        endpoints = {e["key"]: e for e in selectors.transfer_endpoints(client=request.user, live=False)}
        ends = {name: endpoints.get(d[name].strip()) for name in ("source", "destination")}
        unknown = {name: [f"'{d[name]}' is not one of your wallets or trading accounts."]
                   for name, row in ends.items() if row is None}
        if unknown:
            return Response({"code": "invalid_input", "message": "Invalid input.", "fields": unknown}, status=400)
        try:
            transfer = trading_transfers.transfer_request(
                client=request.user, source=ends["source"]["object"], destination=ends["destination"]["object"],
                amount=d["amount"], idempotency_key=request.headers.get("Idempotency-Key", "").strip())
        except PermissionDeniedError:
            return Response({"code": "not_found", "message": "No such account."}, status=404)
        except (PaymentsError, LedgerError) as exc:
            status = 400 if getattr(exc, "code", "") == "invalid_idempotency_key" else 409
            return Response({"code": str(exc.code), "message": exc.message}, status=status)
        if transfer.replayed:
            return Response(_transfer_out(transfer), status=200, headers={"Idempotent-Replayed": "true"})
        return Response(_transfer_out(transfer), status=201)
