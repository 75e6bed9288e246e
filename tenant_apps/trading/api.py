"""Trading API for the signed-in client (/api/v1/trading/…): their own accounts only, typed refusals."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from tenant_apps.brokerage.models import AccountType
from tenant_apps.identity.models import UserKind
from tenant_apps.trading import selectors, services
from tenant_apps.trading.errors import TradingError
from tenant_apps.trading.models import TradingAccount


class IsClient(BasePermission):
    message = "Only a signed-in client of this brokerage can use this endpoint."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.kind == UserKind.CLIENT)


class ClientTradingApi(APIView):
    """Client endpoints: the account in the URL is looked up among the caller's own (no IDOR: 404 otherwise)."""

    permission_classes = [IsClient]

    def handle_exception(self, exc):
        if isinstance(exc, TradingError):
            return Response({"code": exc.code, "message": exc.message}, status=exc.http_status)
        if isinstance(exc, (TradingAccount.DoesNotExist, AccountType.DoesNotExist)):
            return Response({"code": "not_found", "message": "No such account."}, status=404)
        return super().handle_exception(exc)


class AccountOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    type = serializers.CharField()
    currency = serializers.CharField()
    balance = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    equity = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    free_margin = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    floating_pnl = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    leverage = serializers.IntegerField()
    is_demo = serializers.BooleanField()
    status = serializers.CharField()
    status_detail = serializers.CharField()
    synced_at = serializers.DateTimeField(allow_null=True)


class OpenIn(serializers.Serializer):
    account_type = serializers.CharField(help_text="Account type code, e.g. standard or demo.")
    leverage = serializers.IntegerField(required=False, min_value=1)


class LeverageIn(serializers.Serializer):
    leverage = serializers.IntegerField(min_value=1)


def account_types_offered(user) -> list[dict]:
    return [{"code": t.code, "name": t.name, "currency": t.currency, "is_demo": t.is_demo,
             "default_leverage": t.default_leverage,
             "leverage_options": services.leverage_options(client=user, account_type=t)}
            for t in AccountType.objects.filter(is_active=True).select_related("legal_entity").order_by("is_demo", "id")]


class AccountListApi(ClientTradingApi):
    @extend_schema(responses=AccountOut(many=True))
    def get(self, request):
        return Response({
            "accounts": [AccountOut(s.__dict__).data for s in selectors.client_account_summaries(request.user)],
            "account_types": account_types_offered(request.user),
            "downloads": selectors.download_links(),
        })

    @extend_schema(request=OpenIn, responses={201: AccountOut})
    def post(self, request):
        data = OpenIn(data=request.data)
        data.is_valid(raise_exception=True)
        account_type = AccountType.objects.select_related("legal_entity").get(
            code=data.validated_data["account_type"], is_active=True)
        opener = services.trading_account_open_demo if account_type.is_demo else services.trading_account_request_live
        account = opener(client=request.user, account_type=account_type,
                         leverage=data.validated_data.get("leverage"), actor=request.user)
        summary = selectors._summary(selectors.client_account(request.user, account.pk))
        return Response(AccountOut(summary.__dict__).data, status=status.HTTP_201_CREATED)


class AccountLeverageApi(ClientTradingApi):
    @extend_schema(request=LeverageIn)
    def post(self, request, account_id: int):
        data = LeverageIn(data=request.data)
        data.is_valid(raise_exception=True)
        selectors.client_account(request.user, account_id)
        lev = services.leverage_change_request(client=request.user, account_id=account_id,
                                               leverage=data.validated_data["leverage"])
        return Response({"id": lev.pk, "state": lev.state, "requested": lev.requested, "reason": lev.reason},
                        status=status.HTTP_201_CREATED)


class AccountArchiveApi(ClientTradingApi):
    def post(self, request, account_id: int):
        selectors.client_account(request.user, account_id)
        account = services.trading_account_archive(account_id=account_id, actor=request.user, client=request.user,
                                                   reason="closed by the client")
        return Response({"id": account.pk, "status": account.status})


class AccountCredentialsApi(ClientTradingApi):
    """The server password, shown exactly once (it is also e-mailed when the account is created)."""

    def post(self, request, account_id: int):
        account = selectors.client_account(request.user, account_id)
        password = services.trading_account_credentials_reveal(client=request.user, account_id=account_id)
        return Response({"login": account.login, "password": password, "server": account.server.display_name})
