"""Trading-account and leverage-request workflows as data: transitions, who moves them, what the client sees."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tenant_apps.trading.models import AccountStatus, LeverageRequestState

S = AccountStatus

# (from, to) → who may make the move ("system": workers; "staff": trading:manage; "client": the owner).
ACCOUNT_TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (S.PENDING_CREATION, S.ACTIVE): frozenset({"system"}),
    (S.PENDING_CREATION, S.FAILED): frozenset({"system"}),
    (S.ACTIVE, S.BLOCKED): frozenset({"staff"}),
    (S.BLOCKED, S.ACTIVE): frozenset({"staff"}),
    (S.ACTIVE, S.ARCHIVED): frozenset({"staff", "client"}),
    (S.BLOCKED, S.ARCHIVED): frozenset({"staff"}),
    (S.FAILED, S.ARCHIVED): frozenset({"staff", "client"}),
}

# The client's dashboard status: active / restricted / demo / archived (and the two transient ones).
CLIENT_STATUS: dict[str, str] = {
    S.PENDING_CREATION: "pending",
    S.ACTIVE: "active",
    S.BLOCKED: "restricted",
    S.ARCHIVED: "archived",
    S.FAILED: "failed",
}

# The status words as the client reads them (the codes above stay data; templates show `{% translate status %}`).
CLIENT_STATUS_WORDS = (_("pending"), _("active"), _("restricted"), _("archived"), _("failed"), _("demo"))

CLIENT_HEADLINE: dict[str, str] = {
    S.PENDING_CREATION: _("Your account is being created on the trading server. This page updates by itself."),
    S.ACTIVE: _("Active"),
    S.BLOCKED: _("Trading is restricted on this account. Contact support."),
    S.ARCHIVED: _("Archived"),
    S.FAILED: _("The account could not be created. Contact support."),
}

L = LeverageRequestState
LEVERAGE_TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (L.PENDING, L.APPROVED): frozenset({"staff"}),
    (L.PENDING, L.REJECTED): frozenset({"staff"}),
}


def can_move(current: str, target: str, who: str, table=ACCOUNT_TRANSITIONS) -> bool:
    return who in table.get((current, target), frozenset())


def client_status(account) -> str:
    if account.is_demo and account.status == S.ACTIVE:
        return "demo"
    return CLIENT_STATUS[account.status]
