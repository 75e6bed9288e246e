"""Our allauth adapters: sign-in lockout wording and key, themed e-mail subjects, and MFA rules for staff."""
from __future__ import annotations

import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tenant_apps.identity.policies import mfa_required
from tenant_apps.identity.throttling import lockout_message, login_lockout_seconds, longest_window_seconds


def _portal_name() -> str:
    from themes.selectors import theme_current

    return theme_current().portal_name


def _signed_in_recently() -> bool:
    from allauth.account import app_settings as account_settings
    from allauth.account.internal.flows.login import get_authentication_records
    from allauth.core import context

    request = context.request
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return False
    records = get_authentication_records(request, user)
    return bool(records) and time.time() - records[-1].get("at", 0) < account_settings.REAUTHENTICATION_TIMEOUT


class AccountAdapter(DefaultAccountAdapter):
    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # The cache key already carries the brokerage's schema, so the login alone names the account. allauth's
        # default also adds the request host, which would give each domain of one brokerage its own counter.
        login = credentials.get("email") or credentials.get("username") or ""
        return str(login).strip().lower()

    def pre_authenticate(self, request, **credentials) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as exc:
            # Same words and the same arithmetic for an unknown e-mail and a known one: no enumeration.
            key = self._get_login_attempts_cache_key(request, **credentials)
            seconds = login_lockout_seconds(request, key=key) or longest_window_seconds()
            raise ValidationError(lockout_message(seconds), code="too_many_login_attempts") from exc

    def validation_error(self, code, *args) -> ValidationError:
        if code == "too_many_login_attempts":
            # Raised by the MFA code step, which counts under a key of its own: tell the IP's wait, or the window.
            from allauth.core import context

            seconds = login_lockout_seconds(context.request, key=None) or longest_window_seconds()
            return ValidationError(lockout_message(seconds), code=code)
        return super().validation_error(code, *args)

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        required = super().is_reauthentication_required(app=app, **kwargs)
        if required and app == "allauth.mfa":
            # A sign-in completed within the reauthentication timeout is itself a fresh proof (sudo mode starts
            # at sign-in): the MFA set-up a staff member is sent to right after signing in asks no password again.
            return not _signed_in_recently()
        return required

    def format_email_subject(self, subject: str) -> str:
        # "[Alpha Trading] ..." rather than "[alpha.localhost] ...": the brokerage's own name.
        return f"[{_portal_name()}] {subject}"


class MFAAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": _(
            "Your role gives you money or compliance rights, so two-factor authentication must stay on."
        ),
    }

    # TOTP secrets and recovery-code seeds are stored encrypted (Fernet, FIELD_ENCRYPTION_KEYS with rotation).
    def encrypt(self, text: str) -> str:
        from tenant_apps.payments.crypto import encrypt

        return encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        from tenant_apps.payments.crypto import InvalidToken, decrypt

        try:
            return decrypt(encrypted_text)
        except InvalidToken:
            if encrypted_text.startswith("gAAAA"):
                raise  # a real ciphertext no configured key opens: a key was retired too early
            return encrypted_text  # stored before encryption was switched on

    def get_totp_issuer(self) -> str:
        # What the authenticator app shows next to the code: the brokerage's portal name, not a host name.
        return _portal_name()

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        if authenticator.type == Authenticator.Type.TOTP and mfa_required(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)
