#!/usr/bin/env python
"""Benchmark: PSP webhooks accepted per second end to end and processed per second by one worker, each as a
ratio against raw single-row INSERTs into the same table, all measured in the same run.

Runs against a throw-away database (<name>_bench_webhooks on the same server) with one provisioned brokerage.

  intake    N signed webhooks (Stripe scheme, distinct events) sent over HTTP keep-alive by a few client
            threads to the real web app (gunicorn, gthread workers, production settings) on the brokerage's
            host: routing by host (then the lean path of tenancy.lean: a signed machine-to-machine POST skips
            the people-facing middleware — sessions, auth, locale, messages, MFA), signature verified with the
            Stripe SDK, one INSERT committed, the worker woken (Redis), 200 back. Timed from the first request to
            the last answer; every answer must be 200 and every event a row.
  process   one dramatiq Worker with 1 thread and a trivial registered handler works off everything the
            intake queued (wake-ups are coalesced per brokerage, so a few messages drain all N events, each
            in its own transaction: one statement locks the row and marks it processed, the handler runs,
            commit). Timed until the queue is empty and every row is processed.
  insert    the same table, one connection, autocommit single-row INSERTs of rows like the real ones; best
            of three rounds (the denominator of both ratios).

Web and worker keep their database connections (DB_CONN_MAX_AGE) as they would behind the PgBouncer the
deployment puts in front of PostgreSQL (deploy/SCALE-OUT.md); without either, each request would pay a new
PostgreSQL connection. The clients, the server and PostgreSQL share this machine's CPUs.

Last line: {"intake_per_s": …, "process_per_s": …, "insert_per_s": …, "intake_ratio": …, "process_ratio": …}
Usage: python bench/webhooks.py [--events 5000] [--clients 4] [--web-workers 2] [--web-threads 4]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _common import bench_database_url, free_port, recreate_database, wait_http  # noqa: E402  (bench/ is the script's directory)

SLUG = "benchhooks"
HOST = f"{SLUG}.localhost"
SECRET = "whsec_bench_0123456789abcdef0123456789abcdef"
PATH = "/webhooks/psp/sandbox/"


def event_body(i: int, run: str) -> bytes:
    """A payment_intent.succeeded event the size of a real one (~1.3 KB)."""
    pi = f"pi_{run}{i:08d}"
    event = {
        "id": f"evt_{run}{i:08d}", "object": "event", "api_version": "2025-01-27", "created": int(time.time()),
        "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
        "type": "payment_intent.succeeded",
        "data": {"object": {
            "id": pi, "object": "payment_intent", "amount": 10_000 + i, "amount_received": 10_000 + i,
            "currency": "usd", "status": "succeeded", "capture_method": "automatic", "confirmation_method": "automatic",
            "created": int(time.time()) - 30, "description": f"Deposit DEP-{run}-{i}", "latest_charge": f"ch_{run}{i:08d}",
            "last_payment_error": None, "livemode": False, "payment_method": f"pm_{run}{i:08d}",
            "payment_method_types": ["card"], "receipt_email": f"client{i}@example.com",
            "metadata": {"reference": f"DEP-{run}-{i}", "client_id": str(1000 + i)},
            "shipping": None, "statement_descriptor": "BENCH BROKER", "amount_details": {"tip": {}},
            "automatic_payment_methods": None, "canceled_at": None, "cancellation_reason": None,
            "client_secret": f"{pi}_secret_{'x' * 24}", "customer": None, "invoice": None,
            "next_action": None, "on_behalf_of": None, "processing": None, "review": None,
            "setup_future_usage": None, "source": None, "transfer_data": None, "transfer_group": None,
        }},
    }
    return json.dumps(event).encode()


def signed(body: bytes) -> str:
    import hashlib
    import hmac

    ts = int(time.time())
    return f"t={ts},v1={hmac.new(SECRET.encode(), f'{ts}.'.encode() + body, hashlib.sha256).hexdigest()}"


def _request_bytes(body: bytes, header: str) -> bytes:
    head = (f"POST {PATH} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Stripe-Signature: {header}\r\nContent-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n")
    return head.encode() + body


class KeepAliveClient:
    """One persistent HTTP/1.1 connection sending pre-built requests and reading each answer in full. Plain
    sockets rather than http.client: the clients share the machine's CPUs with the server they measure."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        return sock

    def _read_response(self) -> int:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = next((int(line.split(b":", 1)[1]) for line in lines[1:] if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        self.buffer = rest[length:]
        if any(line.lower() == b"connection: close" for line in lines[1:]):
            self.sock.close()
            self.sock = None
        return status

    def send(self, request: bytes) -> int:
        for attempt in range(3):
            try:
                if self.sock is None:
                    self.sock = self._connect()
                self.sock.sendall(request)
                return self._read_response()
            except OSError:
                # The server closed an idle keep-alive connection: reconnect and resend (a duplicate is fine).
                if self.sock is not None:
                    self.sock.close()
                self.sock = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def send_all(port: int, requests: list[bytes], clients: int) -> tuple[float, dict[int, int]]:
    """POST every request over `clients` keep-alive connections; returns (seconds, {status: count})."""
    chunks = [requests[i::clients] for i in range(clients)]
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(chunk):
        conn = KeepAliveClient(port)
        seen: dict[int, int] = {}
        start.wait()
        for request in chunk:
            status = conn.send(request)
            seen[status] = seen.get(status, 0) + 1
        if conn.sock is not None:
            conn.sock.close()
        with lock:
            for status, n in seen.items():
                statuses[status] = statuses.get(status, 0) + n

    threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - began, statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4, help="client threads, one keep-alive connection each")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=4, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    url = bench_database_url("_bench_webhooks")
    env = {
        "DATABASE_URL": url, "DRAMATIQ_NAMESPACE": "brokeros-bench-webhooks",
        "CACHE_KEY_PREFIX": "brokeros-bench-webhooks", "PROVISIONING_SPARE_POOL_SIZE": "0",
        "DJANGO_DEBUG": "0", "DB_CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING", "PLATFORM_DOMAIN": "localhost",
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or Fernet.generate_key().decode(),
        "DJANGO_SETTINGS_MODULE": "platform_core.settings",
    }
    os.environ.update(env)
    recreate_database(url)

    import django

    django.setup()
    import dramatiq
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from provisioning import schemas
    from provisioning.services import platform_ensure, provision_brokerage
    from tenant_apps.payments.adapters.base import EventType
    from tenant_apps.payments.models import WebhookEvent, WebhookStatus
    from tenant_apps.payments.services import inbox_insert_sql, psp_credentials_set
    from tenant_apps.payments.services.inbox import _INSERT_FIELDS
    from tenant_apps.payments.tasks import WEBHOOK_QUEUE
    from tenant_apps.payments.webhooks import handlers_overridden

    print("webhook benchmark: setting up a throw-away database and one brokerage…", file=sys.stderr)
    call_command("migrate_schemas", shared=True, verbosity=0)
    platform_ensure()
    schemas.blueprint_current()
    job = provision_brokerage(name="Bench Hooks", slug=SLUG, admin_email=f"admin@{SLUG}.test", source="cli")
    if job.status != "succeeded":
        raise SystemExit(f"provisioning failed: {job.error}")
    brokerage = job.brokerage
    with tenant_context(brokerage):
        psp_credentials_set(provider="sandbox", webhook_secrets=[SECRET], reason="benchmark")
    connection.close()
    broker = dramatiq.get_broker()
    broker.flush_all()

    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "platform_core.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.web_workers), "--worker-class", "gthread", "--threads", str(args.web_threads),
         "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT, env=dict(os.environ), start_new_session=True)
    try:
        wait_http(port, HOST)
        run = uuid.uuid4().hex[:6]
        warm = [_request_bytes(b, signed(b)) for b in (event_body(i, "w" + run[:5])
                                                       for i in range(min(300, args.events // 5 or 1)))]
        send_all(port, warm, args.clients)  # connections, imports and caches warm; not timed
        bodies = [event_body(i, run) for i in range(args.events)]
        requests = [_request_bytes(b, signed(b)) for b in bodies]
        print(f"intake: {args.events} signed webhooks, {args.clients} keep-alive clients, gunicorn "
              f"{args.web_workers}×{args.web_threads}…", file=sys.stderr)
        intake_s, statuses = send_all(port, requests, args.clients)
    finally:
        os.killpg(web.pid, 15)
        web.wait(timeout=30)
    total = args.events + len(warm)
    with tenant_context(brokerage):
        stored = WebhookEvent.objects.filter(status=WebhookStatus.RECEIVED).count()
    if statuses != {200: args.events} or stored != total:
        raise SystemExit(f"intake check failed: answers {statuses}, rows {stored} of {total}")
    intake_per_s = args.events / intake_s

    # --- processing by one worker thread ------------------------------------------------------------------
    handled = []
    connection.close()
    with handlers_overridden({EventType.PAYMENT_SUCCEEDED: lambda *, event, data: handled.append(1)}):
        worker = dramatiq.Worker(broker, queues={WEBHOOK_QUEUE}, worker_threads=1, worker_timeout=100)
        began = time.perf_counter()
        worker.start()
        broker.join(WEBHOOK_QUEUE, timeout=600_000)
        worker.join()
        process_s = time.perf_counter() - began
        worker.stop()
    with tenant_context(brokerage):
        processed = WebhookEvent.objects.filter(status=WebhookStatus.PROCESSED).count()
    if processed != total or len(handled) != total:
        raise SystemExit(f"processing check failed: {processed} processed, {len(handled)} handled of {total}")
    process_per_s = total / process_s

    # --- raw single-row INSERTs, same table, one connection ----------------------------------------------
    body = bodies[0]
    headers = json.dumps({"Stripe-Signature": signed(body), "Content-Type": "application/json"})
    rounds = []
    with tenant_context(brokerage):
        sql = inbox_insert_sql().replace(" ON CONFLICT DO NOTHING", "")
        assert len(_INSERT_FIELDS) == sql.count("%s")
        from django.utils import timezone

        with connection.cursor() as cursor:
            for r in range(3):
                rows = [["sandbox", "sandbox", f"evt_raw{r}{run}{i:08d}", "payment.succeeded",
                         "payment_intent.succeeded", f"pi_raw{r}{i:08d}", f"DEP-raw-{i}", body, headers, "127.0.0.1",
                         True, "", timezone.now(), 0, "", "received"] for i in range(args.events)]
                began = time.perf_counter()
                for row in rows:
                    cursor.execute(sql, row)
                rounds.append(args.events / (time.perf_counter() - began))
    insert_per_s = max(rounds)

    report = {
        "intake_per_s": round(intake_per_s, 1),
        "process_per_s": round(process_per_s, 1),
        "insert_per_s": round(insert_per_s, 1),
        "intake_ratio": round(intake_per_s / insert_per_s, 3),
        "process_ratio": round(process_per_s / insert_per_s, 3),
    }
    print(f"raw INSERT   {insert_per_s:8.1f} rows/s  (one connection, best of {len(rounds)}: "
          f"{', '.join(f'{x:.0f}' for x in rounds)})")
    print(f"intake       {intake_per_s:8.1f} webhooks/s  ({report['intake_ratio']:.2f}× raw INSERT; "
          f"{args.events} in {intake_s:.2f} s, HTTP → verified → durable → queued)")
    print(f"processing   {process_per_s:8.1f} events/s  ({report['process_ratio']:.2f}× raw INSERT; "
          f"{total} in {process_s:.2f} s, one worker thread)")
    print(json.dumps(report))
    connection.close()
    broker.flush_all()
    if not args.keep:
        recreate_database(url)


if __name__ == "__main__":
    main()
