"""The bundled simulator as a peer: the official wire shape (every scalar a string), its control API behind a
token, snapshots across restarts, the background market, the management command, and the rule that product
code never imports it."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tenant_apps.trading.adapters.mt5 import MT5WebAPIAdapter
from tenant_apps.trading.adapters.mt5 import protocol as proto
from tenant_apps.trading.simulator.server import SimConfig, TradingSimulator
from tests.trading.conftest import (
    CONTROL_TOKEN,
    GROUP,
    LONG_AGO,
    MANAGER_LOGIN,
    MANAGER_PASSWORD,
    free_port,
    open_account,
)

ROOT = Path(__file__).resolve().parents[2]


def _raw_session(sim) -> httpx.Client:
    """A hand-made manager session (no adapter): what the wire really carries."""
    client = httpx.Client(base_url=sim.url, trust_env=False, timeout=5)
    start = client.get(f"/api/auth/start?version=484&agent=test&login={MANAGER_LOGIN}&type=manager").json()
    ph = proto.password_hash(MANAGER_PASSWORD)
    cli_rand = os.urandom(16)
    answer = client.get(f"/api/auth/answer?srv_rand_answer={proto.srv_rand_answer(ph, start['srv_rand'])}"
                        f"&cli_rand={cli_rand.hex()}").json()
    assert answer["retcode"] == "0 Done"
    assert answer["cli_rand_answer"] == proto.cli_rand_answer(ph, cli_rand)
    return client


def _scalars(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    else:
        yield value


def test_every_scalar_on_the_wire_is_a_string_and_success_is_0_done(adapter, sim, control):
    account = open_account(adapter, deposit=Decimal("5000"))
    control({"action": "open_position", "login": account.login, "symbol": "USDJPY", "side": "sell", "lots": "0.1"})
    client = _raw_session(sim)
    now = int(time.time())
    for command in (f"/api/user/get?login={account.login}", f"/api/user/account/get?login={account.login}",
                    f"/api/position/get_batch?login={account.login}", f"/api/position/get_total?login={account.login}",
                    f"/api/deal/get_batch?login={account.login}&from=0&to={now + 60}",
                    f"/api/deal/get_page?login={account.login}&from=0&to={now + 60}&offset=0&total=100",
                    f"/api/deal/get_total?login={account.login}&from=0&to={now + 60}",
                    "/api/group/get?group=" + proto.escape_query_value(GROUP), "/api/group/get?mask=*"):
        payload = client.get(command).json()
        assert payload["retcode"] == "0 Done", command
        scalars = list(_scalars(payload["answer"]))
        assert scalars, command
        assert all(isinstance(v, str) for v in scalars), command
    client.close()


def test_a_page_larger_than_100_is_refused_by_the_simulator(adapter, sim):
    account = open_account(adapter)
    client = _raw_session(sim)
    payload = client.get(f"/api/deal/get_page?login={account.login}&from=0&to=9999999999&offset=0&total=101").json()
    assert payload["retcode"].startswith("3 ")
    client.close()


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_the_control_api_needs_the_shared_token(sim, token):
    headers = {"X-Sim-Token": token} if token else {}
    response = httpx.post(f"{sim.url}/sim/control", json={"mode": "down"}, headers=headers, trust_env=False)
    assert response.status_code == 403
    assert sim.faults.mode == "normal"


def test_data_survives_a_simulator_restart_through_its_snapshot(tmp_path):
    config = dict(manager_login=MANAGER_LOGIN, manager_password=MANAGER_PASSWORD,
                  snapshot_path=str(tmp_path / "sim.json"))
    first = TradingSimulator(SimConfig(**config)).start()
    adapter = MT5WebAPIAdapter(host="127.0.0.1", port=first.port, login=MANAGER_LOGIN, password=MANAGER_PASSWORD,
                               use_tls=False, timeout=3)
    account = open_account(adapter, deposit=Decimal("700"))
    first.store.open_position(account.login, "EURUSD", 0, 1000)
    before = adapter.list_deals_since(logins=[account.login], from_time=LONG_AGO).deals
    adapter.close()
    first.stop()

    second = TradingSimulator(SimConfig(**config)).start()
    try:
        adapter = MT5WebAPIAdapter(host="127.0.0.1", port=second.port, login=MANAGER_LOGIN,
                                   password=MANAGER_PASSWORD, use_tls=False, timeout=3)
        assert second.restored
        assert adapter.get_account(account.login).balance == Decimal("699.65")  # 0.1 lot: 0.35 commission
        assert len(adapter.list_positions(logins=[account.login])) == 1
        assert adapter.list_deals_since(logins=[account.login], from_time=LONG_AGO).deals == before
        new = adapter.balance_operation(login=account.login, amount=Decimal("1"), kind="deposit", reference="after")
        assert new.ticket > max(d.ticket for d in before)
        adapter.close()
    finally:
        second.stop()


def test_the_background_market_moves_prices_and_trades_at_the_configured_rate():
    sim = TradingSimulator(SimConfig(manager_login=MANAGER_LOGIN, manager_password=MANAGER_PASSWORD,
                                     market_thread=True, trading=True, interval_s=0.02, activity=0.5, seed=3)).start()
    try:
        start_prices = dict(sim.store.prices)
        login = sim.store.user_add({"Group": GROUP, "Name": "Bot", "Leverage": "100",
                                    "PassMain": "Client-Pass1!"}).login
        sim.store.balance_operation(login, 2, Decimal("10000"), "seed")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(sim.store.deals_by_login[login]) < 5:
            time.sleep(0.05)
        assert len(sim.store.deals_by_login[login]) >= 5
        assert sim.store.prices != start_prices
    finally:
        sim.stop()


def test_the_management_command_serves_the_web_api_until_terminated(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_trading_sim", "--port", str(port), "--manager-login", "1000",
         "--manager-password", MANAGER_PASSWORD, "--control-token", CONTROL_TOKEN,
         "--snapshot", str(tmp_path / "cmd.json"), "--seed", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    adapter = MT5WebAPIAdapter(host="127.0.0.1", port=port, login=1000, password=MANAGER_PASSWORD,
                               use_tls=False, timeout=3, connect_timeout=1)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                adapter.connect()
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        # Groups the platform names (real\<jurisdiction>\<type>-<ccy>) are created on first use in dev.
        account = open_account(adapter, group="real\\cysec\\standard-eur")
        assert adapter.get_group("real\\cysec\\standard-eur").currency == "EUR"
        assert adapter.get_account(account.login).login == account.login
    finally:
        adapter.close()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}" in output
    assert (tmp_path / "cmd.json").exists()


# --- the boundary ---------------------------------------------------------------------------------------

IMPORT_OF_SIMULATOR = re.compile(
    r"^\s*(?:from\s+[\w.]*simulator[\w.]*\s+import|import\s+[\w.]*simulator"
    r"|from\s+[\w.]+\s+import\s+(?:\([^)]*\bsimulator\b|[^\n]*\bsimulator\b))",
    re.MULTILINE,
)
# The only product-side file allowed to load it: the command that runs it (imports it inside handle()).
ALLOWED = {Path("tenant_apps/trading/management/commands/run_trading_sim.py")}


@pytest.mark.parametrize(("line", "is_import"), [
    ("from tenant_apps.trading.simulator.server import TradingSimulator", True),
    ("from tenant_apps.trading.simulator import server", True),
    ("import tenant_apps.trading.simulator.store", True),
    ("from tenant_apps.trading import simulator", True),
    ("from .simulator.market import Market", True),
    ("    from ..simulator import store", True),
    ("from tenant_apps.trading.adapters.mt5 import MT5WebAPIAdapter", False),
    ("# the simulator is a test peer", False),
])
def test_the_boundary_check_recognises_imports_of_the_simulator(line, is_import):
    assert bool(IMPORT_OF_SIMULATOR.search(line)) is is_import


def test_no_product_code_imports_the_simulator():
    offenders = []
    for path in sorted((ROOT / "tenant_apps").rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "simulator" in relative.parts or "tests" in relative.parts or relative in ALLOWED:
            continue
        if IMPORT_OF_SIMULATOR.search(path.read_text()):
            offenders.append(str(relative))
    assert offenders == []
