"""Back-office access: every staff page names the permission it needs; refusals are logged and audited."""
from __future__ import annotations

import logging

from django.contrib.auth.mixins import AccessMixin
from django.shortcuts import render

from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import has_perm

log = logging.getLogger("brokeros.access")


def access_denied(request, capability: str, action: str):
    """Log and audit a refusal, then render the 403 page. Never says more than 'no access'."""
    user = request.user
    log.warning("access denied: %s to %s:%s at %s", getattr(user, "email", "anonymous"), capability, action,
                request.path)
    try:
        from tenant_apps.audit.services import audit_record
    except ImportError:  # the audit capability is optional at import time (tests of older schemas)
        audit_record = None
    if audit_record is not None and getattr(user, "is_authenticated", False):
        audit_record(action="access.denied", object_type="permission", object_id=f"{capability}:{action}",
                     reason=f"{request.method} {request.path}"[:300], actor=user, request=request)
    return render(request, "backoffice/forbidden.html", {"capability": capability, "action": action}, status=403)


class StaffPermissionMixin(AccessMixin):
    """Staff only, plus one matrix permission: `permission = ("capability", "action")`.

    `write_permission` (optional) is required for POST/PUT/PATCH/DELETE on the same view.
    """

    permission: tuple[str, str] = ("backoffice", "view")
    write_permission: tuple[str, str] | None = None

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return self.handle_no_permission()
        needed = self.permission
        if request.method not in ("GET", "HEAD", "OPTIONS") and self.write_permission:
            needed = self.write_permission
        if user.kind != UserKind.STAFF or not has_perm(user, *needed):
            return access_denied(request, *needed)
        return super().dispatch(request, *args, **kwargs)
