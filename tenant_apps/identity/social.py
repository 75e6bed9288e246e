"""Social sign-in (Google, Apple) per brokerage: off until its Super Admin configures a provider.

Each brokerage's schema holds its own allauth SocialApp rows, so a Google client id configured at one broker
never appears at another. Secrets are stored encrypted (Fernet, FIELD_ENCRYPTION_KEYS) and decrypted only when
allauth asks for the app; staff see hints only.
"""
from __future__ import annotations

import copy

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.core.exceptions import ValidationError
from django.db import transaction

from tenancy.context import require_tenant
from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import permission_require

PROVIDERS = {"google": "Google", "apple": "Apple"}


def _crypto():
    from tenant_apps.payments import crypto

    return crypto


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def list_apps(self, request, provider=None, client_id=None):
        apps = []
        for app in super().list_apps(request, provider=provider, client_id=client_id):
            if app.provider not in PROVIDERS:
                continue
            clear = copy.copy(app)
            clear.secret = _decrypt(app.secret)
            clear.settings = dict(app.settings or {})
            if "certificate_key" in clear.settings:
                clear.settings["certificate_key"] = _decrypt(clear.settings["certificate_key"])
            apps.append(clear)
        return apps

    def get_app(self, request, provider, client_id=None):
        from allauth.socialaccount.models import SocialApp
        from django.http import Http404

        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            # Not configured at this brokerage: the provider's URLs don't exist here (not a 500).
            raise Http404(f"{PROVIDERS.get(provider, provider)} sign-in is not offered here.") from None

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.kind = UserKind.CLIENT  # whoever signs up through a provider at a broker's portal is a client
        return user


def _decrypt(value: str) -> str:
    if not value:
        return value
    crypto = _crypto()
    try:
        return crypto.decrypt(value)
    except crypto.InvalidToken:
        return value if not value.startswith("gAAAA") else ""


def social_providers_status() -> list[dict]:
    from allauth.socialaccount.models import SocialApp

    require_tenant()
    configured = {app.provider: app for app in SocialApp.objects.filter(provider__in=PROVIDERS)}
    crypto = _crypto()
    rows = []
    for code, name in PROVIDERS.items():
        app = configured.get(code)
        rows.append({"code": code, "name": name, "enabled": app is not None,
                     "client_id": app.client_id if app else "",
                     "secret_hint": crypto.secret_hint(_decrypt(app.secret)) if app and app.secret else ""})
    return rows


@transaction.atomic
def social_provider_configure(*, provider: str, client_id: str, secret: str = "", key_id: str = "",
                              team_id: str = "", private_key: str = "", actor) -> None:
    """Enable (or update) Google or Apple sign-in for this brokerage. Apple needs key id, team id and the
    private key; Google a client secret."""
    from allauth.socialaccount.models import SocialApp

    from tenant_apps.audit.services import audit_record

    require_tenant()
    permission_require(actor, "settings", "edit")
    errors = {}
    if provider not in PROVIDERS:
        errors["provider"] = f"Unknown provider '{provider}'."
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 191:
        errors["client_id"] = "The client ID is required (at most 191 characters)."
    if provider == "google" and not (secret or "").strip():
        errors["secret"] = "Google needs its client secret."
    if provider == "apple":
        if not key_id.strip():
            errors["key_id"] = "Apple needs the key ID of your Sign in with Apple key."
        if not team_id.strip():
            errors["team_id"] = "Apple needs your team ID."
        if "BEGIN PRIVATE KEY" not in (private_key or ""):
            errors["private_key"] = "Paste the .p8 private key (it starts with -----BEGIN PRIVATE KEY-----)."
    if errors:
        raise ValidationError(errors)
    crypto = _crypto()
    app = SocialApp.objects.filter(provider=provider).first() or SocialApp(provider=provider, name=PROVIDERS[provider])
    before = app.client_id if app.pk else ""
    app.client_id = client_id
    if provider == "google":
        app.secret = crypto.encrypt(secret.strip())
        app.settings = {}
    else:
        app.secret = key_id.strip()
        app.settings = {"certificate_key": crypto.encrypt(private_key.strip()), "team_id": team_id.strip()}
    app.save()
    audit_record(action="social_login.configured", object_type="socialaccount.socialapp", object_id=provider,
                 changes={"client_id": [before, client_id]}, actor=actor)


@transaction.atomic
def social_provider_disable(*, provider: str, actor) -> None:
    from allauth.socialaccount.models import SocialApp

    from tenant_apps.audit.services import audit_record

    require_tenant()
    permission_require(actor, "settings", "edit")
    deleted, _ = SocialApp.objects.filter(provider=provider).delete()
    if deleted:
        audit_record(action="social_login.disabled", object_type="socialaccount.socialapp", object_id=provider,
                     changes={"enabled": [True, False]}, actor=actor)
