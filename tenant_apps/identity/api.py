"""Identity API (/api/v1/ on a brokerage's domain): who am I, staff management, personal API tokens.

Thin views over the same services as the back-office pages; explicit input and output serializers; errors
are the typed {"code", "message", "fields"} bodies of platform_core.api."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tenant_apps.identity import invites, selectors
from tenant_apps.identity.api_auth import BrokerageTokenAuthentication, MatrixPermission, error_responses
from tenant_apps.identity.models import ApiToken
from tenant_apps.identity.permissions import PermissionDeniedError, user_permission_keys
from tenant_apps.identity.services import staff_roles_set, staff_team_set, user_deactivate
from tenant_apps.identity.tokens import api_token_create, api_token_revoke

# A brokerage's API is called with a session (its portals) or a personal API token; the platform's operator
# tokens mean nothing here, so the schema does not offer them either.
TENANT_AUTHENTICATION = [SessionAuthentication, BrokerageTokenAuthentication]


class IdentityApiView(APIView):
    """The matrix decides (required_permissions per method); a service's PermissionDeniedError is a typed 403."""

    authentication_classes = TENANT_AUTHENTICATION
    permission_classes = [MatrixPermission]
    required_permissions: dict[str, tuple[str, str]] = {}

    def handle_exception(self, exc):
        if isinstance(exc, PermissionDeniedError):
            exc = exceptions.PermissionDenied(str(exc), code="permission_denied")
        return super().handle_exception(exc)


# --- serializers ---------------------------------------------------------------------------------------

class RoleOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    is_system = serializers.BooleanField()


class TeamOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TokenInfoOut(serializers.Serializer):
    prefix = serializers.CharField()
    name = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())


class MeOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    kind = serializers.CharField()
    roles = RoleOut(many=True)
    team = TeamOut(allow_null=True)
    permissions = serializers.ListField(child=serializers.CharField(),
                                        help_text="Effective permissions: the roles' grants, narrowed to the "
                                                  "token's scopes when called with a token.")
    auth_method = serializers.ChoiceField(choices=["session", "token"])
    token = TokenInfoOut(allow_null=True)


class StaffOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    is_active = serializers.BooleanField()
    roles = RoleOut(many=True)
    team = TeamOut(allow_null=True)
    mfa_enrolled = serializers.BooleanField()
    last_login = serializers.DateTimeField(allow_null=True)


class StaffInviteIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    roles = serializers.ListField(child=serializers.CharField(max_length=40), allow_empty=False, max_length=50)
    team = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)
    valid_for_hours = serializers.IntegerField(required=False, min_value=1, max_value=720,
                                               help_text="How long the link works; 72 hours unless given.")


class StaffInviteOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    roles = serializers.SerializerMethodField()
    team = TeamOut(allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()

    def get_roles(self, invite) -> list[str]:
        return sorted(r.code for r in invite.roles.all())


class StaffPatchIn(serializers.Serializer):
    roles = serializers.ListField(child=serializers.CharField(max_length=40), required=False, allow_empty=False,
                                 max_length=50)
    team = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1,
                                    help_text="A team id, or null for no team.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def validate(self, data):
        if "roles" not in data and "team" not in data:
            raise serializers.ValidationError({"roles": ["Give roles, team or both."]})
        return data


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ApiTokenIn(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    scopes = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False, max_length=200)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiTokenOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiTokenCreatedOut(ApiTokenOut):
    token = serializers.CharField(help_text="The whole token, `brk_<prefix>_<secret>`. Shown this once only.")


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _staff_or_404(user_id: int):
    member = selectors.staff_member(user_id)
    if member is None:
        raise Http404("No such staff member.")
    return member


def _staff_payload(member) -> dict:
    return {"id": member.pk, "email": member.email, "full_name": member.full_name, "is_active": member.is_active,
            "roles": list(member.roles.all()), "team": member.team, "mfa_enrolled": member.mfa_enrolled,
            "last_login": member.last_login}


# --- views -------------------------------------------------------------------------------------------

class MeApi(APIView):
    """Who is calling: the user, their roles and team, and the permissions they may use in this request."""

    authentication_classes = TENANT_AUTHENTICATION
    permission_classes = [IsAuthenticated]  # any signed-in user of the brokerage: the portals use it too

    @extend_schema(responses={200: MeOut, **error_responses(401, 403)})
    def get(self, request):
        user = request.user
        token = getattr(user, "_brokeros_api_token", None)
        return Response(MeOut({
            "id": user.pk, "email": user.email, "full_name": user.full_name, "kind": user.kind,
            "roles": list(user.roles.order_by("name")), "team": user.team,
            "permissions": sorted(user_permission_keys(user)),
            "auth_method": "token" if token is not None else "session",
            "token": {"prefix": token.prefix, "name": token.name, "scopes": token.scopes} if token else None,
        }).data)


class StaffListApi(IdentityApiView):
    """The brokerage's staff (staff:view); POST invites a new staff member (staff:manage)."""

    required_permissions = {"GET": ("staff", "view"), "POST": ("staff", "manage")}

    @extend_schema(responses={200: StaffOut(many=True), **error_responses(401, 403)})
    def get(self, request):
        return Response(StaffOut([_staff_payload(m) for m in selectors.staff_directory()], many=True).data)

    @extend_schema(request=StaffInviteIn, responses={201: StaffInviteOut, **error_responses(400, 401, 403)},
                   description="Invite a staff member: the same invitation e-mail as the back office sends.")
    def post(self, request):
        data = _valid(StaffInviteIn, request)
        hours = data.get("valid_for_hours")
        invite = invites.staff_invite_create(email=data["email"], role_codes=data["roles"], team=data.get("team"),
                                             actor=request.user,
                                             valid_for=timedelta(hours=hours) if hours else None)
        return Response(StaffInviteOut(invite).data, status=status.HTTP_201_CREATED)


class StaffDetailApi(IdentityApiView):
    """One staff member (staff:view); PATCH changes their roles and team (staff:manage)."""

    required_permissions = {"GET": ("staff", "view"), "PATCH": ("staff", "manage")}

    @extend_schema(responses={200: StaffOut, **error_responses(401, 403, 404)})
    def get(self, request, user_id: int):
        return Response(StaffOut(_staff_payload(_staff_or_404(user_id))).data)

    @extend_schema(request=StaffPatchIn, responses={200: StaffOut, **error_responses(400, 401, 403, 404)},
                   description="Replace the roles and/or move to a team (null: no team). Audited old → new.")
    def patch(self, request, user_id: int):
        member = _staff_or_404(user_id)
        data = _valid(StaffPatchIn, request)
        with transaction.atomic():
            if "roles" in data:
                staff_roles_set(user=member, role_codes=data["roles"], actor=request.user, reason=data.get("reason", ""))
            if "team" in data:
                staff_team_set(user=member, team=data["team"], actor=request.user, reason=data.get("reason", ""))
        return Response(StaffOut(_staff_payload(_staff_or_404(user_id))).data)


class StaffDeactivateApi(IdentityApiView):
    """Switch a staff member off (staff:manage)."""

    required_permissions = {"POST": ("staff", "manage")}

    @extend_schema(request=ReasonIn, responses={200: StaffOut, **error_responses(400, 401, 403, 404)},
                   description="Deactivate: sessions end and API tokens are revoked at once. The reason is required.")
    def post(self, request, user_id: int):
        member = _staff_or_404(user_id)
        data = _valid(ReasonIn, request)
        user_deactivate(user=member, actor=request.user, reason=data["reason"])
        return Response(StaffOut(_staff_payload(_staff_or_404(user_id))).data)


class ApiTokenListApi(IdentityApiView):
    """Your own API tokens (api_tokens:manage): list them, or mint one."""

    required_permissions = {"GET": ("api_tokens", "manage"), "POST": ("api_tokens", "manage")}

    @extend_schema(responses={200: ApiTokenOut(many=True), **error_responses(401, 403)})
    def get(self, request):
        return Response(ApiTokenOut(selectors.api_tokens_of(request.user), many=True).data)

    @extend_schema(request=ApiTokenIn, responses={201: ApiTokenCreatedOut, **error_responses(400, 401, 403)},
                   description="Mint a token for yourself. Scopes must be permissions you may use now (a token "
                               "never mints a wider one). The secret is in this response only.")
    def post(self, request):
        data = _valid(ApiTokenIn, request)
        minted = api_token_create(user=request.user, name=data["name"], scopes=data["scopes"],
                                  expires_at=data.get("expires_at"))
        body = ApiTokenOut(minted.token).data
        body["token"] = minted.secret
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class ApiTokenDetailApi(IdentityApiView):
    """Revoke one of your own API tokens."""

    required_permissions = {"DELETE": ("api_tokens", "manage")}

    @extend_schema(responses={204: OpenApiResponse(description="Revoked."), **error_responses(400, 401, 403, 404)})
    def delete(self, request, token_id: int):
        token = ApiToken.objects.filter(pk=token_id, user=request.user).first()
        if token is None:
            raise Http404("No such token of yours.")
        api_token_revoke(token=token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
