"""Fixtures of the trading tests: the bundled MT5 simulator on a free port (in-process threads, real HTTP),
adapters connected to it, and its control API. None of these tests needs the database."""
from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from tenant_apps.trading.adapters.base import AccountInfo, BalanceKind
from tenant_apps.trading.adapters.mt5 import MT5WebAPIAdapter
from tenant_apps.trading.simulator.server import SimConfig, TradingSimulator

MANAGER_LOGIN = 1000
MANAGER_PASSWORD = "Sim-Manager-2026!"
CONTROL_TOKEN = "trading-tests-control"
GROUP = "real\\forex-usd"
CLIENT_PASSWORD = "Client-Pass1!"
LONG_AGO = datetime.now(UTC) - timedelta(days=90)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sim_config() -> SimConfig:
    """Override (or change in a test before `sim` starts) to configure the simulator."""
    return SimConfig(manager_login=MANAGER_LOGIN, manager_password=MANAGER_PASSWORD, control_token=CONTROL_TOKEN,
                     seed=20260501)


@pytest.fixture
def sim(sim_config):
    simulator = TradingSimulator(sim_config).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def make_adapter(sim):
    made: list[MT5WebAPIAdapter] = []

    def make(**overrides) -> MT5WebAPIAdapter:
        options = dict(host="127.0.0.1", port=sim.port, login=MANAGER_LOGIN, password=MANAGER_PASSWORD,
                       use_tls=False, timeout=3.0, connect_timeout=2.0)
        options.update(overrides)
        adapter = MT5WebAPIAdapter(**options)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


@pytest.fixture
def adapter(make_adapter) -> MT5WebAPIAdapter:
    return make_adapter()


@pytest.fixture
def control(sim):
    """control(payload) → the simulator's answer, over its real control endpoint."""
    client = httpx.Client(base_url=sim.url, headers={"X-Sim-Token": CONTROL_TOKEN}, timeout=10, trust_env=False)

    def call(payload: dict) -> dict:
        response = client.post("/sim/control", json=payload)
        assert response.status_code == 200, response.text
        return response.json()

    yield call
    client.close()


def open_account(adapter: MT5WebAPIAdapter, *, group: str = GROUP, leverage: int = 100,
                 deposit: Decimal | None = None, name: str = "Ana Client") -> AccountInfo:
    account = adapter.create_account(group=group, leverage=leverage, name=name, email="ana@client.test",
                                     password_main=CLIENT_PASSWORD, password_investor="Investor-Pass1!")
    if deposit:
        adapter.balance_operation(login=account.login, amount=deposit, kind=BalanceKind.DEPOSIT,
                                  reference=f"initial-{account.login}", first_attempt=True)
    return account
