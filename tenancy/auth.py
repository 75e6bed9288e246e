"""Authentication backends that respect the schema they run in."""
from allauth.account.auth_backends import AuthenticationBackend
from django.db import connection
from django_tenants.utils import get_public_schema_name


class BrokerageEmailBackend(AuthenticationBackend):
    """allauth's e-mail backend, inside brokerages only.

    allauth's EmailAddress table is a TENANT table: in the public schema (the operator console) this
    backend would query a table that does not exist and turn every failed operator sign-in into a 500.
    Operators are authenticated by ModelBackend alone.
    """

    def authenticate(self, request, **credentials):
        if connection.schema_name == get_public_schema_name():
            return None
        return super().authenticate(request, **credentials)
