"""Reads of the trading capability for the portal, back office, API and operator console (bounded queries)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Paginator
from django.db.models import Q
from django.utils import timezone

from tenancy.context import require_tenant
from tenant_apps.brokerage.models import TradingServerConfig
from tenant_apps.trading import states
from tenant_apps.trading.models import (
    AccountSnapshot,
    AccountStatus,
    Deal,
    DriftReport,
    LeverageRequest,
    LeverageRequestState,
    Position,
    SyncState,
    TradingAccount,
)


@dataclass(frozen=True)
class AccountSummary:
    id: int
    number: int
    type: str
    currency: str
    balance: Decimal | None
    equity: Decimal | None
    free_margin: Decimal | None
    floating_pnl: Decimal | None
    leverage: int
    is_demo: bool
    status: str           # active / restricted / demo / archived / pending / failed
    status_detail: str
    synced_at: object


def _summary(account: TradingAccount) -> AccountSummary:
    try:
        snap = account.snapshot
    except AccountSnapshot.DoesNotExist:
        snap = None
    detail = account.status_reason if account.status in (AccountStatus.PENDING_CREATION, AccountStatus.FAILED) \
        and account.status_reason else states.CLIENT_HEADLINE[account.status]
    return AccountSummary(
        id=account.pk, number=account.login, type=account.account_type.name, currency=account.currency,
        balance=snap.balance if snap else None, equity=snap.equity if snap else None,
        free_margin=snap.free_margin if snap else None, floating_pnl=snap.floating_profit if snap else None,
        leverage=account.leverage, is_demo=account.is_demo, status=states.client_status(account),
        status_detail=detail, synced_at=snap.synced_at if snap else None)


def client_account_summaries(user, *, include_archived: bool = False) -> list[AccountSummary]:
    """The Trader's Room dashboard: every account of the client with its synced money state, in one query."""
    require_tenant()
    qs = TradingAccount.objects.filter(client_id=user.pk).select_related("snapshot", "account_type")
    if not include_archived:
        qs = qs.exclude(status=AccountStatus.ARCHIVED)
    return [_summary(a) for a in qs.order_by("is_demo", "id")[:100]]


def client_account(user, account_id: int) -> TradingAccount:
    """One account of this client (404-able DoesNotExist for anyone else's)."""
    return TradingAccount.objects.select_related("snapshot", "account_type", "server").get(pk=account_id, client_id=user.pk)


def download_links() -> dict[str, str]:
    """Terminal download links of this brokerage's (first enabled) trading server."""
    server = TradingServerConfig.objects.filter(is_enabled=True).order_by("id").first()
    links = dict(server.download_links or {}) if server else {}
    links.setdefault("web", "")
    return {k: v for k, v in links.items() if v}


# --- back office ------------------------------------------------------------------------------------------

def accounts_for_staff(*, status: str | None = None, query: str = "", page: int = 1, per_page: int = 50,
                       visible=None):
    qs = (visible if visible is not None else TradingAccount.objects).select_related("client", "account_type", "snapshot").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if query:
        qs = qs.filter(Q(login__startswith=query) if query.isdigit() else Q(client__email__icontains=query))
    return Paginator(qs, per_page).get_page(page)


def accounts_visible_to(user):
    """The trading accounts of the clients this staff member may see (Sales: own and team clients)."""
    from tenant_apps.crm.selectors import clients_visible_to

    return TradingAccount.objects.filter(client__in=clients_visible_to(user).values("pk"))


def account_for_staff(account_id: int) -> TradingAccount:
    return TradingAccount.objects.select_related("client", "account_type", "snapshot", "server").get(pk=account_id)


def account_positions(account: TradingAccount, *, page: int = 1, per_page: int = 50):
    return Paginator(Position.objects.filter(server_id=account.server_id, login=account.login), per_page).get_page(page)


def account_deals(account: TradingAccount, *, page: int = 1, per_page: int = 50):
    return Paginator(Deal.objects.filter(server_id=account.server_id, login=account.login), per_page).get_page(page)


def open_drift_reports(*, limit: int = 50) -> list[DriftReport]:
    return list(DriftReport.objects.filter(resolved=False).select_related("account")[:limit])


def pending_leverage_requests(*, limit: int = 100) -> list[LeverageRequest]:
    return list(LeverageRequest.objects.filter(state=LeverageRequestState.PENDING)
                .select_related("account__client")[:limit])


def sync_states() -> list[dict]:
    """Per server: last success, 'unreachable since', last error, lag — for the back-office notice."""
    now = timezone.now()
    out = []
    for server in TradingServerConfig.objects.filter(is_enabled=True).select_related("sync_state").order_by("id"):
        try:
            st = server.sync_state
        except SyncState.DoesNotExist:
            st = None
        out.append({
            "server": server.display_name, "code": server.code,
            "last_success_at": st.last_success_at if st else None,
            "unreachable_since": st.unreachable_since if st else None,
            "last_error": st.last_error if st else "",
            "lag_seconds": int((now - st.last_success_at).total_seconds()) if st and st.last_success_at else None,
        })
    return out


def sync_lag_seconds() -> int | None:
    """This brokerage's sync lag: seconds since the OLDEST last successful sync among its enabled servers
    that have accounts (None when nothing has ever synced or there is nothing to sync). For the console."""
    require_tenant()
    servers = TradingServerConfig.objects.filter(is_enabled=True, accounts__isnull=False).distinct() \
        .select_related("sync_state")
    now = timezone.now()
    lags = []
    for server in servers:
        try:
            last = server.sync_state.last_success_at
        except SyncState.DoesNotExist:
            last = None
        if last is None:
            return None
        lags.append(int((now - last).total_seconds()))
    return max(lags) if lags else None
