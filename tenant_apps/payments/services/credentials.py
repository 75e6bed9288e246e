"""PSP connections' secrets (encrypted at rest, audited with hints only) and the adapters built from them."""
from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse

from tenancy.context import require_tenant
from tenant_apps.brokerage.models import PaymentProviderConfig
from tenant_apps.payments import crypto
from tenant_apps.payments.adapters import adapter_class
from tenant_apps.payments.adapters.base import Credentials, PspAdapter
from tenant_apps.payments.adapters.sandbox import SandboxAdapter
from tenant_apps.payments.errors import UnknownProvider
from tenant_apps.payments.models import PspCredentials

log = logging.getLogger(__name__)

# --- PSP credentials and adapters ---------------------------------------------------------------------------

def _stored_credentials(config: PaymentProviderConfig) -> PspCredentials | None:
    try:
        return config.credentials
    except PspCredentials.DoesNotExist:
        return None


def _forget_target(schema: str, code: str) -> None:
    from tenant_apps.payments.services.inbox import forget_webhook_target

    forget_webhook_target(schema, code)


def psp_credentials_of(config: PaymentProviderConfig) -> Credentials:
    """The decrypted secrets of a connection (empty when none are set)."""
    stored = _stored_credentials(config)
    if stored is None:
        return Credentials()
    api_key = crypto.decrypt(stored.api_key_encrypted) if stored.api_key_encrypted else ""
    secrets_ = json.loads(crypto.decrypt(stored.webhook_secrets_encrypted)) if stored.webhook_secrets_encrypted else []
    return Credentials(api_key=api_key, webhook_secrets=tuple(secrets_))


def _provider(provider: PaymentProviderConfig | str) -> PaymentProviderConfig:
    if isinstance(provider, PaymentProviderConfig):
        return provider
    config = PaymentProviderConfig.objects.select_related("credentials").filter(code=provider).first()
    if config is None:
        raise UnknownProvider(f"No payment provider '{provider}' in this brokerage.")
    return config


@transaction.atomic
def psp_credentials_set(*, provider: PaymentProviderConfig | str, api_key: str | None = None,
                        webhook_secrets: Sequence[str] | None = None, actor=None, request=None,
                        reason: str = "") -> PspCredentials:
    """Replace a connection's API key and/or webhook secrets (None leaves one unchanged). Audited with hints
    only; the secrets themselves never leave this function unencrypted."""
    from tenant_apps.audit.services import audit_record

    require_tenant()
    config = _provider(provider)
    stored, _ = PspCredentials.objects.select_for_update().get_or_create(provider=config)
    before = {"api_key": stored.api_key_hint, "webhook_secrets": list(stored.webhook_secret_hints)}
    if api_key is not None:
        stored.api_key_encrypted = crypto.encrypt(api_key) if api_key else ""
        stored.api_key_hint = crypto.secret_hint(api_key)
    if webhook_secrets is not None:
        cleaned = [s.strip() for s in webhook_secrets if s and s.strip()]
        stored.webhook_secrets_encrypted = crypto.encrypt(json.dumps(cleaned)) if cleaned else ""
        stored.webhook_secret_hints = [crypto.secret_hint(s) for s in cleaned]
    stored.save()
    # This process sees the new secrets at once; others at their next cache miss (inbox.TARGET_CACHE_TTL_S).
    transaction.on_commit(lambda schema=connection.schema_name, code=config.code: _forget_target(schema, code))
    after = {"api_key": stored.api_key_hint, "webhook_secrets": list(stored.webhook_secret_hints)}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    audit_record(action="psp_credentials.updated", obj=stored, changes=changes, reason=reason, actor=actor,
                 request=request)
    config.credentials = stored
    return stored


def psp_webhook_secret_add(*, provider: PaymentProviderConfig | str, secret: str, actor=None,
                           request=None) -> PspCredentials:
    """Start a rotation: the new secret is tried first, the old ones still verify until retired."""
    config = _provider(provider)
    current = psp_credentials_of(config).webhook_secrets
    return psp_credentials_set(provider=config, webhook_secrets=[secret, *[s for s in current if s != secret]],
                               actor=actor, request=request, reason="webhook secret rotation started")


def psp_webhook_secrets_retire(*, provider: PaymentProviderConfig | str, actor=None, request=None) -> PspCredentials:
    """Finish a rotation: keep only the newest secret."""
    config = _provider(provider)
    current = psp_credentials_of(config).webhook_secrets
    return psp_credentials_set(provider=config, webhook_secrets=list(current[:1]), actor=actor, request=request,
                               reason="webhook secret rotation finished")


def psp_sandbox_connect(*, provider: PaymentProviderConfig | str, actor=None) -> PspCredentials:
    """Give a sandbox connection its merchant key and fetch the signing secret of its callbacks from the
    sandbox PSP (the way a broker copies both from a real PSP's dashboard). Needs the sandbox running."""
    config = _provider(provider)
    if config.kind != PaymentProviderConfig.Kind.SANDBOX:
        raise UnknownProvider(f"'{config.code}' is not a sandbox PSP connection.")
    api_key = psp_credentials_of(config).api_key or f"sk_sandbox_{secrets.token_hex(16)}"
    secret = SandboxAdapter(provider_code=config.code, settings=config.settings).fetch_webhook_secret(api_key=api_key)
    return psp_credentials_set(provider=config, api_key=api_key, webhook_secrets=[secret], actor=actor,
                               reason="connected to the sandbox PSP")


def psp_adapter(*, provider: PaymentProviderConfig | str) -> PspAdapter:
    """The adapter of a connection, with its decrypted credentials. A sandbox connection that was never
    connected is connected first (so deposits work right after provisioning)."""
    require_tenant()
    config = _provider(provider)
    credentials = psp_credentials_of(config)
    if config.kind == PaymentProviderConfig.Kind.SANDBOX and not credentials.api_key:
        psp_sandbox_connect(provider=config)
        credentials = psp_credentials_of(config)
    return adapter_class(config.kind)(provider_code=config.code, settings=config.settings, credentials=credentials)


def webhook_url(*, provider_code: str) -> str:
    """Where this brokerage's PSP calls back (its own host: the tenant comes from the host, never the body)."""
    path = reverse("payments_psp_webhook", kwargs={"provider_code": provider_code},
                   urlconf=settings.ROOT_URLCONF)
    return require_tenant().portal_url(path)
