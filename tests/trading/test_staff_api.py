"""The staff trading API (/api/v1/backoffice/trading/…) against the bundled simulator: the list with live
state in bounded queries, field rules (Sales sees no money and only its own clients), block/unblock pushed to
the server and audited, leverage within the jurisdiction's cap — the same services as the back-office pages.
Who may call what is checked for every role by tests/test_permission_enforcement.py."""
from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.trading.adapters.base import Rights
from tests.trading.test_trading_accounts import account_type, alpha, make_client, sim_config  # noqa: F401 (fixtures)

API = "/api/v1/backoffice/trading/accounts/"


@pytest.fixture
def sales(alpha):  # noqa: F811
    from tenant_apps.identity.services import staff_user_create

    return staff_user_create(email="sales.trading@alpha.test", role_codes=["sales"])[0]


@pytest.fixture
def demo_account(alpha, sim):  # noqa: F811
    from tenant_apps.trading.services import server_sync, trading_account_open_demo

    account = trading_account_open_demo(client=make_client("desk.client@alpha.test"), account_type=account_type("demo"),
                                        leverage=20)
    server_sync(server_id=alpha.pk, force=True)  # the live state (snapshot) the API serves
    return account


def test_the_list_serves_synced_state_with_money_for_admins_and_in_bounded_queries(
        alpha, sim, tenants, tenant_client, demo_account, django_assert_max_num_queries):  # noqa: F811
    from tenant_apps.trading.services import server_sync, trading_account_open_demo

    for n in range(4):
        trading_account_open_demo(client=make_client(f"more{n}@alpha.test"), account_type=account_type("demo"))
    server_sync(server_id=alpha.pk, force=True)
    http = tenant_client(tenants["alpha"], "admin@alpha.test")
    with django_assert_max_num_queries(20):
        body = http.get(API).json()
    assert body["count"] == 5 and len(body["results"]) == 5
    row = next(r for r in body["results"] if r["login"] == demo_account.login)
    assert row["status"] == "active" and row["leverage"] == 20 and row["client_email"] == "desk.client@alpha.test"
    assert row["balance"] is not None and row["equity"] is not None and row["synced_at"]

    only_active = http.get(API, {"status": "blocked"}).json()
    assert only_active["count"] == 0
    bad = http.get(API, {"status": "nonsense"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_status"


def test_sales_sees_only_its_own_clients_accounts_and_no_money(alpha, sim, tenants, tenant_client, sales,  # noqa: F811
                                                               demo_account):
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.trading.services import trading_account_open_demo

    mine = make_client("sales.own@alpha.test")
    ClientRecord.objects.filter(user=mine).update(owner=sales)
    own_account = trading_account_open_demo(client=mine, account_type=account_type("demo"))
    http = tenant_client(tenants["alpha"], sales.email)

    body = http.get(API).json()
    assert [r["login"] for r in body["results"]] == [own_account.login]
    assert "balance" not in body["results"][0] and "equity" not in body["results"][0]
    assert http.get(f"{API}{demo_account.pk}/").status_code == 404  # not their client: never confirmed
    assert http.get(f"{API}{own_account.pk}/").status_code == 200
    # Sales holds trading:view only: writes are refused before anything happens
    assert http.post(f"{API}{own_account.pk}/block/", {}, content_type="application/json").status_code == 403


def test_block_and_unblock_through_the_api_reach_the_simulator_and_are_audited(
        alpha, sim, tenants, tenant_client, demo_account):  # noqa: F811
    from tenant_apps.audit.models import AuditEntry

    http = tenant_client(tenants["alpha"], "admin@alpha.test")
    blocked = http.post(f"{API}{demo_account.pk}/block/", {"reason": "chargeback review"},
                        content_type="application/json")
    assert blocked.status_code == 200, blocked.content
    assert blocked.json()["status"] == "blocked" and blocked.json()["server_push_pending"] is False
    assert sim.store.accounts[demo_account.login].rights & Rights.TRADE_DISABLED

    unblocked = http.post(f"{API}{demo_account.pk}/unblock/", {}, content_type="application/json")
    assert unblocked.status_code == 200 and unblocked.json()["status"] == "active"
    assert not sim.store.accounts[demo_account.login].rights & Rights.TRADE_DISABLED
    with tenant_context(tenants["alpha"]):
        actions = list(AuditEntry.objects.filter(object_id=str(demo_account.pk)).values_list("action", flat=True))
    assert "trading_account.blocked" in actions and "trading_account.unblocked" in actions

    detail = http.get(f"{API}{demo_account.pk}/").json()
    assert detail["status"] == "active" and detail["open_drift"] == [] and detail["open_positions"] == 0


def test_leverage_over_the_cap_is_refused_naming_the_rule_and_within_it_is_applied_on_the_server(
        alpha, sim, tenants, tenant_client, demo_account):  # noqa: F811
    http = tenant_client(tenants["alpha"], "admin@alpha.test")
    over = http.post(f"{API}{demo_account.pk}/leverage/", {"leverage": 500}, content_type="application/json")
    assert over.status_code == 400 and over.json()["code"] == "leverage_not_allowed"
    assert "CySEC caps FX majors at 1:30" in over.json()["message"]
    assert sim.store.accounts[demo_account.login].leverage == 20  # nothing changed

    missing = http.post(f"{API}{demo_account.pk}/leverage/", {}, content_type="application/json")
    assert missing.status_code == 400 and "leverage" in missing.json().get("fields", missing.json())

    ok = http.post(f"{API}{demo_account.pk}/leverage/", {"leverage": 30, "reason": "client asked"},
                   content_type="application/json")
    assert ok.status_code == 200 and ok.json()["leverage"] == 30
    assert sim.store.accounts[demo_account.login].leverage == 30


def test_the_openapi_schema_still_builds_and_documents_the_staff_trading_api(alpha, tenants):  # noqa: F811
    from django.test import Client

    from tests.conftest import host_of

    schema = Client(HTTP_HOST=host_of(tenants["alpha"])).get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {f"{API}", f"{API}{{account_id}}/block/", f"{API}{{account_id}}/leverage/"} <= set(paths)
