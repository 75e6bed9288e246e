"""The trading surfaces over HTTP: the client API and portal page, and the back office pushing a block to the
simulator — thin views over the services, checked end to end."""
from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.trading.adapters.base import Rights
from tests.trading.test_trading_accounts import alpha, make_client, sim_config  # noqa: F401 (fixtures)


@pytest.fixture
def client_user(alpha):  # noqa: F811
    return make_client("api.client@alpha.test")


def test_a_client_opens_a_demo_account_through_the_api_and_sees_it_in_the_list(alpha, sim, tenants, tenant_client,  # noqa: F811
                                                                               client_user):
    http = tenant_client(tenants["alpha"], client_user.email)
    response = http.post("/api/v1/trading/accounts/", {"account_type": "demo", "leverage": 20},
                         content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "demo"
    listed = http.get("/api/v1/trading/accounts/").json()
    assert [a["number"] for a in listed["accounts"]] == [response.json()["number"]]
    standard = next(t for t in listed["account_types"] if t["code"] == "standard")
    assert max(standard["leverage_options"]) == 30


def test_the_api_refuses_a_live_account_with_the_kyc_reason_and_leverage_over_the_cap_with_the_rule(
        alpha, sim, tenants, tenant_client, client_user):  # noqa: F811
    http = tenant_client(tenants["alpha"], client_user.email)
    refused = http.post("/api/v1/trading/accounts/", {"account_type": "standard"}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "kyc_required"

    demo = http.post("/api/v1/trading/accounts/", {"account_type": "demo"}, content_type="application/json").json()
    over = http.post(f"/api/v1/trading/accounts/{demo['id']}/leverage/", {"leverage": 100},
                     content_type="application/json")
    assert over.status_code == 400 and over.json()["code"] == "leverage_not_allowed"
    assert "CySEC caps FX majors at 1:30" in over.json()["message"]


def test_a_client_cannot_touch_another_clients_account(alpha, sim, tenants, tenant_client, client_user):  # noqa: F811
    from tenant_apps.brokerage.models import AccountType
    from tenant_apps.trading.services import trading_account_open_demo

    other = make_client("other.client@alpha.test")
    theirs = trading_account_open_demo(client=other, account_type=AccountType.objects.get(code="demo"))
    http = tenant_client(tenants["alpha"], client_user.email)
    for action in ("archive", "credentials"):
        assert http.post(f"/api/v1/trading/accounts/{theirs.pk}/{action}/").status_code == 404
    assert tenant_client(tenants["alpha"], other.email).post(
        f"/api/v1/trading/accounts/{theirs.pk}/credentials/").status_code == 200


def test_the_portal_page_shows_every_account_with_a_switcher(alpha, sim, tenants, tenant_client, client_user):  # noqa: F811
    http = tenant_client(tenants["alpha"], client_user.email)
    for _ in range(2):
        assert http.post("/trading/", {"action": "open", "account_type": "demo"}).status_code == 302
    page = http.get("/trading/")
    assert page.status_code == 200
    with tenant_context(tenants["alpha"]):
        logins = list(client_user.trading_accounts.values_list("login", flat=True))
    assert len(logins) == 2 and all(str(login) in page.content.decode() for login in logins)


def test_staff_block_in_the_back_office_blocks_trading_on_the_simulator_and_shows_on_the_page(
        alpha, sim, tenants, tenant_client, client_user):  # noqa: F811
    from tenant_apps.brokerage.models import AccountType
    from tenant_apps.trading.services import trading_account_open_demo

    account = trading_account_open_demo(client=client_user, account_type=AccountType.objects.get(code="demo"))
    staff = tenant_client(tenants["alpha"], "admin@alpha.test")
    response = staff.post(f"/backoffice/trading/{account.pk}/", {"action": "block", "reason": "fraud check"})
    assert response.status_code == 302
    assert sim.store.accounts[account.login].rights & Rights.TRADE_DISABLED
    page = staff.get(f"/backoffice/trading/{account.pk}/")
    assert page.status_code == 200 and "Trading blocked" in page.content.decode()
    assert staff.get("/backoffice/trading/").status_code == 200


def test_the_portal_refreshes_a_pending_account_until_it_is_created_and_then_stops(
        alpha, sim, tenants, tenant_client, client_user):  # noqa: F811
    from tenant_apps.trading.models import TradingAccount
    from tenant_apps.trading.tasks import account_create_on_server

    http = tenant_client(tenants["alpha"], client_user.email)
    sim.control({"mode": "down"})
    assert http.post("/trading/", {"action": "open", "account_type": "demo"}).status_code == 302
    account = TradingAccount.objects.get(client=client_user)
    assert account.status == "pending_creation"

    page = http.get("/trading/").content.decode()
    assert 'data-testid="accounts-polling"' in page and 'hx-trigger="every 3s"' in page
    fragment = http.get(f"/trading/?account={account.pk}", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="trading-accounts"') and "<html" not in fragment
    assert 'hx-trigger="every 3s"' in fragment and str(account.login) in fragment

    sim.control({"mode": "normal"})
    account_create_on_server.fn(account.pk)
    fragment = http.get(f"/trading/?account={account.pk}", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in fragment and "accounts-polling" not in fragment  # nothing pending: polling stops
    assert 'data-testid="account-status">demo<' in fragment
