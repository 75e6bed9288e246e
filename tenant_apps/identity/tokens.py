"""Personal API tokens: minting (the secret leaves once), revoking, and checking a presented token.

Format: `brk_<prefix>_<secret>`. The prefix finds the row and is safe to show; the secret is compared by
its SHA-256 in constant time and is never stored, logged or audited.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tenancy.context import require_tenant
from tenant_apps.identity.models import ApiToken, User
from tenant_apps.identity.permissions import all_permission_keys, permission_require, user_permission_keys

TOKEN_KIND = "brk"
PREFIX_BYTES = 5            # 10 hex characters: public, unique
SECRET_BYTES = 32           # 256 bits of secret
LAST_USED_EVERY = timedelta(seconds=60)  # last_used_at is written at most once a minute per token
NAME_MAX = 80


@dataclass(frozen=True)
class MintedToken:
    token: ApiToken
    secret: str  # the full `brk_<prefix>_<secret>` string; shown once, then gone

    def __str__(self):  # never let the secret slip into a log line through str()
        return self.token.display


class TokenInvalid(Exception):
    """A presented token is malformed, unknown, revoked, expired or belongs to an inactive user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_parse(raw: str) -> tuple[str, str] | None:
    """(prefix, secret) of a `brk_<prefix>_<secret>` string, or None when it does not have that shape."""
    kind, _, rest = (raw or "").partition("_")
    prefix, _, secret = rest.partition("_")
    if kind != TOKEN_KIND or not prefix or not secret or len(prefix) > 16 or len(secret) > 128:
        return None
    if not prefix.isascii() or not prefix.isalnum():
        return None
    return prefix, secret


def _clean_scopes(*, user: User, scopes) -> list[str]:
    """The requested scopes, checked: known permission keys the user may use now (a token never widens)."""
    if not isinstance(scopes, list | tuple | set | frozenset) or not all(isinstance(s, str) for s in scopes):
        raise ValidationError({"scopes": "Give the scopes as a list of permission keys."})
    wanted = sorted(set(scopes))
    if not wanted:
        raise ValidationError({"scopes": "Choose at least one permission for this token."})
    unknown = [s for s in wanted if s not in set(all_permission_keys())]
    if unknown:
        raise ValidationError({"scopes": f"Unknown permission: {', '.join(unknown)}."})
    not_held = [s for s in wanted if s not in user_permission_keys(user)]
    if not_held:
        raise ValidationError({"scopes": f"You do not hold these permissions, so a token of yours cannot: "
                                         f"{', '.join(not_held)}."})
    return wanted


@transaction.atomic
def api_token_create(*, user: User, name: str, scopes, expires_at: datetime | None = None) -> MintedToken:
    """Mint a token for `user` (who acts for themselves). Returns the row and the secret, shown once."""
    from tenant_apps.audit.services import audit_record

    require_tenant()
    permission_require(user, "api_tokens", "manage")
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Name the token after what will use it (e.g. 'CRM sync')."
    elif len(name) > NAME_MAX:
        errors["name"] = f"At most {NAME_MAX} characters."
    elif "\x00" in name:
        errors["name"] = "Null characters are not allowed."
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = "Choose a time in the future, or no expiry."
    try:
        scopes = _clean_scopes(user=user, scopes=scopes)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    for _attempt in range(5):
        prefix = secrets.token_hex(PREFIX_BYTES)
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(user=user, name=name, prefix=prefix, key_hash=secret_hash(secret),
                                                scopes=scopes, expires_at=expires_at)
            break
        except IntegrityError:  # a prefix collision (one in a trillion): draw again
            continue
    else:  # pragma: no cover - five collisions in a row means the random source is broken
        raise RuntimeError("Could not allocate a unique API token prefix.")
    audit_record(action="api_token.created", obj=token, actor=user, subject=user,
                 changes={"name": [None, name], "prefix": [None, prefix], "scopes": [[], scopes],
                          "expires_at": [None, expires_at]})
    return MintedToken(token=token, secret=f"{TOKEN_KIND}_{prefix}_{secret}")


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User, reason: str = "") -> ApiToken:
    """Revoke one of the actor's own tokens (a colleague's all go at once when their account is deactivated)."""
    from tenant_apps.audit.services import audit_record

    require_tenant()
    permission_require(actor, "api_tokens", "manage")
    if token.user_id != actor.pk:
        raise ValidationError({"token": "You can only revoke your own tokens."})
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ValidationError({"token": "This token is already revoked."})
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(action="api_token.revoked", obj=token, actor=actor, subject=token.user_id, reason=reason,
                 changes={"revoked_at": [None, token.revoked_at]})
    return token


def api_tokens_revoke_all(*, user: User) -> list[str]:
    """Revoke every live token of `user` (called inside deactivation, which audits it). Returns the prefixes."""
    now = timezone.now()
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    prefixes = sorted(live.values_list("prefix", flat=True))
    live.update(revoked_at=now)
    return prefixes


def api_token_authenticate(raw: str) -> tuple[User, ApiToken]:
    """The user and token a presented `brk_…` string stands for, or TokenInvalid. Books last_used_at."""
    require_tenant()
    parsed = token_parse(raw)
    if parsed is None:
        raise TokenInvalid("Malformed API token.")
    prefix, secret = parsed
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    # Hash and compare even when no row matched, so timing says nothing about which prefixes exist.
    expected = token.key_hash if token is not None else "0" * 64
    if not hmac.compare_digest(expected, secret_hash(secret)) or token is None:
        raise TokenInvalid("Invalid API token.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenInvalid("This API token has been revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenInvalid("This API token has expired.")
    if not token.user.is_active:
        raise TokenInvalid("The account this API token belongs to is deactivated.")
    # One conditional UPDATE, no read: busy integrations write at most once a minute.
    if ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)).update(last_used_at=now):
        token.last_used_at = now
    return token.user, token
