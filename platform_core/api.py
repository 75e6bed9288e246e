"""API conventions shared by every endpoint: typed error bodies {"code", "message", "fields"?}, never a 500 for bad input."""
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django_tenants.utils import get_public_schema_name
from rest_framework import status
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response

from provisioning.errors import ProvisioningError, ProvisioningInputError
from tenancy.context import NoTenantError
from tenancy.errors import TenancyError


class PlatformTokenAuthentication(TokenAuthentication):
    """API tokens live in the public schema only (platform operators). On a brokerage's host the token table
    falls through the search path to public while the user join resolves in the brokerage's own users
    table, so an operator's token would sign in as that brokerage's user with the same id: refuse it there."""

    def authenticate(self, request):
        if connection.schema_name == get_public_schema_name():
            return super().authenticate(request)
        auth = get_authorization_header(request).split()
        if auth and auth[0].lower() == self.keyword.lower().encode():
            raise AuthenticationFailed("Token authentication is only available on the platform host.")
        return None


def exception_handler(exc, context):
    # Imported here: DRF resolves this handler while rest_framework.views is still importing.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, RequestDataTooBig):
        return Response({"code": "request_too_large", "message": "The request body is too large."},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, ProvisioningInputError):
        return Response({"code": exc.code, "message": "The brokerage could not be provisioned: fix the fields below.",
                         "fields": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ProvisioningError | TenancyError):
        body = {"code": exc.code, "message": exc.message}
        if getattr(exc, "field", None):
            body["fields"] = {exc.field: [exc.message]}
        return Response(body, status=status.HTTP_409_CONFLICT if exc.code == "transition_not_allowed" else 400)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response({"code": "invalid_input", "message": "Invalid input.", "fields": fields}, status=400)
    if isinstance(exc, NoTenantError):
        return Response({"code": "no_tenant", "message": str(exc)}, status=status.HTTP_404_NOT_FOUND)
    response = drf_exception_handler(exc, context)
    if response is not None:
        data = response.data
        code = getattr(exc, "default_code", "error")
        if isinstance(data, dict) and "detail" in data:
            response.data = {"code": getattr(data["detail"], "code", code), "message": str(data["detail"])}
        else:
            response.data = {"code": "invalid_input", "message": "Invalid input.", "fields": data}
    return response
