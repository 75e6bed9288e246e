"""The operator console shows a brokerage's injected faults — its trading server down, webhooks failing their
signature check — as alerts on that brokerage's row within a minute, and nothing on the other brokerage's row."""
from __future__ import annotations

import time

from django.db import connection
from django_tenants.utils import tenant_context

from tests.console.pages import brokerage_table
from tests.payments.conftest import event_body, signature_header
from tests.trading.conftest import sim, sim_config  # noqa: F401 — the simulator fixtures, reused by name
from tests.trading.test_trading_accounts import (
    account_type,
    alpha,  # noqa: F401 — Alpha's server on this test's simulator
    make_client,
)

HX = {"HTTP_HX_REQUEST": "true"}
WEBHOOK_URL = "/webhooks/psp/sandbox/"
COLUMNS_ALERTS = 11  # the "Alerts" cell of the console's brokerage table


def _alerts(operator_client) -> dict[str, str]:
    connection.set_schema_to_public()
    rows = brokerage_table(operator_client.get("/", **HX).content)
    return {slug: cells[COLUMNS_ALERTS] for slug, cells in rows.items()}


def test_a_brokerages_injected_faults_show_on_the_console_within_a_minute(alpha, sim, tenants, operator_client,  # noqa: F811
                                                                           tenant_client, settings):
    from tenant_apps.trading import services as trading
    from tenant_apps.trading.tasks import trading_sync_all

    settings.CONSOLE_ALERT_WEBHOOK_REJECTED_HOUR = 5
    with tenant_context(tenants["alpha"]):
        trading.trading_account_open_demo(client=make_client("watched@alpha.test"), account_type=account_type("demo"))
        assert trading.server_sync(server_id=alpha.pk, force=True).ok
    before = _alerts(operator_client)
    assert before["alpha"].strip() == "—" and before["beta"].strip() == "—"

    started = time.monotonic()
    # the faults: the trading server goes down, and someone posts webhooks with a wrong secret
    sim.control({"mode": "down"})
    with tenant_context(tenants["alpha"]):
        trading_sync_all.fn()  # the scheduler's 30-second job, as the worker runs it in Alpha's schema
    for n in range(5):
        body = event_body(event_id=f"evt_forged_{n}")
        response = tenant_client(tenants["alpha"]).post(WEBHOOK_URL, data=body, content_type="application/json",
                                                       HTTP_STRIPE_SIGNATURE=signature_header(body, "whsec_wrong"))
        assert response.status_code == 400

    seen = {}
    while time.monotonic() - started < 60:
        seen = _alerts(operator_client)
        if "unreachable" in seen["alpha"] and "signature failures" in seen["alpha"]:
            break
        time.sleep(1)
    elapsed = time.monotonic() - started
    print(f"\nconsole showed Alpha's faults {elapsed:.1f} s after they were injected")
    assert "trading server unreachable since" in seen["alpha"], seen
    assert "5 webhook signature failures in the last hour (of 5)" in seen["alpha"], seen
    assert elapsed < 60
    assert seen["beta"].strip() == "—", "the other brokerage shows no alert"


def test_the_overview_shows_todays_activity_and_the_oldest_waiting_job(tenants, operator_client, broker):
    from django.utils import timezone

    from tenancy.tasks import sessions_purge_expired
    from tenancy.workers import send_to_tenant
    from tests.payments.money.conftest import make_client

    with tenant_context(tenants["alpha"]):
        client = make_client("alpha", email="active@alpha.test")
        client.last_login = timezone.now()
        client.save(update_fields=["last_login"])
    send_to_tenant(sessions_purge_expired, tenants["alpha"].schema_name)
    connection.set_schema_to_public()
    rows = brokerage_table(operator_client.get("/", **HX).content)
    active_clients = int(rows["alpha"][5].split("/")[0])
    assert active_clients >= 1 and rows["beta"][5].split("/")[0].strip() == "0"
    assert "oldest" in rows["alpha"][7] and "oldest" not in rows["beta"][7]
