"""The MT5 Web API manager session: one authenticated keep-alive connection, login, re-login, error mapping.

The Web API is stateful: the session IS the TCP connection that ran /api/auth/start + /api/auth/answer. So
the HTTP pool holds exactly one connection, nothing goes through an environment proxy, and every response is
checked to have come back over the authenticated connection: one that came over a fresh connection (the old
one was closed while idle) was refused by the server unauthenticated, so the session logs in again and sends
the command once more. Protocol facts: ../shared/PROTOCOLS.md §1.
"""
from __future__ import annotations

import hmac
import json
import logging
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec

from tenant_apps.trading.adapters.base import (
    AuthFailed,
    NotFound,
    Rejected,
    ServerNotAuthentic,
    SessionInfo,
    TradingPlatformError,
    Unavailable,
    utc_from_epoch,
)
from tenant_apps.trading.adapters.mt5 import protocol as proto

log = logging.getLogger(__name__)


def _is_certificate_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False



class MT5Session:
    """Transport and session of one MT5 manager connection; commands go through `_call`.

    `use_tls=False` is only for the bundled simulator on localhost; a real server is HTTPS, and its
    certificate is verified unless `verify_tls=False` (or against `ca_bundle`, a PEM file, when given).
    `timeout` bounds every read; `connect_timeout` the TCP+TLS handshake. `server_utc_offset` is how far the
    server's clock (deal times) is ahead of UTC. Commands are serialised: instances are thread-safe.
    """

    def __init__(
        self, *, host: str, port: int, login: int, password: str, verify_tls: bool = True, use_tls: bool = True,
        ca_bundle: str | None = None, timeout: float = 10.0, connect_timeout: float = 5.0,
        agent: str = "BrokerOS", server_utc_offset: timedelta = timedelta(0), idle_reconnect_s: float = 170.0,
        ping_before_write_s: float = 15.0,
    ):
        if not agent or " " in agent:
            raise ValueError("agent must be non-empty without spaces")
        bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host
        self._base = f"{'https' if use_tls else 'http'}://{bracketed}:{int(port)}"
        self._manager_login = int(login)
        self._ph = proto.password_hash(password)
        self._verify: bool | ssl.SSLContext = False
        if use_tls and verify_tls:
            self._verify = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._agent = agent
        self._offset_s = int(server_utc_offset.total_seconds())
        self._idle_reconnect_s = idle_reconnect_s
        self._ping_before_write_s = ping_before_write_s
        self._lock = threading.RLock()
        self._client = self._new_client()
        self._session_stream: object | None = None  # the authenticated connection (httpcore network stream)
        self._authenticated = False
        self._session_info: SessionInfo | None = None
        self._last_ok = 0.0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._base} manager {self._manager_login}>"

    # --- transport --------------------------------------------------------------------------------------

    def _new_client(self) -> httpx.Client:
        # One connection (it is the session); small request/answer pairs, so no Nagle delay.
        transport = httpx.HTTPTransport(
            verify=self._verify, trust_env=False, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1,
                                keepalive_expiry=self._idle_reconnect_s),
        )
        return httpx.Client(transport=transport, timeout=self._timeout, trust_env=False,
                            headers={"Connection": "keep-alive", "User-Agent": self._agent})

    def _send(self, path: str, params: dict[str, Any], body: dict | None = None,
              decode: Callable[[bytes], Any] = msgspec.json.decode) -> tuple[int, Any, object | None]:
        """One HTTP exchange. Returns (status, decoded JSON or None, the connection it went over)."""
        url = f"{self._base}{path}"
        query = proto.build_query(params)
        if query:
            url = f"{url}?{query}"
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if content is not None else None
        try:
            response = self._client.request("POST" if content is not None else "GET", url,
                                            content=content, headers=headers)
        except httpx.ConnectError as exc:
            if _is_certificate_error(exc):
                raise ServerNotAuthentic(f"TLS certificate of {self._base} not trusted: {exc}") from exc
            raise Unavailable(f"cannot connect to {self._base}: {exc}") from exc
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Unavailable(f"connecting to {self._base} timed out") from exc
        except httpx.TimeoutException as exc:
            raise Unavailable(f"{path}: no answer within the timeout", maybe_sent=True) from exc
        except httpx.TransportError as exc:
            raise Unavailable(f"{path}: connection lost ({exc.__class__.__name__}: {exc})", maybe_sent=True) from exc
        stream = response.extensions.get("network_stream")
        try:
            payload = decode(response.content)
        except ValueError:
            payload = None
        return response.status_code, payload, stream

    def _drop_session(self) -> None:
        self._session_stream = None
        self._authenticated = False
        self._client.close()
        self._client = self._new_client()

    # --- session ----------------------------------------------------------------------------------------

    def _check_auth_step(self, status: int, payload: Any, step: str) -> dict:
        if status >= 500:
            raise Unavailable(f"{step}: HTTP {status}")
        if status != 200:
            raise AuthFailed(f"{step}: HTTP {status}")
        code, text = proto.parse_retcode(payload)
        if code in proto.OK_RETCODES:
            return payload
        if proto.error_class_for(code) is Unavailable:
            raise Unavailable(f"{step}: {text}", retcode=code)
        if code == 1008:
            raise ServerNotAuthentic(f"{step}: {text}", retcode=code)
        raise AuthFailed(f"{step}: {text or 'refused'}", retcode=code)

    def _authenticate(self) -> SessionInfo:
        try:
            return self._login_exchange()
        except TradingPlatformError:
            self._drop_session()  # never leave a half-authenticated connection in the pool
            raise

    def _login_exchange(self) -> SessionInfo:
        """Challenge-response login; then the server must prove it knows the password too."""
        status, payload, first_stream = self._send("/api/auth/start", {
            "version": proto.WEBAPI_VERSION, "agent": self._agent, "login": self._manager_login, "type": "manager",
        })
        payload = self._check_auth_step(status, payload, "auth/start")
        srv_rand = str(payload.get("srv_rand") or (payload.get("answer") or {}).get("srv_rand") or "")
        try:
            if len(bytes.fromhex(srv_rand)) != 16:
                raise ValueError
        except ValueError:
            self._drop_session()
            raise proto.MalformedResponse(f"auth/start: srv_rand is not 16 bytes of hex: {srv_rand!r}") from None
        cli_rand = secrets.token_bytes(16)
        status, payload, stream = self._send("/api/auth/answer", {
            "srv_rand_answer": proto.srv_rand_answer(self._ph, srv_rand), "cli_rand": cli_rand.hex(),
        })
        if first_stream is not None and stream is not first_stream:
            self._drop_session()
            raise Unavailable("connection dropped during authentication")
        payload = self._check_auth_step(status, payload, "auth/answer")
        answer = str(payload.get("cli_rand_answer") or (payload.get("answer") or {}).get("cli_rand_answer") or "")
        if not hmac.compare_digest(answer.lower(), proto.cli_rand_answer(self._ph, cli_rand)):
            self._drop_session()
            raise ServerNotAuthentic(f"{self._base} answered the client challenge wrongly: it does not know "
                                     "the manager password", retcode=1008)
        self._session_stream = stream
        self._authenticated = True
        self._last_ok = time.monotonic()
        self._session_info = SessionInfo(
            version_access=proto.to_int(payload.get("version_access")),
            version_trade=proto.to_int(payload.get("version_trade")) if payload.get("version_trade") else None,
        )
        log.info("MT5 session opened on %s as manager %s", self._base, self._manager_login)
        return self._session_info

    def _ensure_session(self) -> None:
        if self._authenticated and time.monotonic() - self._last_ok > self._idle_reconnect_s:
            # The server closes a connection after 180 s without packets; don't gamble on it.
            self._drop_session()
        if not self._authenticated:
            self._authenticate()

    def _call(self, path: str, params: dict[str, Any] | None = None, *, body: dict | None = None,
              idempotent: bool = True, decode: Callable[[bytes], Any] = msgspec.json.decode) -> dict:
        """Run one command on the session and return the response object, or raise the mapped error.

        Retries once, after logging in again, when the session turned out to be gone (the answer came over a
        new connection, HTTP 401/403, an authentication retcode) — the server did not run the command then —
        and, for idempotent commands only, when the connection broke mid-request.
        """
        params = params or {}
        with self._lock:
            if (not idempotent and self._authenticated
                    and time.monotonic() - self._last_ok > self._ping_before_write_s):
                # Find a stale connection with a harmless command, not with the money-moving one.
                try:
                    self._call("/api/test/access")
                except Unavailable as exc:
                    raise Unavailable(f"{path} not sent: {exc.message}", retcode=exc.retcode) from exc
            for attempt in (1, 2):
                last = attempt == 2
                self._ensure_session()
                try:
                    status, payload, stream = self._send(path, params, body, decode)
                except Unavailable as exc:
                    self._drop_session()
                    if not last and (idempotent or not exc.maybe_sent):
                        continue
                    raise
                if stream is not None and self._session_stream is not None and stream is not self._session_stream:
                    log.info("MT5 connection to %s was replaced; logging in again", self._base)
                    self._drop_session()
                    if last:
                        raise Unavailable(f"{path}: the server keeps dropping the session")
                    continue
                if status in (401, 403):
                    self._drop_session()
                    if last:
                        raise AuthFailed(f"{path}: HTTP {status} right after logging in")
                    continue
                if status != 200:
                    if status >= 500 or status in (408, 429):
                        self._drop_session()
                        raise Unavailable(f"{path}: HTTP {status}")
                    raise Rejected(f"{path}: HTTP {status}")
                code, text = proto.parse_retcode(payload)
                if code in proto.AUTH_RETCODES and code != 1008 and not last:
                    self._drop_session()
                    continue
                self._last_ok = time.monotonic()
                if code in proto.OK_RETCODES:
                    return payload
                raise proto.error_for(code, text, path)
        raise AssertionError("unreachable")

    @staticmethod
    def _answer(payload: dict) -> Any:
        return payload.get("answer")

    def _answer_list(self, payload: dict) -> list[dict]:
        answer = self._answer(payload)
        if answer is None or answer == "":
            return []
        if isinstance(answer, dict):
            return [answer]
        if not isinstance(answer, list):
            raise proto.MalformedResponse(f"expected a list answer, got {type(answer).__name__}")
        return answer

    def _answer_object(self, payload: dict, command: str) -> dict:
        answer = self._answer(payload)
        if isinstance(answer, list) and len(answer) == 1:
            answer = answer[0]
        if not isinstance(answer, dict) or not answer:
            raise NotFound(f"{command}: empty answer")
        return answer

    def _server_now(self) -> int:
        return int(time.time()) + self._offset_s

    def _utc(self, server_seconds: int) -> datetime:
        return utc_from_epoch(server_seconds - self._offset_s)


    # --- session commands -------------------------------------------------------------------------------

    def connect(self) -> SessionInfo:
        with self._lock:
            self._ensure_session()
            assert self._session_info is not None
            return self._session_info

    def close(self) -> None:
        with self._lock:
            if self._authenticated:
                try:
                    self._send("/api/quit", {})
                except Exception:  # noqa: BLE001 - closing never fails
                    pass
            self._drop_session()

    def ping(self) -> None:
        self._call("/api/test/access")
