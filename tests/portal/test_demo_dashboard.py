"""The demo trader's dashboard looks real after seeding (provisioning/demo.py: seed_demo_trader_dashboard)."""
from __future__ import annotations

from django.db import connection
from django_tenants.utils import tenant_context

from tests.payments.money.conftest import make_client


def test_the_demo_trader_gets_wallet_money_a_withdrawal_and_ranked_notifications_once(db, tenants):
    from provisioning.demo import seed_demo_trader_dashboard
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.portal.selectors import client_dashboard
    from tests.conftest import PASSWORD

    with tenant_context(tenants["alpha"]):
        trader = make_client("alpha", email="trader@alpha.demo")
        finance, _ = staff_user_create(email="finance-demo@alpha.test", password=PASSWORD, role_codes=["finance"])
        seed_demo_trader_dashboard(slug="alpha", finance=finance)
        seed_demo_trader_dashboard(slug="alpha", finance=finance)  # a second run adds nothing
        board = client_dashboard(client=trader)
        assert trader.deposits.count() == 1 and trader.withdrawals.count() == 1
        demo = trader.notifications.filter(dedupe_key__startswith="demo:dashboard:")
        assert sorted(demo.values_list("importance", flat=True)) == [1, 2, 3]  # one of each rank
        assert board["notifications"][0].kind == "kyc.action_required" and len(board["notifications"]) == 3
        assert {a.kind for a in board["activity"]} == {"deposit", "withdrawal"}
        wallet = next(w for w in board["wallets"] if w["currency"] == "USD")
        assert wallet["balance"] == 600 and wallet["available"] == 450  # 150 reserved for the withdrawal
    connection.set_schema_to_public()
