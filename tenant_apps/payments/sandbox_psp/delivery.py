"""Callbacks out of the sandbox PSP: signed like Stripe's, retried with exponential backoff, and bent on
request (dropped, delayed, duplicated, reordered). One scheduler thread keeps a timetable; a small pool sends."""
from __future__ import annotations

import hashlib
import heapq
import hmac
import http.client
import itertools
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

log = logging.getLogger("sandbox_psp.delivery")


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The Stripe-Signature header: t=<unix>,v1=<hex HMAC-SHA256 of "t.body" keyed with the whole whsec_ secret>,
    plus a meaningless v0 like Stripe's test mode (receivers must ignore schemes other than v1)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac},v0={secrets.token_hex(32)}"


def connect_host(host: str) -> str:
    """RFC 6761: every *.localhost name is the loopback address (what browsers do), so the sandbox reaches
    brokerages at alpha.localhost:8000 without DNS."""
    host = host.lower().rstrip(".")
    return "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host


@dataclass
class Delivery:
    event_id: str
    event_type: str
    payment_id: str
    body: bytes
    url: str
    secret: str
    copy: int = 1
    attempt: int = 0
    # Deliveries to schedule once this one is done (delivered or given up): how "reorder" keeps its order.
    then: list[Delivery] = field(default_factory=list)


class Deliverer:
    def __init__(self, *, retry_base_s: float = 1.0, retry_max_s: float = 60.0, max_attempts: int = 8,
                 timeout_s: float = 10.0, workers: int = 8):
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self.log: deque[dict] = deque(maxlen=50_000)
        self._log_lock = threading.Lock()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._in_flight = 0
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-psp-send")
        self._thread = threading.Thread(target=self._run, name="sandbox-psp-scheduler", daemon=True)
        self._thread.start()

    # --- the timetable ------------------------------------------------------------------------------------

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> None:
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay_s), next(self._seq), fn))
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cv.wait(timeout=None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic()))
                if self._stop:
                    return
                _, _, fn = heapq.heappop(self._heap)
                self._in_flight += 1
            self._pool.submit(self._guarded, fn)

    def _guarded(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # noqa: BLE001 - one bad job must not stop the PSP
            log.exception("sandbox PSP job failed")
        finally:
            with self._cv:
                self._in_flight -= 1
                self._cv.notify_all()

    def idle(self) -> bool:
        with self._cv:
            return not self._heap and self._in_flight == 0

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.01)
        return False

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- sending ------------------------------------------------------------------------------------------

    def schedule(self, delivery: Delivery, delay_s: float = 0.0) -> None:
        self.call_later(delay_s, lambda d=delivery: self._attempt(d))

    def record(self, delivery: Delivery, outcome: str, status: int | None = None, error: str = "") -> None:
        with self._log_lock:
            self.log.append({"event_id": delivery.event_id, "type": delivery.event_type,
                             "payment_id": delivery.payment_id, "url": delivery.url, "copy": delivery.copy,
                             "attempt": delivery.attempt, "status": status, "error": error, "outcome": outcome,
                             "at": time.time()})

    def _attempt(self, delivery: Delivery) -> None:
        delivery.attempt += 1
        status, error = None, ""
        try:
            status = self._post(delivery)
        except (OSError, http.client.HTTPException) as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        if status is not None and 200 <= status < 300:
            self.record(delivery, "delivered", status)
            self._release(delivery)
            return
        if delivery.attempt >= self.max_attempts:
            self.record(delivery, "gave_up", status, error)
            self._release(delivery)
            return
        self.record(delivery, "retry", status, error)
        backoff = min(self.retry_max_s, self.retry_base_s * 2 ** (delivery.attempt - 1))
        self.schedule(delivery, backoff)

    def _release(self, delivery: Delivery) -> None:
        for follower in delivery.then:
            self.schedule(follower)

    def _post(self, delivery: Delivery) -> int:
        parts = urlsplit(delivery.url)
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        cls = http.client.HTTPSConnection if secure else http.client.HTTPConnection
        conn = cls(connect_host(parts.hostname or ""), port, timeout=self.timeout_s)
        try:
            # Signed at send time, like Stripe: each attempt carries a fresh timestamp over the same body.
            headers = {"Host": parts.netloc, "Content-Type": "application/json; charset=utf-8",
                       "User-Agent": "BrokerOS-SandboxPSP/1.0 (+webhooks)",
                       "Stripe-Signature": sign(delivery.body, delivery.secret, int(time.time()))}
            conn.request("POST", parts.path + (f"?{parts.query}" if parts.query else ""), body=delivery.body,
                         headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()
