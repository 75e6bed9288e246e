"""Who must use two-factor authentication. The one place the back office and the MFA pages ask."""
from __future__ import annotations

from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import holds_sensitive_rights


def mfa_required(user) -> bool:
    """Staff holding any money or compliance right (a sensitive capability of the permission matrix) must
    use TOTP. Clients and IBs may turn it on, never have to."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.kind == UserKind.STAFF and holds_sensitive_rights(user)
