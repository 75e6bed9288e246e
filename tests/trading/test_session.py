"""The manager session: challenge-response login, the server's proof of authenticity, one keep-alive
connection, logging in again when the server drops it, failures as typed errors, TLS verification."""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tenant_apps.trading.adapters.base import AuthFailed, ServerNotAuthentic, Unavailable
from tenant_apps.trading.adapters.mt5 import protocol as proto
from tenant_apps.trading.simulator.server import SimConfig, TradingSimulator
from tests.trading.conftest import MANAGER_LOGIN, MANAGER_PASSWORD, free_port, open_account


def test_the_adapter_logs_in_with_the_manager_password(adapter, sim):
    info = adapter.connect()
    assert info.version_access > 0
    assert sim.stats.snapshot()["auth_sessions"] == 1


def test_a_wrong_manager_password_is_auth_failed(make_adapter, sim):
    with pytest.raises(AuthFailed):
        make_adapter(password="not-the-password").connect()
    assert sim.stats.snapshot()["auth_sessions"] == 0


def test_an_unknown_manager_login_is_auth_failed(make_adapter):
    with pytest.raises(AuthFailed):
        make_adapter(login=MANAGER_LOGIN + 1).connect()


class _ImpostorHandler(BaseHTTPRequestHandler):
    """A server that does not know the manager password: accepts any answer, cannot answer our challenge."""

    protocol_version = "HTTP/1.1"
    commands: list[str] = []

    def do_GET(self):
        url = urlsplit(self.path)
        self.commands.append(url.path)
        if url.path == "/api/auth/start":
            body = b'{"retcode":"0 Done","version_access":"1930","srv_rand":"73007dc7184747ce0f7c98516ef1c851"}'
        elif url.path == "/api/auth/answer":
            cli_rand = bytes.fromhex(parse_qs(url.query)["cli_rand"][0])
            guess = proto.cli_rand_answer(proto.password_hash("a guessed password"), cli_rand)
            body = json.dumps({"retcode": "0 Done", "version_access": "1930", "version_trade": "4000",
                               "cli_rand_answer": guess}).encode()
        else:
            body = b'{"retcode":"0 Done","answer":{"Login":"1","Group":"x"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_server_that_answers_the_client_challenge_wrongly_is_not_authentic(make_adapter):
    _ImpostorHandler.commands = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ImpostorHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        impostor = make_adapter(port=server.server_address[1])
        with pytest.raises(ServerNotAuthentic):
            impostor.get_account(1)
        # Nothing but the login reached the impostor: no command, no data read from it.
        assert _ImpostorHandler.commands == ["/api/auth/start", "/api/auth/answer"]
    finally:
        server.shutdown()
        server.server_close()


def test_commands_without_an_authenticated_session_are_refused_by_the_simulator(sim):
    with httpx.Client(base_url=sim.url, trust_env=False) as client:
        response = client.get("/api/user/get?login=1")
    assert response.status_code == 403
    assert not response.json()["retcode"].startswith("0 ")


def test_all_commands_share_one_keep_alive_connection_and_one_login(adapter, sim):
    account = open_account(adapter)
    for _ in range(20):
        adapter.get_account(account.login)
    adapter.ping()
    stats = sim.stats.snapshot()
    assert stats["connections"] == 1
    assert stats["auth_sessions"] == 1


def test_the_adapter_logs_in_again_after_the_server_drops_the_session(adapter, sim):
    account = open_account(adapter)
    assert sim.drop_sessions() == 1
    assert adapter.get_account(account.login).login == account.login
    assert sim.stats.snapshot()["auth_sessions"] == 2


@pytest.fixture
def sim_config_idle(sim_config):
    sim_config.idle_timeout_s = 0.3
    return sim_config


def test_the_adapter_logs_in_again_after_the_server_closes_an_idle_connection(sim_config_idle, make_adapter, sim):
    adapter = make_adapter()
    account = open_account(adapter)
    time.sleep(0.8)
    assert adapter.get_account(account.login).login == account.login
    assert sim.stats.snapshot()["auth_sessions"] == 2


def test_one_adapter_can_be_shared_by_threads(adapter, sim):
    account = open_account(adapter)
    errors: list[Exception] = []

    def work():
        try:
            for _ in range(10):
                assert adapter.get_account(account.login).login == account.login
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sim.stats.snapshot()["auth_sessions"] == 1


@pytest.mark.parametrize("down", [{"mode": "down"}, {"mode": "down", "http_status": 503}])
def test_a_server_that_is_down_is_unavailable_and_the_adapter_recovers_when_it_returns(down, adapter, control):
    account = open_account(adapter)
    control(down)
    with pytest.raises(Unavailable) as raised:
        adapter.get_account(account.login)
    assert raised.value.retryable
    control({"mode": "normal"})
    assert adapter.get_account(account.login).login == account.login


def test_a_refused_connection_is_unavailable_and_certainly_not_sent(make_adapter):
    adapter = make_adapter(port=free_port())
    with pytest.raises(Unavailable) as raised:
        adapter.ping()
    assert raised.value.maybe_sent is False


def test_a_slow_server_is_unavailable_after_the_timeout(make_adapter, control):
    adapter = make_adapter(timeout=0.3)
    adapter.connect()
    control({"mode": "slow", "delay_ms": 800})
    started = time.monotonic()
    with pytest.raises(Unavailable):
        adapter.ping()
    # One retry of an idempotent command at most, each bounded by the timeout.
    assert time.monotonic() - started < 2.5


# --- TLS ------------------------------------------------------------------------------------------------

@pytest.fixture
def self_signed(tmp_path):
    """A self-signed certificate for 127.0.0.1: (cert path, key path)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "sim.crt", tmp_path / "sim.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_sim(self_signed):
    cert, key = self_signed
    sim = TradingSimulator(SimConfig(manager_login=MANAGER_LOGIN, manager_password=MANAGER_PASSWORD,
                                     tls_cert=cert, tls_key=key)).start()
    yield sim
    sim.stop()


def _tls_adapter(sim, **options):
    from tenant_apps.trading.adapters.mt5 import MT5WebAPIAdapter

    return MT5WebAPIAdapter(host="127.0.0.1", port=sim.port, login=MANAGER_LOGIN, password=MANAGER_PASSWORD,
                            timeout=3, connect_timeout=2, **options)


def test_tls_certificates_are_verified_by_default(tls_sim):
    adapter = _tls_adapter(tls_sim)
    try:
        with pytest.raises(ServerNotAuthentic):
            adapter.connect()
        assert tls_sim.stats.snapshot()["auth_sessions"] == 0
    finally:
        adapter.close()


def test_a_server_certificate_signed_by_the_configured_ca_is_accepted(tls_sim, self_signed):
    adapter = _tls_adapter(tls_sim, ca_bundle=self_signed[0])
    try:
        adapter.connect()
        adapter.ping()
        assert tls_sim.url.startswith("https://")
    finally:
        adapter.close()


def test_tls_verification_can_be_turned_off_explicitly(tls_sim):
    adapter = _tls_adapter(tls_sim, verify_tls=False)
    try:
        adapter.connect()
    finally:
        adapter.close()


def test_a_command_that_went_over_a_new_unauthenticated_connection_is_sent_again_after_logging_in(
        sim_config, make_adapter, sim):
    """Even if the server's refusal looked like an ordinary permission error (HTTP 200, retcode 8), the
    adapter knows the answer came over a connection it never logged in on."""
    sim_config.unauthenticated_http_status = 200
    adapter = make_adapter()
    account = open_account(adapter)
    sim.drop_sessions()
    assert adapter.get_account(account.login).login == account.login
    assert sim.stats.snapshot()["auth_sessions"] == 2


def test_a_server_that_refuses_connections_is_unavailable_until_it_listens_again(adapter, sim):
    account = open_account(adapter)
    sim.control({"mode": "down", "refuse": True, "for_ms": 600})
    with pytest.raises(Unavailable) as raised:
        adapter.get_account(account.login)
    assert raised.value.maybe_sent is False  # refused: nothing reached the server
    time.sleep(0.9)
    assert adapter.get_account(account.login).login == account.login
    assert sim.faults.mode == "normal"
