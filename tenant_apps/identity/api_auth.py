"""How the tenant API knows who is calling and what they may do: bearer API tokens, the matrix permission
class every /api/v1/ view uses, the shared error body, and how both appear in the OpenAPI schema."""
from __future__ import annotations

import logging

from django.db import connection
from django_tenants.utils import get_public_schema_name
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import PermissionDeniedError, has_perm, permission_key

log = logging.getLogger("brokeros.access")

BEARER = "Bearer"
WWW_AUTHENTICATE = f'{BEARER} realm="api"'


class TokenInvalidError(exceptions.APIException):
    """401 with {"code": "token_invalid"}. Not DRF's AuthenticationFailed: DRF turns that into a 403 when the
    first authentication class (the session) names no WWW-Authenticate scheme; a bad token is a 401."""

    status_code = 401
    default_code = "token_invalid"
    default_detail = "Invalid API token."
    auth_header = WWW_AUTHENTICATE


class BrokerageTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer brk_<prefix>_<secret>` on a brokerage's host. The token's scopes narrow what the
    request may do: has_perm sees the user's permissions ∩ the scopes (set on the user for this request)."""

    keyword = BEARER

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if connection.schema_name == get_public_schema_name():
            raise TokenInvalidError("Brokerage API tokens work only on the brokerage's own domain.")
        if len(header) != 2:
            raise TokenInvalidError("Send the token as 'Authorization: Bearer brk_<prefix>_<secret>'.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeError:
            raise TokenInvalidError("Malformed API token.") from None

        from tenant_apps.identity.policies import mfa_required
        from tenant_apps.identity.selectors import totp_enrolled
        from tenant_apps.identity.tokens import TokenInvalid, api_token_authenticate

        try:
            user, token = api_token_authenticate(raw)
        except TokenInvalid as exc:
            raise TokenInvalidError(exc.message) from None
        # A role given after the token was made may call for MFA: the back office would stop them, so must we.
        if mfa_required(user) and not totp_enrolled(user):
            from tenant_apps.identity.middleware import mfa_required_message

            raise exceptions.PermissionDenied(mfa_required_message(), code="mfa_enrolment_required")
        user._brokeros_token_scopes = frozenset(token.scopes or ())
        user._brokeros_api_token = token
        return user, token

    def authenticate_header(self, request):
        return WWW_AUTHENTICATE


def required_permission(view, method: str) -> tuple[str, str] | None:
    table = getattr(view, "required_permissions", None) or {}
    method = method.upper()
    if method in ("HEAD", "OPTIONS"):
        method = "GET"
    return table.get(method)


def api_access_denied(request, capability: str, action: str) -> None:
    """Log and audit a refusal of the API, as backoffice.access.access_denied does for pages."""
    user = request.user
    log.warning("API access denied: %s to %s:%s at %s %s", getattr(user, "email", "anonymous"), capability, action,
                request.method, request.path)
    if getattr(user, "is_authenticated", False):
        from tenant_apps.audit.services import audit_record

        audit_record(action="access.denied", object_type="permission", object_id=permission_key(capability, action),
                     reason=f"{request.method} {request.path}"[:300], actor=user, request=request)


class MatrixPermission(BasePermission):
    """The view says what each method needs: `required_permissions = {"GET": ("staff", "view"), ...}`, and
    only staff pass (as in the back office: StaffPermissionMixin).

    A method the view answers but the table leaves out is refused (fail closed); one it does not answer is
    let through so DRF says 405. Refusals are logged and audited."""

    message = "You do not have permission to do this."
    code = "permission_denied"

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return False  # DRF answers "not_authenticated"
        needed = required_permission(view, request.method)
        if needed is None:
            handler = getattr(view, request.method.lower(), None)
            if handler is None or request.method.lower() not in view.http_method_names:
                return True
            log.error("API view %s has no required_permissions entry for %s: refused", type(view).__name__,
                      request.method)
            return False
        if getattr(user, "kind", None) == UserKind.STAFF and has_perm(user, *needed):
            return True
        api_access_denied(request, *needed)
        self.message = str(PermissionDeniedError(*needed))
        return False


# --- documentation ----------------------------------------------------------------------------------

class ErrorOut(serializers.Serializer):
    """Every error the API returns: a stable code, a sentence for people, and per-field messages."""

    code = serializers.CharField(help_text="Stable machine-readable code, e.g. invalid_input, token_invalid, "
                                           "not_authenticated, permission_denied, not_found.")
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="Field name → messages (only with invalid_input).")


def error_responses(*statuses: int) -> dict:
    """`extend_schema(responses={200: X, **error_responses(400, 403)})`."""
    return {status: ErrorOut for status in statuses}


class BrokerageTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenant_apps.identity.api_auth.BrokerageTokenAuthentication"
    name = "brokerageToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http", "scheme": "bearer", "bearerFormat": "brk_<prefix>_<secret>",
            "description": "A personal API token made under Account settings → API tokens on the brokerage's own "
                           "domain. It can do what its owner may do now, limited to its scopes. A revoked, expired "
                           "or unknown token gets 401 {\"code\": \"token_invalid\"}.",
        }
