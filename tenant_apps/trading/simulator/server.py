"""The bundled MT5 Web API simulator as a whole: configuration, fault modes, lifecycle and the control API.

Plain HTTP by default (localhost, dev and tests); `tls_cert`/`tls_key` serve HTTPS.
"""
from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

from tenant_apps.trading.simulator import records
from tenant_apps.trading.simulator.handler import SESSION_COMMANDS, SimHTTPServer
from tenant_apps.trading.simulator.market import Market
from tenant_apps.trading.simulator.models import SYMBOLS, SimError, Stats
from tenant_apps.trading.simulator.store import SimStore

log = logging.getLogger(__name__)

DEFAULT_GROUPS = ("demo\\forex-usd", "real\\forex-usd", "real\\forex-eur")


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    manager_login: int = 1000
    manager_password: str = "Manager-2026!"
    control_token: str | None = None  # None: the control API is off
    snapshot_path: str | None = None
    snapshot_every_s: float = 10.0
    idle_timeout_s: float = 180.0
    auth_window_s: float = 10.0
    market_thread: bool = False  # prices (and trading, when on) move in a background thread
    trading: bool = False
    interval_s: float = 1.0
    activity: float = 0.05
    seed: int | None = None
    auto_create_groups: bool = False
    groups: tuple[str, ...] = DEFAULT_GROUPS
    commission_per_lot: Decimal = Decimal("3.50")
    rollover_s: float = 3600.0
    tls_cert: str | None = None
    tls_key: str | None = None
    verbose: bool = False
    # How a command without a session is answered (the real server's answer is undocumented).
    unauthenticated_http_status: int = 403


@dataclass
class Faults:
    """One fault mode at a time, set by the control API."""

    mode: str = "normal"  # normal | down | slow | reject | timeout_after_apply
    http_status: int | None = None  # down: answer with this status instead of dropping the connection
    delay_ms: int = 0  # slow
    count: int = 0  # reject / timeout_after_apply: how many more commands
    retcode: int = 10  # reject
    paths: tuple[str, ...] = ()  # reject, slow: only these commands (empty: any; reject spares session ones)
    sleep_ms: int = 5000  # timeout_after_apply
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, payload: dict) -> None:
        mode = payload.get("mode")
        if mode not in {"normal", "down", "slow", "reject", "timeout_after_apply"}:
            raise ValueError(f"unknown mode {mode!r}")
        with self.lock:
            self.mode = mode
            self.http_status = int(payload["http_status"]) if payload.get("http_status") else None
            self.delay_ms = int(payload.get("delay_ms", 0))
            self.count = int(payload.get("count", 1))
            self.retcode = int(payload.get("retcode", 10))
            self.paths = tuple(payload.get("paths") or ())
            self.sleep_ms = int(payload.get("sleep_ms", 5000))

    def take(self, mode: str, path: str) -> bool:
        """Consume one use of a counted fault if it applies to `path`."""
        with self.lock:
            if self.mode != mode or self.count <= 0:
                return False
            if mode == "reject" and (path in SESSION_COMMANDS or (self.paths and path not in self.paths)):
                return False
            self.count -= 1
            if self.count == 0:
                self.mode = "normal"
            return True

    def describe(self) -> dict:
        with self.lock:
            return {"mode": self.mode, "http_status": self.http_status, "delay_ms": self.delay_ms,
                    "count": self.count, "retcode": self.retcode, "paths": list(self.paths), "sleep_ms": self.sleep_ms}


class TradingSimulator:
    """The bundled MT5 Web API trading-server simulator: `start()` serves in background threads (tests),
    `serve_forever()` in the foreground (the management command)."""

    def __init__(self, config: SimConfig | None = None):
        self.config = config or SimConfig()
        self.store = SimStore(auto_create_groups=self.config.auto_create_groups,
                              commission_per_lot=self.config.commission_per_lot, rollover_s=self.config.rollover_s,
                              groups=self.config.groups)
        self.restored = bool(self.config.snapshot_path) and self.store.load(self.config.snapshot_path)
        self.market = Market(self.store, seed=self.config.seed, activity=self.config.activity,
                             interval_s=self.config.interval_s)
        if self.config.trading:
            self.market.enabled.set()
        self.faults = Faults()
        self.stats = Stats()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._server: SimHTTPServer | None = None
        self._server_lock = threading.Lock()
        self._port = 0
        self._restore_timer: threading.Timer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._stopped = False

    # --- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> TradingSimulator:
        self._listen(self.config.port)
        if self.config.market_thread:
            self.market.start()
        if self.config.snapshot_path:
            self._spawn(self._snapshot_loop, "trading-sim-snapshot")
        return self

    def _listen(self, port: int) -> None:
        with self._server_lock:
            if self._server is not None or self._stopped:
                return
            server = SimHTTPServer(self, (self.config.host, port))
            if self.config.tls_cert:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
                # The handshake happens in the connection's own thread, not in the accept loop.
                server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
            self._server, self._port = server, server.server_address[1]
            self._spawn(lambda: server.serve_forever(poll_interval=0.05), "trading-sim-http")

    def _unlisten(self) -> None:
        """Stop accepting connections: clients get "connection refused" until `_listen` runs again."""
        with self._server_lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def serve_forever(self) -> None:
        if self._server is None:
            self.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        finally:
            self.stop()

    def request_stop(self) -> None:
        """Ask `serve_forever` to return (safe from a signal handler)."""
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        if self._stopped:
            return
        self._stopped = True
        if self._restore_timer is not None:
            self._restore_timer.cancel()
        self.market.stop()
        self._unlisten()
        self.drop_sessions()
        if self.config.snapshot_path:
            self.store.save(self.config.snapshot_path)

    def _snapshot_loop(self) -> None:
        while not self._stopping.wait(self.config.snapshot_every_s):
            if self.store.dirty:
                try:
                    self.store.save(self.config.snapshot_path)
                except OSError:
                    log.exception("simulator snapshot failed")

    @property
    def port(self) -> int:
        assert self._port, "not started"
        return self._port

    @property
    def url(self) -> str:
        scheme = "https" if self.config.tls_cert else "http"
        return f"{scheme}://{self.config.host}:{self.port}"

    # --- connections ------------------------------------------------------------------------------------

    def _register(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.add(conn)
        with self.stats.lock:
            self.stats.connections += 1

    def _unregister(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.discard(conn)

    def drop_sessions(self, keep: socket.socket | None = None) -> int:
        """Close every client connection (and so every session), as a server restart or network cut would."""
        with self._conn_lock:
            victims = [c for c in self._connections if c is not keep]
        for conn in victims:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(victims)

    # --- control ----------------------------------------------------------------------------------------

    def state(self) -> dict:
        with self.store.lock:
            return {
                "faults": self.faults.describe(), "stats": self.stats.snapshot(),
                "accounts": len(self.store.accounts), "positions": len(self.store.positions),
                "deals": len(self.store.deals_by_ticket), "trading": self.market.enabled.is_set(),
                "prices": {k: str(v) for k, v in self.store.prices.items()},
            }

    def _set_mode(self, payload: dict, keep: socket.socket | None) -> dict:
        """Fault modes. `down` drops every connection and then either answers `http_status` or drops each new
        request unanswered; with `"refuse": true` it stops listening (connection refused; the HTTP control API
        is unreachable too, so give `for_ms` or call `control` in-process). `for_ms` returns to normal after
        that many milliseconds, whatever the mode."""
        if self._restore_timer is not None:
            self._restore_timer.cancel()
            self._restore_timer = None
        self.faults.set(payload)
        if payload["mode"] == "down":
            self.drop_sessions(keep=keep)
            if payload.get("refuse"):
                self._unlisten()
        else:
            self._listen(self._port)
        if payload.get("for_ms"):
            self._restore_timer = threading.Timer(int(payload["for_ms"]) / 1000, self._set_mode,
                                                  args=({"mode": "normal"}, None))
            self._restore_timer.daemon = True
            self._restore_timer.start()
        return {"faults": self.faults.describe(), "listening": self._server is not None}

    def control(self, payload: dict, keep: socket.socket | None = None) -> dict:
        """The control API, callable in-process (tests) or over POST /sim/control (with X-Sim-Token)."""
        if "mode" in payload:
            return self._set_mode(payload, keep)
        action = payload.get("action")
        store = self.store
        if action == "drop_sessions":
            return {"dropped": self.drop_sessions(keep=keep)}
        if action == "edit_account":
            # A change made directly on the server, behind the platform's back (drift).
            with store.lock:
                account = store.account(int(payload["login"]))
                if "rights" in payload:
                    account.rights = int(payload["rights"])
                account.rights = (account.rights | int(payload.get("set_rights", 0))) & ~int(payload.get("clear_rights", 0))
                if "leverage" in payload:
                    account.leverage = int(payload["leverage"])
                if "group" in payload:
                    group = store.group_get(str(payload["group"]))
                    if group is None:
                        raise SimError(13, "group not found")
                    account.group = group.name
                store.dirty = True
                return {"login": account.login, "rights": account.rights, "leverage": account.leverage,
                        "group": account.group}
        if action == "group_upsert":
            group = store.group_upsert(payload["group"])
            return {"group": group.name, "currency": group.currency}
        if action == "open_position":
            side = {"buy": 0, "sell": 1}[str(payload.get("side", "buy"))]
            volume = int(payload["volume"]) if "volume" in payload else int(Decimal(str(payload["lots"])) * 10_000)
            position = store.open_position(int(payload["login"]), str(payload["symbol"]), side, volume,
                                           str(payload.get("comment", "")))
            return {"ticket": position.ticket}
        if action == "close_position":
            return {"deal": store.close_position(int(payload["ticket"])).ticket}
        if action == "set_price":
            symbol = str(payload["symbol"])
            if symbol not in SYMBOLS:
                raise SimError(3, f"unknown symbol {symbol}")
            with store.lock:
                store.prices[symbol] = Decimal(str(payload["price"]))
            return {"symbol": symbol, "price": str(store.prices[symbol])}
        if action == "trading":
            if payload.get("enabled", True):
                self.market.enabled.set()
            else:
                self.market.enabled.clear()
            if "activity" in payload:
                self.market.activity = float(payload["activity"])
            return {"trading": self.market.enabled.is_set(), "activity": self.market.activity}
        if action == "step":
            totals: dict[str, int] = {}
            for _ in range(int(payload.get("count", 1))):
                for key, value in self.market.step().items():
                    totals[key] = totals.get(key, 0) + value
            return totals
        if action == "generate_history":
            logins = payload.get("logins") or store.logins_in(str(payload.get("group", "*")))
            now = int(time.time())
            first = store.next_deal
            made = store.generate_history(
                [int(x) for x in logins], int(payload.get("deals_per_login", 100)),
                int(payload.get("from", now - 30 * 86_400)), int(payload.get("to", now)), self.market.rng)
            with store.lock:  # history is data at rest: serialised now, not while a reader waits for it
                for ticket in range(first, store.next_deal):
                    if ticket in store.deals_by_ticket:
                        records.deal_wire(store, store.deals_by_ticket[ticket])
            return {"deals": made}
        if action == "snapshot":
            if not self.config.snapshot_path:
                raise ValueError("no snapshot path configured")
            self.store.save(self.config.snapshot_path)
            return {"saved": self.config.snapshot_path}
        raise ValueError(f"unknown action {action!r}")
