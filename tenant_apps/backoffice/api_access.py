"""Staff API access: one base view for every matrix-guarded endpoint. The permission logic itself lives in
tenant_apps.identity.api_auth (MatrixPermission: per-method matrix permission, token scopes, typed refusals
that are logged and audited)."""
from __future__ import annotations

from rest_framework.views import APIView

from tenant_apps.identity.api_auth import MatrixPermission


class MatrixAPIView(APIView):
    """Subclasses declare `required_permissions = {"GET": ("capability", "action"), ...}`."""

    permission_classes = [MatrixPermission]
    required_permissions: dict[str, tuple[str, str]] = {}


__all__ = ["MatrixAPIView", "MatrixPermission"]
