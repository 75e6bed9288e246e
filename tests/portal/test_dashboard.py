"""The Trader's Room dashboard (issue 9, item 1): every account with a switcher, wallet, recent activity, next step,
quick actions, the top notifications, live figures — and a bounded number of queries whatever the client's size."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.portal.selectors import LIVE_DOWN_KEY
from tests.payments.money.conftest import make_client


def _account(client, *, login: int, balance="1000.00", equity="1000.00", free_margin="900.00", pnl="0.00",
             status="active", is_demo=False, snapshot=True):
    from tenant_apps.brokerage.models import AccountType, TradingServerConfig
    from tenant_apps.trading.models import AccountSnapshot, TradingAccount

    account = TradingAccount.objects.create(
        client=client, server=TradingServerConfig.objects.get(code="mt5-sim"),
        account_type=AccountType.objects.filter(is_demo=is_demo).order_by("pk").first(), login=login,
        currency="USD", leverage=100, is_demo=is_demo, status=status, platform_group="real\\test")
    if snapshot:
        AccountSnapshot.objects.create(account=account, balance=Decimal(balance), equity=Decimal(equity),
                                       free_margin=Decimal(free_margin), floating_profit=Decimal(pnl),
                                       synced_at=timezone.now() - timedelta(minutes=3))
    return account


def _wallet(client, currency="USD"):
    from tenant_apps.ledger.models import AccountKind, Owner
    from tenant_apps.ledger.services.accounts import account_get_or_create

    return account_get_or_create(kind=AccountKind.CLIENT_WALLET, owner=Owner.client(client.pk), currency=currency)


def _activity(client, *, n: int, account=None, start=None):
    """n rows spread over deposits, withdrawals, transfers and closed deals, one minute apart (newest = start)."""
    from tenant_apps.payments.models import Deposit, PaymentMethod, Transfer, Withdrawal
    from tenant_apps.trading.models import Deal

    start = start or timezone.now()
    card = PaymentMethod.objects.get(code="card")
    wallet, other = _wallet(client, "USD"), _wallet(client, "EUR")
    made = []
    for i in range(n):
        at = start - timedelta(minutes=i)
        ref = f"T{uuid.uuid4().hex[:10]}"
        kind = ("deposit", "withdrawal", "transfer", "trade")[i % 4 if account is not None else i % 3]
        if kind == "deposit":
            Deposit.objects.create(client=client, method=card, provider_code="sandbox", reference=ref,
                                   amount=Decimal("100") + i, currency="USD", status="pending_psp", created_at=at)
        elif kind == "withdrawal":
            Withdrawal.objects.create(client=client, method=card, provider_code="sandbox", reference=ref,
                                      amount=Decimal("50") + i, currency="USD", status="under_review", created_at=at)
        elif kind == "transfer":
            Transfer.objects.create(client=client, source_account=wallet, destination_account=other,
                                    amount=Decimal("10") + i, currency="USD", status="failed", created_at=at)
        else:
            Deal.objects.create(server=account.server, ticket=900_000 + account.login * 100 + i, login=account.login,
                                time=at, symbol="EURUSD", side="sell", action=1, entry=1, volume_lots=Decimal("0.1"),
                                price=Decimal("1.1"), profit=Decimal("12.50"), commission=Decimal("-0.50"),
                                swap=Decimal("0"))
        made.append((kind, at))
    return made


def _notify(client, kind: str, key: str, **context):
    from tenant_apps.notifications.services import notify

    return notify(client, kind, context=context, dedupe_key=key)


@pytest.fixture
def alpha(db, tenants):
    return tenants["alpha"]


def _page(tenant_client, brokerage, client, path="/"):
    response = tenant_client(brokerage, client.email).get(path)
    assert response.status_code == 200, response.content[:500]
    return response, response.content.decode()


# --- what the client sees --------------------------------------------------------------------------------------

def test_the_dashboard_shows_every_account_in_the_switcher_and_the_chosen_ones_figures(alpha, tenant_client):
    with tenant_context(alpha):
        client = make_client("alpha")
        first = _account(client, login=7001, balance="1500.00", equity="1620.40", free_margin="1400.10", pnl="120.40")
        second = _account(client, login=7002, balance="250.00", equity="240.00", free_margin="240.00", pnl="-10.00")
    connection.set_schema_to_public()
    _, html = _page(tenant_client, alpha, client)
    assert 'data-role="account-switcher"' in html
    assert f'data-account-id="{first.pk}"' in html and f'data-account-id="{second.pk}"' in html
    assert 'data-account="7001"' in html and "$1,620.40" in html and "$1,400.10" in html and "$120.40" in html
    assert 'data-account="7002"' not in html  # only the chosen account's figures
    _, html = _page(tenant_client, alpha, client, f"/?account={second.pk}")
    selected = html.split('data-role="selected-account"')[1]
    assert 'data-account="7002"' in html and "$240.00" in selected and "-$10.00" in selected
    # the terms of the README glossary, and how fresh the figures are
    for word in ("Balance", "Equity", "Free margin", "Floating P&L", "Last synced"):
        assert word in selected, word


def test_another_clients_account_or_garbage_in_the_switcher_shows_the_clients_own_first_account(alpha, tenant_client):
    with tenant_context(alpha):
        client, stranger = make_client("alpha"), make_client("alpha")
        _account(client, login=7101, equity="111.00")
        theirs = _account(stranger, login=7102, equity="999999.00")
    connection.set_schema_to_public()
    for query in (f"?account={theirs.pk}", "?account=abc", "?account=", "?account=1%27--"):
        _, html = _page(tenant_client, alpha, client, "/" + query)
        assert 'data-account="7101"' in html and "7102" not in html and "999,999" not in html, query


def test_a_new_client_without_accounts_sees_the_next_step_and_an_open_account_action(alpha, tenant_client):
    with tenant_context(alpha):
        client = make_client("alpha", kyc="not_started")
    connection.set_schema_to_public()
    _, html = _page(tenant_client, alpha, client)
    assert "No trading account yet." in html and 'id="next-step"' in html
    assert 'hx-get="/dashboard/live/' not in html  # nothing to poll
    assert "Nothing yet: your deposits" in html and "No money in your wallet yet." in html


def test_recent_activity_merges_deposits_withdrawals_transfers_and_trade_results_newest_first(alpha, tenant_client):
    with tenant_context(alpha):
        client = make_client("alpha")
        account = _account(client, login=7201)
        made = _activity(client, n=12, account=account)
    connection.set_schema_to_public()
    _, html = _page(tenant_client, alpha, client)
    kinds = re.findall(r'data-activity="(\w+)" data-status="(\w+)"', html)
    assert [k for k, _ in kinds] == [k for k, _ in made[:8]]  # max 8, newest first, all four sources
    assert {k for k, _ in kinds} == {"deposit", "withdrawal", "transfer", "trade"}
    assert dict(kinds) == {"deposit": "pending_psp", "withdrawal": "under_review", "transfer": "failed",
                           "trade": "closed"}
    # each with the workflow's own client wording; the trade result is net of commission and swap
    assert "Waiting for the payment provider&#x27;s confirmation" in html or \
        "Waiting for the payment provider's confirmation" in html
    assert "Being reviewed by our team" in html and "Not done: see the reason below" in html
    assert "Trade result EURUSD · #7201" in html and "$12.00" in html


def test_the_top_three_notifications_are_ranked_action_required_first_then_account_events_then_promotions(
        alpha, tenant_client):
    with tenant_context(alpha):
        client = make_client("alpha")
        _notify(client, "promotion", "p1", title="Autumn bonus", body="…")
        _notify(client, "kyc.approved", "k1")
        _notify(client, "message", "m1", title="Platform maintenance on Sunday", body="…")
        _notify(client, "kyc.action_required", "a1", reason="Upload a sharper photo of your ID.")
    connection.set_schema_to_public()
    _, html = _page(tenant_client, alpha, client)
    block = html.split('id="top-notifications"')[1].split("</section>")[0]
    shown = re.findall(r'data-kind="([\w.]+)" data-importance="(\d)"', block)
    assert len(shown) == 3 and shown[0] == ("kyc.action_required", "3")
    assert {k for k, _ in shown[1:]} == {"kyc.approved", "message"}  # the promotion waits behind "See all"
    assert "Autumn bonus" not in block and 'href="/notifications/"' in block


def test_quick_actions_are_one_click_away_and_support_appears_only_when_the_support_page_exists(alpha, tenant_client):
    from tenant_apps.portal.selectors import quick_actions, url_or_none

    with tenant_context(alpha):
        client = make_client("alpha")
    connection.set_schema_to_public()
    _, html = _page(tenant_client, alpha, client)
    actions = {key: url for url, key in re.findall(r'href="([^"]+)" data-action="(\w+)"', html)}
    assert {k: actions[k] for k in ("deposit", "withdraw", "transfer", "open_account")} == {
        "deposit": "/money/deposit/", "withdraw": "/money/withdraw/", "transfer": "/money/transfer/",
        "open_account": "/trading/"}
    assert ("support" in actions) == (url_or_none("support_portal_home") is not None)
    with override_settings(ROOT_URLCONF="tests.portal.support_urls"):
        keys = {a.key: a.url for a in quick_actions(downloads={"web": "https://web.example/"})}
    assert keys["support"] == "/support/" and keys["web_terminal"] == "https://web.example/"
    with override_settings(ROOT_URLCONF="tests.portal.no_support_urls"):
        assert "support" not in {a.key for a in quick_actions(downloads={})}


def test_staff_on_the_live_fragment_go_to_the_back_office_and_strangers_sign_in(alpha, tenant_client):
    response = tenant_client(alpha, "admin@alpha.test").get("/dashboard/live/")
    assert response.status_code == 302 and response["Location"] == "/backoffice/"
    response = tenant_client(alpha).get("/dashboard/live/?account=1")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


# --- bounded queries ---------------------------------------------------------------------------------------

DASHBOARD_MAX_QUERIES = 16  # session, user, tenant, and one per block of the dashboard


def test_the_dashboard_takes_the_same_bounded_number_of_queries_for_one_account_and_for_twenty(
        alpha, tenant_client, django_assert_max_num_queries):
    with tenant_context(alpha):
        small, big = make_client("alpha"), make_client("alpha")
        _account(small, login=7301)
        accounts = [_account(big, login=7400 + i) for i in range(20)]
        _activity(big, n=50, account=accounts[0])
        for i in range(6):
            _notify(big, "message", f"m{i}", title=f"Message {i}", body="…")
    connection.set_schema_to_public()
    counts = []
    for client, figures in ((small, 1), (big, 20)):
        http = tenant_client(alpha, client.email)
        http.get("/")  # warm the per-process caches (theme, session) as a real visit would
        with django_assert_max_num_queries(DASHBOARD_MAX_QUERIES) as queries:
            response = http.get("/")
        counts.append(len(queries.captured_queries))
        html = response.content.decode()
        assert html.count('data-account-id="') == (figures if figures > 1 else 0)
        with django_assert_max_num_queries(8):
            assert http.get("/dashboard/live/").status_code == 200
    assert len(re.findall(r'data-activity="', html)) == 8
    assert counts[0] == counts[1], counts  # the same number of queries for 1 account and for 20 with 50 activities


# --- live figures ------------------------------------------------------------------------------------------

def test_the_live_fragment_reads_the_trading_platform_and_follows_a_changed_equity(alpha, tenant_client, settings):
    from tenant_apps.brokerage.models import TradingServerConfig
    from tenant_apps.trading.adapters.mt5 import MT5WebAPIAdapter
    from tenant_apps.trading.services import server_credentials_set
    from tenant_apps.trading.simulator.server import SimConfig, TradingSimulator
    from tests.trading.conftest import MANAGER_LOGIN, MANAGER_PASSWORD, open_account

    settings.TRADING_ADAPTER_TIMEOUT = 3.0
    with tenant_context(alpha):  # a failure of an earlier test does not pause the live reads here
        cache.delete(LIVE_DOWN_KEY.format(server=TradingServerConfig.objects.get(code="mt5-sim").pk))
    sim = TradingSimulator(SimConfig(manager_login=MANAGER_LOGIN, manager_password=MANAGER_PASSWORD,
                                     control_token="dash", seed=7, auto_create_groups=True)).start()
    try:
        adapter = MT5WebAPIAdapter(host="127.0.0.1", port=sim.port, login=MANAGER_LOGIN, password=MANAGER_PASSWORD,
                                   use_tls=False, timeout=3.0, connect_timeout=2.0)
        on_server = open_account(adapter, group="real\\forex-usd", deposit=Decimal("5000"))
        with tenant_context(alpha):
            server = TradingServerConfig.objects.get(code="mt5-sim")
            server.host, server.port, server.use_tls = "127.0.0.1", sim.port, False
            server.save()
            server_credentials_set(server=server, manager_login=MANAGER_LOGIN, password=MANAGER_PASSWORD)
            client = make_client("alpha")
            account = _account(client, login=on_server.login, balance="4000.00", equity="4000.00")
        connection.set_schema_to_public()
        http = tenant_client(alpha, client.email)
        html = http.get(f"/dashboard/live/?account={account.pk}").content.decode()
        assert "$5,000.00" in html and 'data-role="freshness">Live<' in html  # not the stale snapshot
        sim.control({"action": "trading", "enabled": False})
        sim.control({"action": "set_price", "symbol": "EURUSD", "price": "1.10000"})
        sim.control({"action": "open_position", "login": on_server.login, "symbol": "EURUSD", "side": "buy",
                     "lots": "1"})
        sim.control({"action": "set_price", "symbol": "EURUSD", "price": "1.10500"})
        html = http.get(f"/dashboard/live/?account={account.pk}").content.decode()
        equity = re.search(r'data-role="equity">([^<]+)<', html).group(1)
        assert equity != "$5,000.00" and float(re.sub(r"[^\d.]", "", equity)) > 5000, equity
        adapter.close()
    finally:
        sim.stop()


def test_an_unreachable_trading_server_keeps_the_synced_figures_with_their_time(alpha, tenant_client, settings):
    from tenant_apps.brokerage.models import TradingServerConfig
    from tenant_apps.trading.services import server_credentials_set

    settings.TRADING_ADAPTER_TIMEOUT = 1.0
    with tenant_context(alpha):
        server = TradingServerConfig.objects.get(code="mt5-sim")
        with __import__("socket").socket() as sock:
            sock.bind(("127.0.0.1", 0))
            server.host, server.port, server.use_tls = "127.0.0.1", sock.getsockname()[1], False  # nobody listens
        server.save()
        server_credentials_set(server=server, manager_login=1000, password="x")
        client = make_client("alpha")
        account = _account(client, login=7501, equity="321.00")
    connection.set_schema_to_public()
    response = tenant_client(alpha, client.email).get(f"/dashboard/live/?account={account.pk}")
    html = response.content.decode()
    assert response.status_code == 200 and "$321.00" in html and "Last synced" in html
    # the next polls (every dashboard's) do not wait for the same timeout again for a while
    with tenant_context(alpha):
        key = LIVE_DOWN_KEY.format(server=server.pk)
        assert cache.get(key) == 1
        cache.delete(key)
