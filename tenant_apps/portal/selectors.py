"""The Trader's Room dashboard as one read: accounts, wallet, recent activity, next step, quick actions, notifications.

Bounded: the number of queries does not grow with the client's accounts or history (tests/portal/test_dashboard.py
asserts the same bound for 1 account and for 20 accounts with 50 activities). Words follow the README glossary:
balance, equity, free margin, floating P&L (trading accounts) and wallet (money held with the brokerage).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from tenancy.context import require_tenant

ACTIVITY_LIMIT = 8
NOTIFICATIONS_TOP = 3
SUPPORT_URL_NAME = "support_portal_home"
# MT5 deal fields: buy/sell deals that close (part of) a position are trade results; balance operations are not.
_TRADE_ACTIONS = (0, 1)
_CLOSING_ENTRIES = (1, 2, 3)  # out, in/out (reversal), out by
# After a failed live read, dashboards show the synced snapshot for this long before asking the server again.
LIVE_DOWN_KEY = "portal:live-down:{server}"  # the cache key function prefixes the schema name
LIVE_DOWN_PAUSE_S = 30


@dataclass(frozen=True)
class Activity:
    kind: str        # deposit / withdrawal / transfer / trade
    at: datetime
    title: str       # "Deposit DEP-…", "Trade result EURUSD" …
    amount: Decimal
    currency: str
    status: str      # the machine status (data-status)
    tone: str        # success / pending / failed / neutral: the badge colour
    status_text: str  # what the client reads (the workflow's own client wording)
    url: str


@dataclass(frozen=True)
class QuickAction:
    key: str
    label: str
    url: str
    external: bool = False


def url_or_none(name: str, *args) -> str | None:
    """The path of a named URL, or None when no such URL is mounted (a feature not installed in this build)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _tone(status: str, *, done: set[str], failed: set[str], neutral: frozenset[str] = frozenset()) -> str:
    if status in done:
        return "success"
    if status in failed:
        return "failed"
    return "neutral" if status in neutral else "pending"


def recent_activity(*, client, accounts, limit: int = ACTIVITY_LIMIT) -> list[Activity]:
    """The last deposits, withdrawals, transfers and trade results (closed deals), merged, newest first. At most
    four queries whatever the history: each source is cut to `limit` in the database, then merged here."""
    from tenant_apps.payments import states
    from tenant_apps.payments.models import Deposit, Transfer, Withdrawal
    from tenant_apps.payments.selectors import transfer_side_label
    from tenant_apps.trading.models import Deal

    require_tenant()
    rows: list[Activity] = []
    for d in Deposit.objects.filter(client_id=client.pk).only(
            "pk", "reference", "amount", "currency", "status", "created_at").order_by("-created_at", "-pk")[:limit]:
        rows.append(Activity("deposit", d.created_at, f"{_('Deposit')} {d.reference}", d.amount, d.currency, d.status,
                             _tone(d.status, done={"credited", "reconciled"}, failed={"failed", "rejected"}),
                             states.DEPOSIT_CLIENT_STATUS.get(d.status, d.status), reverse("money_deposit", args=[d.pk])))
    for w in Withdrawal.objects.filter(client_id=client.pk).only(
            "pk", "reference", "amount", "currency", "status", "created_at").order_by("-created_at", "-pk")[:limit]:
        rows.append(Activity("withdrawal", w.created_at, f"{_('Withdrawal')} {w.reference}", w.amount, w.currency,
                             w.status, _tone(w.status, done={"received"}, failed={"rejected", "returned"},
                                             neutral=frozenset({"cancelled"})),
                             states.WITHDRAWAL_CLIENT_STATUS.get(w.status, w.status),
                             reverse("money_withdrawal", args=[w.pk])))
    transfers = (Transfer.objects.filter(client_id=client.pk)
                 .select_related("source_account", "destination_account", "source_trading_account",
                                 "destination_trading_account").order_by("-created_at", "-pk")[:limit])
    for t in transfers:
        title = f"{_('Transfer')}: {transfer_side_label(t, 'source')} → {transfer_side_label(t, 'destination')}"
        rows.append(Activity("transfer", t.created_at, title, t.amount, t.currency, t.status,
                             _tone(t.status, done={"completed"}, failed={"failed"}),
                             states.TRANSFER_CLIENT_STATUS.get(t.status, t.status), reverse("money_transfer")))
    live = [a for a in accounts if a.server_id is not None]
    if live:
        currency_of = {(a.server_id, a.number): a.currency for a in live}
        pairs = Q()
        for server_id in {a.server_id for a in live}:
            pairs |= Q(server_id=server_id, login__in=[a.number for a in live if a.server_id == server_id])
        deals = (Deal.objects.filter(pairs, action__in=_TRADE_ACTIONS, entry__in=_CLOSING_ENTRIES)
                 .only("server_id", "login", "time", "symbol", "profit", "commission", "swap", "ticket")
                 .order_by("-time", "-ticket")[:limit])
        trading_url = reverse("portal_trading")
        for deal in deals:
            result = deal.profit + deal.commission + deal.swap
            rows.append(Activity("trade", deal.time, f"{_('Trade result')} {deal.symbol} · #{deal.login}", result,
                                 currency_of.get((deal.server_id, deal.login), ""), "closed",
                                 "success" if result > 0 else "failed" if result < 0 else "neutral",
                                 str(_("Position closed")), f"{trading_url}?account={deal.login}"))
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows[:limit]


ACCOUNT_STATUS_LABELS = {"active": _("Active"), "demo": _("Demo"), "restricted": _("Trading restricted"),
                         "pending": _("Being created"), "failed": _("Could not be created"), "archived": _("Archived")}


@dataclass(frozen=True)
class DashboardAccount:
    """One trading account as the dashboard shows it: the synced snapshot, or the platform's live state."""

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
    status: str
    status_label: str
    status_detail: str
    as_of: datetime | None   # the snapshot's time; None when the figures are live
    server_id: int | None


def _accounts(client) -> list[DashboardAccount]:
    from tenant_apps.trading import states
    from tenant_apps.trading.models import AccountSnapshot, AccountStatus, TradingAccount

    out = []
    qs = (TradingAccount.objects.filter(client_id=client.pk).exclude(status=AccountStatus.ARCHIVED)
          .select_related("snapshot", "account_type").order_by("is_demo", "id"))
    for account in qs[:100]:
        try:
            snap = account.snapshot
        except AccountSnapshot.DoesNotExist:
            snap = None
        out.append(DashboardAccount(
            id=account.pk, number=account.login, type=account.account_type.name, currency=account.currency,
            balance=snap.balance if snap else None, equity=snap.equity if snap else None,
            free_margin=snap.free_margin if snap else None, floating_pnl=snap.floating_profit if snap else None,
            leverage=account.leverage, is_demo=account.is_demo, status=states.client_status(account),
            status_label=ACCOUNT_STATUS_LABELS.get(states.client_status(account), states.client_status(account)),
            status_detail=states.CLIENT_HEADLINE[account.status], as_of=snap.synced_at if snap else None,
            server_id=account.server_id if account.status in (AccountStatus.ACTIVE, AccountStatus.BLOCKED) else None))
    return out


def dashboard_accounts(*, client, live: bool = False) -> list[DashboardAccount]:
    """Every account of the client (archived left out). With live=True the figures come from the trading platform
    (one batch call per server, as the transfer page reads free margin); an unreachable server keeps the synced
    snapshot and its time, so the client always sees how fresh a figure is."""
    require_tenant()
    accounts = _accounts(client)
    if not live:
        return accounts
    from tenant_apps.brokerage.models import TradingServerConfig
    from tenant_apps.trading.adapters.base import TradingPlatformError
    from tenant_apps.trading.errors import TradingError
    from tenant_apps.trading.services import adapter_for

    server_ids = {a.server_id for a in accounts if a.server_id is not None}
    states = {}
    for server in TradingServerConfig.objects.filter(pk__in=server_ids, is_enabled=True).order_by("pk"):
        down_key = LIVE_DOWN_KEY.format(server=server.pk)
        if cache.get(down_key):
            continue  # failed a moment ago: every dashboard polling it would wait for the same timeout
        logins = [a.number for a in accounts if a.server_id == server.pk]
        try:
            for login, state in adapter_for(server).list_account_states(logins).items():
                states[(server.pk, login)] = state
        except (TradingPlatformError, TradingError, OSError):
            cache.set(down_key, 1, LIVE_DOWN_PAUSE_S)
            continue  # unreachable: the snapshot, with its time
    out = []
    for a in accounts:
        state = states.get((a.server_id, a.number))
        if state is None:
            out.append(a)
            continue
        out.append(replace(a, balance=state.balance, equity=state.equity, free_margin=state.free_margin,
                           floating_pnl=state.floating_profit, as_of=None))
    return out


def quick_actions(*, downloads: dict[str, str]) -> list[QuickAction]:
    """Deposit, withdraw, transfer, open account, platform, support: each one click away (support only when the
    support app is mounted: its URL name resolves)."""
    actions = [
        QuickAction("deposit", _("Deposit"), reverse("money_deposit_start")),
        QuickAction("withdraw", _("Withdraw"), reverse("money_withdraw")),
        QuickAction("transfer", _("Transfer"), reverse("money_transfer")),
        QuickAction("open_account", _("Open account"), reverse("portal_trading")),
    ]
    if downloads.get("web"):
        actions.append(QuickAction("web_terminal", _("Web terminal"), downloads["web"], external=True))
    elif downloads:
        actions.append(QuickAction("download", _("Download platform"), reverse("portal_trading")))
    support = url_or_none(SUPPORT_URL_NAME)
    if support:
        actions.append(QuickAction("support", _("Contact support"), support))
    return actions


def top_notifications(*, client, limit: int = NOTIFICATIONS_TOP):
    """The few notifications that matter most: unread first, action required > account events > promotions."""
    from tenant_apps.notifications.selectors import notifications_for

    return notifications_for(user=client, limit=limit)


def client_dashboard(*, client, selected: str | None = None) -> dict:
    """Everything the dashboard shows, in a fixed number of queries. `selected` is the ?account= of the switcher
    (an account id of this client; anything else selects the first account)."""
    from tenant_apps.crm.selectors import client_next_step
    from tenant_apps.payments.selectors import wallet_balances
    from tenant_apps.trading.selectors import download_links

    require_tenant()
    accounts = dashboard_accounts(client=client)
    downloads = download_links()
    return {
        "accounts": accounts,
        "selected": selected_account(accounts, selected),
        "wallets": wallet_balances(client=client),
        "activity": recent_activity(client=client, accounts=accounts),
        "next_step": client_next_step(client),
        "notifications": top_notifications(client=client),
        "quick_actions": quick_actions(downloads=downloads),
        "downloads": downloads,
    }


def selected_account(accounts: list[DashboardAccount], selected: str | None) -> DashboardAccount | None:
    return next((a for a in accounts if str(a.id) == str(selected or "")), accounts[0] if accounts else None)
