#!/usr/bin/env python
"""Benchmark: trading deals ingested per second by the sync code, against a raw COPY into the same table.

Runs against a throw-away database (<name>_bench_sync on the same server) with 5 provisioned brokerages (one
per jurisdiction preset, so their platform groups differ) and ONE bundled MT5 simulator in its own process
(`manage.py run_trading_sim`, real HTTP on localhost).

  setup   every brokerage gets accounts/5 trading accounts (rows in its schema, created on the simulator
          over /api/user/add), then the simulator's `generate_history` control makes deals/accounts deals
          per login over the last 30 days.
  sync    one worker (this process: `trading.services.server_sync_deals`, whose reader thread fetches the
          next page while the current one is written) for each brokerage in turn: /api/deal/get_batch by
          group mask over time windows from the stored cursor, the JSON decoded in C straight into validated
          rows (msgspec; only the stored fields), one COPY straight into trading_deal under a savepoint
          (a ticket already stored makes it fall back to a temp table + INSERT … ON CONFLICT DO NOTHING),
          cursor committed with each page. Timed from the first request to the last commit; every deal must
          be stored exactly once. The simulator runs without snapshots (no background dump competing).
  copy    the same rows (dumped from the tables just filled), TRUNCATEd and loaded back with one COPY per
          brokerage into the same trading_deal tables (same indexes and constraint) — the denominator.

Last line: {"deals_per_s": …, "copy_rows_per_s": …, "ratio": …, ...}
Usage: python bench/sync.py [--deals 1000000] [--accounts 10000] [--tenants 5] [--keep]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _common import bench_database_url, free_port, log, recreate_database  # noqa: E402  (bench/ is the script's directory)

JURISDICTIONS = ("cysec", "fca", "asic", "fsa_sc", "vfsc")
MANAGER_LOGIN = 1000
MANAGER_PASSWORD = "Bench-Manager-2026!"
CONTROL_TOKEN = "bench-sync-control"
COLUMNS = ("server_id, ticket, login, time, symbol, side, action, entry, volume_lots, price, profit, commission, "
           "swap, position_id, comment")


def wait_port(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the simulator did not start on port {port}")


def checkpoint(connection) -> None:
    """Flush the WAL before a timed phase, so neither phase pays for the other's writes (superuser only)."""
    from django.db import DatabaseError

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as exc:
        log(f"no CHECKPOINT between phases ({exc.__class__.__name__}); timings include pending writes")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=5, choices=range(1, len(JURISDICTIONS) + 1))
    parser.add_argument("--page", type=int, default=50_000, help="deals per sync page (one commit each)")
    parser.add_argument("--window-hours", type=float, default=192, help="time slice of one deal read")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    url = bench_database_url("_bench_sync")
    os.environ.update({
        "DATABASE_URL": url, "DRAMATIQ_NAMESPACE": "brokeros-bench-sync", "CACHE_KEY_PREFIX": "brokeros-bench-sync",
        "PROVISIONING_SPARE_POOL_SIZE": "0", "DJANGO_DEBUG": "0", "LOG_LEVEL": "WARNING",
        "PLATFORM_DOMAIN": "localhost", "DJANGO_SETTINGS_MODULE": "platform_core.settings",
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or Fernet.generate_key().decode(),
    })
    recreate_database(url)

    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "manage.py", "run_trading_sim", "--port", str(port), "--manager-login", str(MANAGER_LOGIN),
         "--manager-password", MANAGER_PASSWORD, "--control-token", CONTROL_TOKEN, "--no-trading", "--seed", "7",
         "--snapshot", ""],  # no persistence: a background dump of a million deals would compete for the CPU
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run(args, port)
    finally:
        sim.terminate()
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:  # still writing its snapshot of a million deals: not needed
            sim.kill()
            sim.wait()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            recreate_database(url)  # leaves an empty database behind, not 1M rows


def run(args, port: int) -> None:
    import django

    django.setup()
    import httpx
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from provisioning import schemas
    from provisioning.services import platform_ensure, provision_brokerage
    from tenant_apps.brokerage.models import AccountType, TradingServerConfig
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.trading.adapters.mt5 import MT5WebAPIAdapter
    from tenant_apps.trading.models import AccountStatus, Deal, TradingAccount
    from tenant_apps.trading.services import adapter_for, server_credentials_set, server_sync_deals

    log(f"setting up a throw-away database and {args.tenants} brokerages…")
    call_command("migrate_schemas", shared=True, verbosity=0)
    platform_ensure()
    schemas.blueprint_current()
    wait_port(port)
    control = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-Sim-Token": CONTROL_TOKEN},
                           timeout=600, trust_env=False)
    per_tenant = args.accounts // args.tenants
    per_login = max(2, args.deals // args.accounts)
    creator = MT5WebAPIAdapter(host="127.0.0.1", port=port, login=MANAGER_LOGIN, password=MANAGER_PASSWORD,
                               use_tls=False, timeout=30)
    brokerages = []
    for index, jurisdiction in enumerate(JURISDICTIONS[:args.tenants]):
        slug = f"benchsync{index}"
        job = provision_brokerage(name=f"Bench Sync {index}", slug=slug, admin_email=f"admin@{slug}.test",
                                  jurisdiction=jurisdiction, source="cli")
        if job.status != "succeeded":
            raise SystemExit(f"provisioning failed: {job.error}")
        brokerage = job.brokerage
        brokerages.append(brokerage)
        with tenant_context(brokerage):
            server = TradingServerConfig.objects.get(code="mt5-sim")
            server.port, server.use_tls = port, False
            server.save()
            server_credentials_set(server=server, manager_login=MANAGER_LOGIN, password=MANAGER_PASSWORD)
            account_type = AccountType.objects.get(code="standard")
            clients = User.objects.bulk_create([
                User(email=f"client{i}@{slug}.test", kind=UserKind.CLIENT, full_name=f"Client {i}")
                for i in range(max(1, per_tenant // 10))])
            logins = [7_000_000 + index * 1_000_000 + i for i in range(per_tenant)]
            for login in logins:
                creator.create_account(group=account_type.platform_group, leverage=account_type.default_leverage,
                                       name="Bench Client", email="bench@client.test", password_main="Bench-Pass1!",
                                       password_investor="Bench-Inv1!", login=login, comment="bench")
            now = timezone.now()
            TradingAccount.objects.bulk_create([
                TradingAccount(client=clients[i % len(clients)], server=server, account_type=account_type, login=login,
                               currency=account_type.currency, leverage=account_type.default_leverage,
                               platform_group=account_type.platform_group, status=AccountStatus.ACTIVE,
                               created_on_server_at=now) for i, login in enumerate(logins)], batch_size=5000)
            made = control.post("/sim/control", json={"action": "generate_history", "logins": logins,
                                                      "deals_per_login": per_login}).json()["deals"]
            log(f"{slug} ({jurisdiction}): {per_tenant} accounts, {made} deals on the simulator")
    creator.close()
    connection.set_schema_to_public()

    # --- sync: one worker, every brokerage in turn ------------------------------------------------------------
    from django.conf import settings

    checkpoint(connection)
    settings.TRADING_DEAL_BACKFILL_DAYS = 31  # the generated history spans the last 30 days
    settings.TRADING_DEAL_WINDOW_HOURS = args.window_hours
    log("sync: ingesting through trading.services.server_sync_deals…")
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    total = 0
    started = time.perf_counter()
    for brokerage in brokerages:
        with tenant_context(brokerage):
            server = TradingServerConfig.objects.get(code="mt5-sim")
            seen, new = server_sync_deals(server=server, adapter=adapter_for(server), page_size=args.page)
            total += new
    sync_s = time.perf_counter() - started
    if os.environ.get("BENCH_PROFILE"):
        import pstats
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    stored = 0
    for brokerage in brokerages:
        with tenant_context(brokerage):
            stored += Deal.objects.count()
    if stored != total:
        raise SystemExit(f"stored {stored} deals but ingested {total}")
    log(f"sync: {total} deals in {sync_s:.1f} s")

    # --- the same rows by raw COPY into the same tables ------------------------------------------------------
    dumps = {}
    for brokerage in brokerages:
        with tenant_context(brokerage), connection.cursor() as cursor:
            buf = io.BytesIO()
            with cursor.cursor.copy(f"COPY (SELECT {COLUMNS} FROM trading_deal) TO STDOUT") as copy:
                for chunk in copy:
                    buf.write(chunk)
            dumps[brokerage.schema_name] = buf.getvalue()
            cursor.execute("TRUNCATE trading_deal")
    checkpoint(connection)
    copied = 0
    started = time.perf_counter()
    for brokerage in brokerages:
        with tenant_context(brokerage), transaction.atomic(), connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY trading_deal ({COLUMNS}) FROM STDIN") as copy:
                copy.write(dumps[brokerage.schema_name])
            copied += Deal.objects.count()
    copy_s = time.perf_counter() - started
    connection.set_schema_to_public()
    if copied != total:
        raise SystemExit(f"COPY loaded {copied} rows, expected {total}")

    deals_per_s = total / sync_s
    copy_per_s = copied / copy_s
    print(json.dumps({"deals_per_s": round(deals_per_s), "copy_rows_per_s": round(copy_per_s),
                      "ratio": round(deals_per_s / copy_per_s, 3), "deals": total, "accounts": args.accounts,
                      "tenants": args.tenants, "workers": 1, "sync_s": round(sync_s, 2), "copy_s": round(copy_s, 3)}))


if __name__ == "__main__":
    main()
