"""Trading API: the signed-in client's own accounts (/api/v1/trading/…) and the staff API
(/api/v1/backoffice/trading/…, matrix-guarded). Typed refusals: {"code", "message"}."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from tenant_apps.backoffice.api_access import MatrixAPIView
from tenant_apps.brokerage.models import AccountType
from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import has_perm
from tenant_apps.trading import selectors, services
from tenant_apps.trading.errors import TradingError
from tenant_apps.trading.models import AccountSnapshot, AccountStatus, Position, TradingAccount


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


# --- staff (back-office) API: /api/v1/backoffice/trading/accounts/… ---------------------------------------------

class StaffTradingApi(MatrixAPIView):
    """Staff endpoints: accounts of clients the caller may see (others: 404); money only with
    clients.finance:view, e-mail only with clients.contact:view; writes go through the same services as the
    back-office pages (audited, pushed to the server, the jurisdiction's leverage cap enforced)."""

    def handle_exception(self, exc):
        if isinstance(exc, TradingError):
            return Response({"code": exc.code, "message": exc.message}, status=exc.http_status)
        if isinstance(exc, TradingAccount.DoesNotExist):
            return Response({"code": "not_found", "message": "No such account."}, status=404)
        return super().handle_exception(exc)

    def account(self, request, account_id: int) -> TradingAccount:
        if not selectors.accounts_visible_to(request.user).filter(pk=account_id).exists():
            raise TradingAccount.DoesNotExist
        return selectors.account_for_staff(account_id)


class StaffAccountOut(serializers.Serializer):
    id = serializers.IntegerField()
    login = serializers.IntegerField()
    client_id = serializers.IntegerField()
    client_name = serializers.CharField()
    client_email = serializers.CharField(required=False, help_text="Only with clients.contact:view.")
    type = serializers.CharField()
    currency = serializers.CharField()
    leverage = serializers.IntegerField()
    platform_group = serializers.CharField()
    is_demo = serializers.BooleanField()
    status = serializers.CharField(help_text="pending_creation, active, blocked, archived or failed.")
    status_reason = serializers.CharField()
    server_push_pending = serializers.BooleanField(help_text="A block/unblock not on the server yet.")
    balance = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True, required=False,
                                       help_text="Money fields only with clients.finance:view.")
    credit = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True, required=False)
    equity = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True, required=False)
    margin = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True, required=False)
    free_margin = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True, required=False)
    margin_level = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True, required=False)
    floating_pnl = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True, required=False)
    synced_at = serializers.DateTimeField(allow_null=True)


class StaffAccountDetailOut(StaffAccountOut):
    open_drift = serializers.ListField(child=serializers.DictField(), help_text="Differences found on the server.")
    open_positions = serializers.IntegerField()


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class StaffLeverageIn(ReasonIn):
    leverage = serializers.IntegerField(min_value=1)


def _sections(user) -> dict[str, bool]:
    return {"money": has_perm(user, "clients.finance", "view"), "contact": has_perm(user, "clients.contact", "view")}


def staff_account_payload(account: TradingAccount, sections: dict[str, bool]) -> dict:
    try:
        snap = account.snapshot
    except AccountSnapshot.DoesNotExist:
        snap = None
    data = {
        "id": account.pk, "login": account.login, "client_id": account.client_id,
        "client_name": account.client.full_name, "type": account.account_type.name, "currency": account.currency,
        "leverage": account.leverage, "platform_group": account.platform_group, "is_demo": account.is_demo,
        "status": account.status, "status_reason": account.status_reason,
        "server_push_pending": account.server_push_pending, "synced_at": snap.synced_at if snap else None,
    }
    if sections["contact"]:
        data["client_email"] = account.client.email
    if sections["money"]:
        data.update({
            "balance": snap.balance if snap else None, "credit": snap.credit if snap else None,
            "equity": snap.equity if snap else None, "margin": snap.margin if snap else None,
            "free_margin": snap.free_margin if snap else None, "margin_level": snap.margin_level if snap else None,
            "floating_pnl": snap.floating_profit if snap else None,
        })
    return data


def _out(serializer_class, payload: dict) -> dict:
    """Serialised, without the fields the caller may not see (absent from the payload, not null)."""
    data = serializer_class(payload).data
    return {k: v for k, v in data.items() if k in payload}


class StaffAccountListApi(StaffTradingApi):
    required_permissions = {"GET": ("trading", "view")}

    @extend_schema(responses=StaffAccountOut(many=True),
                   parameters=[OpenApiParameter("status", str, description="Only accounts in this status."),
                               OpenApiParameter("q", str, description="Login prefix or client e-mail part."),
                               OpenApiParameter("page", int)])
    def get(self, request):
        status_filter = request.query_params.get("status") or None
        if status_filter and status_filter not in AccountStatus.values:
            return Response({"code": "invalid_status", "message": f"Unknown status {status_filter!r}; use one of "
                             f"{', '.join(AccountStatus.values)}."}, status=400)
        page = selectors.accounts_for_staff(status=status_filter, query=(request.query_params.get("q") or "")[:40],
                                            page=request.query_params.get("page") or 1,
                                            visible=selectors.accounts_visible_to(request.user))
        sections = _sections(request.user)
        return Response({
            "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages,
            "results": [_out(StaffAccountOut, staff_account_payload(a, sections)) for a in page],
        })


class StaffAccountDetailApi(StaffTradingApi):
    required_permissions = {"GET": ("trading", "view")}

    @extend_schema(responses=StaffAccountDetailOut)
    def get(self, request, account_id: int):
        account = self.account(request, account_id)
        data = staff_account_payload(account, _sections(request.user))
        data["open_drift"] = [{"field": r.field, "platform": r.platform_value, "server": r.server_value,
                               "since": r.created_at} for r in account.drift_reports.filter(resolved=False)]
        data["open_positions"] = Position.objects.filter(server_id=account.server_id, login=account.login).count()
        return Response(_out(StaffAccountDetailOut, data))


class _StaffBlockApi(StaffTradingApi):
    required_permissions = {"POST": ("trading", "manage")}
    blocked = True

    @extend_schema(request=ReasonIn, responses=StaffAccountOut)
    def post(self, request, account_id: int):
        account = self.account(request, account_id)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.trading_account_set_blocked(account_id=account.pk, blocked=self.blocked, actor=request.user,
                                                       reason=data.validated_data.get("reason", ""))
        account = selectors.account_for_staff(account.pk)
        return Response(_out(StaffAccountOut, staff_account_payload(account, _sections(request.user))))


class StaffAccountBlockApi(_StaffBlockApi):
    """Block trading: recorded and audited at once, pushed to the server (or by the next sync if it is down)."""

    blocked = True


class StaffAccountUnblockApi(_StaffBlockApi):
    blocked = False


class StaffAccountLeverageApi(StaffTradingApi):
    """Set the leverage directly; over the jurisdiction's cap for this client it is refused naming the rule."""

    required_permissions = {"POST": ("trading", "manage")}

    @extend_schema(request=StaffLeverageIn, responses=StaffAccountOut)
    def post(self, request, account_id: int):
        account = self.account(request, account_id)
        data = StaffLeverageIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.trading_account_change_leverage(account_id=account.pk, leverage=data.validated_data["leverage"],
                                                 actor=request.user, reason=data.validated_data.get("reason", ""))
        account = selectors.account_for_staff(account.pk)
        return Response(_out(StaffAccountOut, staff_account_payload(account, _sections(request.user))))
