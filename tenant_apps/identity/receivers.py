"""Reactions to allauth's sign-in: known-device bookkeeping (and its cookie on the sign-in response)."""
from __future__ import annotations

from django.db import connection
from django.urls import reverse
from django_tenants.utils import get_public_schema_name

from tenant_apps.identity.devices import device_cookie_read, device_cookie_set


def on_user_logged_in(sender, request, user, response=None, **kwargs) -> None:
    """allauth's `user_logged_in`: sent once every stage (password, MFA) is done, with the response to send."""
    if connection.schema_name == get_public_schema_name():
        return
    from allauth.account.adapter import get_adapter

    from tenant_apps.identity.services import device_sign_in_record

    device, _ = device_sign_in_record(
        user=user, device_id=device_cookie_read(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        ip=get_adapter(request).get_client_ip(request),
        sessions_url=request.build_absolute_uri(reverse("usersessions_list")),
    )
    if response is not None:
        device_cookie_set(response, device.device_id)
