"""The simulator's HTTP side: the MT5 Web API subset over HTTP/1.1 keep-alive, and the control endpoints.

A session is the TCP connection that authenticated (as on a real server): the handler object lives as long as
the connection and holds the session. Commands without one get HTTP 403 with retcode 8 (the real server's
answer is undocumented; `SimConfig.unauthenticated_http_status` changes it).
"""
from __future__ import annotations

import hmac
import json
import logging
import secrets
import socket
import socketserver
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import msgspec

from tenant_apps.trading.adapters.mt5.protocol import cli_rand_answer, password_hash, srv_rand_answer
from tenant_apps.trading.simulator import records
from tenant_apps.trading.simulator.models import RETCODE_TEXT, SimError, parse_decimal, parse_int
from tenant_apps.trading.simulator.store import SimStore

if TYPE_CHECKING:
    from tenant_apps.trading.simulator.server import TradingSimulator

log = logging.getLogger(__name__)

PAGE_LIMIT = 100
# Commands that still work while "reject" is in force, so a session can be opened to receive the rejections.
SESSION_COMMANDS = {"/api/auth/start", "/api/auth/answer", "/api/test/access", "/api/quit"}
QUERY_TO_FIELD = {
    "login": "Login", "group": "Group", "name": "Name", "leverage": "Leverage", "pass_main": "PassMain",
    "pass_investor": "PassInvestor", "rights": "Rights", "email": "Email", "country": "Country", "city": "City",
    "address": "Address", "phone": "Phone", "comment": "Comment", "id": "ID", "status": "Status",
    "agent": "Agent", "lead_source": "LeadSource", "lead_campaign": "LeadCampaign",
}



def mt5_unescape(value: str) -> str:
    """`\\x` → `x`: the escape of `\\ = |` and line feed. A lone backslash disappears, as an unescaped one would."""
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            if i + 1 < len(value):
                out.append(value[i + 1])
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_query(raw: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in raw.split("&"):
        if part:
            key, _, value = part.partition("=")
            params[unquote(key)] = mt5_unescape(unquote(value))
    return params


class _Done(Exception):
    """The handler already answered (or dropped the connection)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MT5WebAPI-Simulator/1.0"
    sys_version = ""
    server: SimHTTPServer

    def setup(self) -> None:
        self.sim: TradingSimulator = self.server.sim
        self.timeout = self.sim.config.idle_timeout_s  # the server closes idle connections
        # Answers are small: without this, Nagle's algorithm and delayed ACKs add ~40 ms to every command.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()  # here, in the connection's thread, not in the accept loop
        super().setup()
        self.session_login: int | None = None
        self.pending: tuple[int, bytes, float] | None = None
        self.sim._register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.sim._unregister(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, OSError, ssl.SSLError):
            pass  # the client went away

    def log_message(self, fmt, *args) -> None:
        if self.sim.config.verbose:
            log.info("%s %s", self.address_string(), fmt % args)

    def do_GET(self) -> None:
        try:
            self._dispatch()
        except _Done:
            pass
        except (ConnectionError, ssl.SSLError):
            self.close_connection = True
        except Exception:  # noqa: BLE001 - a simulator bug answers 500 instead of hanging the client
            log.exception("simulator failed on %s", self.path)
            try:
                self._reply({"retcode": "2 Common error"}, status=500, close=True)
            except (_Done, OSError):
                pass

    do_POST = do_GET

    # --- plumbing ---------------------------------------------------------------------------------------

    def _reply(self, payload: dict, status: int = 200, close: bool = False) -> None:
        answer = payload.get("answer")
        if isinstance(answer, records.RawAnswer):
            head = msgspec.json.encode({k: v for k, v in payload.items() if k != "answer"})
            body = b"".join((head[:-1], b',"answer":[' if len(head) > 2 else b'"answer":[',
                             b",".join(answer.items), b"]}"))
        else:
            body = msgspec.json.encode(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close" if close else "keep-alive")
        self._headers_buffer.append(b"\r\n" + body)  # headers and body in one write
        self.flush_headers()
        if close:
            self.close_connection = True
        raise _Done

    def _ok(self, **payload) -> None:
        self._reply({"retcode": "0 Done", **payload})

    def _abort(self) -> None:
        """Drop the connection without an answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _Done

    def _body(self) -> object:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        text = raw.decode("utf-8", errors="replace").strip()
        if text[:1] in ("{", "["):
            try:
                return json.loads(text)
            except ValueError:
                raise SimError(3, "body is not JSON") from None
        return None

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        try:
            body = self._body()
        except SimError as exc:
            self._reply({"retcode": exc.retcode_text})
        if path.startswith("/sim/"):
            self._control(path, body)
        if not path.startswith("/api/"):
            self._reply({"retcode": "3 Invalid parameters"}, status=404)
        self.sim.stats.count(path)
        faults = self.sim.faults
        if faults.mode == "down":
            if faults.http_status:
                self._reply({"retcode": "10 No connection"}, status=faults.http_status, close=True)
            self._abort()
        if faults.mode == "slow" and faults.delay_ms and (not faults.paths or path in faults.paths):
            time.sleep(faults.delay_ms / 1000)
        try:
            params = parse_query(url.query)
            if path == "/api/auth/start":
                self._auth_start(params)
            if path == "/api/auth/answer":
                self._auth_answer(params)
            if self.session_login is None:
                status = self.sim.config.unauthenticated_http_status
                self._reply({"retcode": f"8 {RETCODE_TEXT[8]}"}, status=status, close=status != 200)
            if faults.take("reject", path):
                raise SimError(faults.retcode)
            handler = ROUTES.get(path)
            if handler is None:
                self._reply({"retcode": "3 Invalid parameters"}, status=404)
            with self.sim.store.lock:
                payload = handler(self, params, body if isinstance(body, dict) else {})
            if path == "/api/trade/balance" and faults.take("timeout_after_apply", path):
                time.sleep(faults.sleep_ms / 1000)  # applied; the client has given up by now
                self._abort()
            self._ok(**payload)
        except SimError as exc:
            self._reply({"retcode": exc.retcode_text})

    # --- authentication ---------------------------------------------------------------------------------

    def _auth_start(self, params: dict) -> None:
        agent = params.get("agent", "")
        if (params.get("type") != "manager" or not agent or " " in agent
                or parse_int(params.get("version") or 0, "version") < 484):
            raise SimError(3, "bad auth/start parameters")
        self.session_login = None
        srv_rand = secrets.token_bytes(16)
        self.pending = (parse_int(params.get("login") or 0, "login"), srv_rand, time.monotonic())
        self._ok(version_access="1930", srv_rand=srv_rand.hex())

    def _auth_answer(self, params: dict) -> None:
        pending, self.pending = self.pending, None
        config = self.sim.config
        if pending is None or time.monotonic() - pending[2] > config.auth_window_s:
            raise SimError(3, "no auth/start on this connection, or too late")
        login, srv_rand, _ = pending
        ph = password_hash(config.manager_password)
        if login != config.manager_login or not hmac.compare_digest(
                params.get("srv_rand_answer", "").lower(), srv_rand_answer(ph, srv_rand.hex())):
            raise SimError(3006, "wrong manager password")
        try:
            cli_rand = bytes.fromhex(params.get("cli_rand", ""))
        except ValueError:
            raise SimError(3, "cli_rand is not hex") from None
        if len(cli_rand) != 16:
            raise SimError(3, "cli_rand must be 16 bytes")
        self.session_login = login
        with self.sim.stats.lock:
            self.sim.stats.auth_sessions += 1
        self._ok(version_access="1930", version_trade="4000", cli_rand_answer=cli_rand_answer(ph, cli_rand))

    # --- commands ---------------------------------------------------------------------------------------

    @property
    def store(self) -> SimStore:
        return self.sim.store

    def cmd_test_access(self, params, body) -> dict:
        return {}

    def cmd_quit(self, params, body) -> dict:
        self.session_login = None
        self._reply({"retcode": "0 Done"}, close=True)
        return {}

    def cmd_user_add(self, params, body) -> dict:
        fields = {QUERY_TO_FIELD[k]: v for k, v in params.items() if k in QUERY_TO_FIELD}
        fields.update(body)
        account = self.store.user_add(fields)
        return {"login": str(account.login), "answer": records.user_record(self.store, account)}

    def _login(self, params) -> int:
        if not params.get("login"):
            raise SimError(3, "login is required")
        return parse_int(params["login"], "login")

    def cmd_user_get(self, params, body) -> dict:
        return {"answer": records.user_record(self.store, self.store.account(self._login(params)))}

    def cmd_user_get_batch(self, params, body) -> dict:
        logins = self._logins_selected(params)
        return {"answer": [records.user_record(self.store, self.store.accounts[x]) for x in logins or []
                           if x in self.store.accounts]}

    def cmd_user_update(self, params, body) -> dict:
        fields = {QUERY_TO_FIELD[k]: v for k, v in params.items() if k in QUERY_TO_FIELD and k != "login"}
        fields.update({k: v for k, v in body.items() if k not in ("Login", "PassMain", "PassInvestor")})
        account = self.store.user_update(self._login(params), fields)
        return {"answer": records.user_record(self.store, account)}

    def cmd_account_get(self, params, body) -> dict:
        login = self._login(params)
        account = self.store.account(login)
        if login not in self.store.active:
            # Only accounts with positions or trading since the server started have a trading state.
            raise SimError(13, "no trading state for this account")
        return {"answer": records.account_record(self.store, account)}

    def _logins_selected(self, params, *, allow_ticket: bool = False) -> list[int] | None:
        selectors = [k for k in ("login", "group", "ticket") if params.get(k)]
        if len(selectors) != 1 or (selectors[0] == "ticket" and not allow_ticket):
            raise SimError(3, "give exactly one of login, group" + (", ticket" if allow_ticket else ""))
        if selectors[0] == "login":
            return [parse_int(x, "login") for x in params["login"].split(",") if x.strip()]
        if selectors[0] == "group":
            return self.store.logins_in(params["group"])
        return None

    def cmd_account_get_batch(self, params, body) -> dict:
        logins = self._logins_selected(params)
        return {"answer": [records.account_record(self.store, self.store.accounts[x]) for x in logins or []
                           if x in self.store.accounts and x in self.store.active]}

    def cmd_balance(self, params, body) -> dict:
        for required in ("login", "type", "balance"):
            if not params.get(required):
                raise SimError(3, f"{required} is required")
        deal = self.store.balance_operation(
            self._login(params), parse_int(params["type"], "type"), parse_decimal(params["balance"], "balance"),
            params.get("comment", ""), check_margin=params.get("check_margin", "1") != "0")
        return {"answer": {"Ticket": str(deal.ticket)}}

    def _page(self, params) -> tuple[int, int]:
        offset = parse_int(params.get("offset") or 0, "offset")
        total = parse_int(params.get("total") or PAGE_LIMIT, "total")
        with self.sim.stats.lock:
            self.sim.stats.max_page_total = max(self.sim.stats.max_page_total, total)
        if offset < 0 or not 1 <= total <= PAGE_LIMIT:
            raise SimError(3, f"total must be 1..{PAGE_LIMIT}")
        return offset, total

    def _positions_of(self, login: int) -> list:
        return sorted(self.store.positions_by_login.get(login, {}).values(), key=lambda p: p.ticket)

    def cmd_position_get_batch(self, params, body) -> dict:
        logins = self._logins_selected(params, allow_ticket=True)
        if logins is None:
            tickets = {parse_int(x, "ticket") for x in params["ticket"].split(",") if x.strip()}
            found = [self.store.positions[t] for t in sorted(tickets) if t in self.store.positions]
        else:
            found = [p for login in logins for p in self._positions_of(login)]
        if params.get("symbol"):
            found = [p for p in found if p.symbol == params["symbol"]]
        return {"answer": [records.position_record(self.store, p) for p in found]}

    def cmd_position_get_page(self, params, body) -> dict:
        offset, total = self._page(params)
        found = self._positions_of(self._login(params))[offset:offset + total]
        return {"answer": [records.position_record(self.store, p) for p in found]}

    def cmd_position_get_total(self, params, body) -> dict:
        return {"answer": {"total": str(len(self._positions_of(self._login(params))))}}

    def _window(self, params) -> tuple[int, int]:
        if not params.get("from") or not params.get("to"):
            raise SimError(3, "from and to are required")
        return parse_int(params["from"], "from"), parse_int(params["to"], "to")

    def cmd_deal_get_page(self, params, body) -> dict:
        start, end = self._window(params)
        offset, total = self._page(params)
        found = self.store.deals_between(self._login(params), start, end)[offset:offset + total]
        return {"answer": records.RawAnswer([records.deal_wire(self.store, d) for d in found])}

    def cmd_deal_get_total(self, params, body) -> dict:
        start, end = self._window(params)
        return {"answer": {"total": str(len(self.store.deals_between(self._login(params), start, end)))}}

    def cmd_deal_get_batch(self, params, body) -> dict:
        logins = self._logins_selected(params, allow_ticket=True)
        if logins is None:
            tickets = {parse_int(x, "ticket") for x in params["ticket"].split(",") if x.strip()}
            found = [self.store.deals_by_ticket[t] for t in sorted(tickets) if t in self.store.deals_by_ticket]
        else:
            start, end = self._window(params)
            found = [d for login in logins for d in self.store.deals_between(login, start, end)]
        if params.get("symbol"):
            found = [d for d in found if d.symbol == params["symbol"]]
        return {"answer": records.RawAnswer([records.deal_wire(self.store, d) for d in found])}

    def cmd_group_get(self, params, body) -> dict:
        if params.get("group"):
            group = self.store.group_get(params["group"])
            if group is None:
                raise SimError(13, "group not found")
            return {"answer": records.group_record(group)}
        if params.get("mask"):
            return {"answer": [records.group_record(g) for g in self.store.groups_matching(params["mask"])]}
        raise SimError(3, "group or mask is required")

    # --- control ----------------------------------------------------------------------------------------

    def _control(self, path: str, body: object) -> None:
        token = self.sim.config.control_token
        given = self.headers.get("X-Sim-Token", "")
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            self._reply({"ok": False, "error": "control token required"}, status=403)
        try:
            if path == "/sim/state":
                self._reply({"ok": True, **self.sim.state()})
            if path == "/sim/control":
                self._reply({"ok": True, **self.sim.control(body if isinstance(body, dict) else {},
                                                            keep=self.connection)})
        except (SimError, ValueError, KeyError, TypeError) as exc:
            self._reply({"ok": False, "error": f"{exc.__class__.__name__}: {exc}"}, status=400)
        self._reply({"ok": False, "error": "unknown control path"}, status=404)


ROUTES = {
    "/api/test/access": _Handler.cmd_test_access,
    "/api/quit": _Handler.cmd_quit,
    "/api/user/add": _Handler.cmd_user_add,
    "/api/user/get": _Handler.cmd_user_get,
    "/api/user/get_batch": _Handler.cmd_user_get_batch,
    "/api/user/update": _Handler.cmd_user_update,
    "/api/user/account/get": _Handler.cmd_account_get,
    "/api/user/account/get_batch": _Handler.cmd_account_get_batch,
    "/api/trade/balance": _Handler.cmd_balance,
    "/api/position/get_batch": _Handler.cmd_position_get_batch,
    "/api/position/get_page": _Handler.cmd_position_get_page,
    "/api/position/get_total": _Handler.cmd_position_get_total,
    "/api/deal/get_page": _Handler.cmd_deal_get_page,
    "/api/deal/get_batch": _Handler.cmd_deal_get_batch,
    "/api/deal/get_total": _Handler.cmd_deal_get_total,
    "/api/group/get": _Handler.cmd_group_get,
}


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, sim: TradingSimulator, address):
        self.sim = sim
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # http.server.HTTPServer.server_bind resolves the host's FQDN (a DNS lookup that can stall); not needed here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:
        log.debug("simulator connection error from %s", client_address, exc_info=True)
