"""Reads for Compliance's screening page: every check, assessment and task of one client (never for clients)."""
from __future__ import annotations

from tenancy.context import require_tenant
from tenant_apps.kyc_checks.models import ComplianceTask, RiskAssessment, ScreeningCheck


def screening_overview(client) -> dict:
    require_tenant()
    checks = list(ScreeningCheck.objects.filter(client=client).select_related("reviewed_by")[:20])
    return {
        "checks": checks,
        "latest": checks[0] if checks else None,
        "risk": RiskAssessment.objects.filter(client=client).first(),
        "tasks": list(ComplianceTask.objects.filter(client=client).order_by("-created_at")[:20]),
    }


def client_notices(client, *, unread_only: bool = True) -> list:
    """The in-app notices the Trader's Room shows a client (document expiry warnings, ...)."""
    from tenant_apps.kyc_checks.models import ClientNotice

    require_tenant()
    rows = ClientNotice.objects.filter(client=client)
    return list(rows.filter(read_at__isnull=True) if unread_only else rows)
