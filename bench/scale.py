#!/usr/bin/env python
"""Benchmark: many tenants on one database — provisioning, and migrations with nothing / one thing to apply.

Runs against a throw-away database (<name>_bench_scale on the same server).

  provision   after one untimed warm-up, the first and the last brokerage are full `provision_brokerage` calls on the fast path (a spare
              schema claimed from the pool, refilled off the clock as the worker does); the ones in between are
              grown by blueprint replay + rows (as bench/provisioning.py does), and their rate is reported.
  noop        `migrate_tenants` (template first, one query skips current schemas, --workers processes) against
              django-tenants' stock `migrate_schemas --tenant` (its default executor unless --stock-executor),
              both in this process, over the same tenants with nothing to apply.
  one         one new trivial migration (a copy of the `themes` app's migrations plus one RunSQL, injected through
              MIGRATION_MODULES) applied to every tenant by `migrate_tenants`.
  dashboard   with every tenant present: a signed-in client (verified, two live accounts with synced figures, a
              deposit, notifications) in `--dashboard-tenants` brokerages spread over the set (first and last
              included); the real web app (gunicorn, production settings) on loopback; `--concurrency` client
              threads request those clients' dashboards on their brokerages' own domains, round robin, for
              `--dashboard-seconds`: p50/p95 latency, requests/s, and the web processes' memory (RSS).
  catalog     tables and indexes per tenant schema, and `pg_dump` of one tenant's schema (seconds).

Last line: {"tenants": …, "provision_first_s": …, "provision_last_s": …, "migrate_noop_s": …,
            "stock_migrate_noop_s": …, "ratio": …, "migrate_one_s": …, "dashboard_p95_ms": …, ...}
Usage: python bench/scale.py [--tenants 1000] [--workers 2] [--stock-executor standard] [--dashboard-tenants 20]
                            [--concurrency 8] [--dashboard-seconds 20] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _common import bench_database_url, free_port, log, recreate_database, wait_http  # noqa: E402  (bench/ is the script's directory)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="migrate_tenants worker processes")
    parser.add_argument("--stock-executor", default="standard", choices=("standard", "multiprocessing"))
    parser.add_argument("--dashboard-tenants", type=int, default=20, help="brokerages whose clients load dashboards")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads of the dashboard load")
    parser.add_argument("--dashboard-seconds", type=float, default=20)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    if args.tenants < 3:
        raise SystemExit("--tenants must be at least 3 (a warm-up, then the first and the last are timed)")
    main_pid = os.getpid()
    # A killed run still drops its database; forked migration workers (timeout signals the whole group) just exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143) if os.getpid() == main_pid else os._exit(143))

    from cryptography.fernet import Fernet

    url = bench_database_url("_bench_scale")
    os.environ.update({
        "DATABASE_URL": url, "DRAMATIQ_NAMESPACE": "brokeros-bench-scale", "CACHE_KEY_PREFIX": "brokeros-bench-scale",
        "PROVISIONING_SPARE_POOL_SIZE": "0", "DJANGO_DEBUG": "0", "LOG_LEVEL": "WARNING",
        "PLATFORM_DOMAIN": "localhost", "DJANGO_SETTINGS_MODULE": "platform_core.settings",
        "TENANT_MULTIPROCESSING_MAX_PROCESSES": str(args.workers),
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or Fernet.generate_key().decode(),
    })
    recreate_database(url)
    try:
        run(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            recreate_database(url)  # leave an empty database, not a thousand schemas


def provision_timed(slug: str) -> float:
    from provisioning import schemas
    from provisioning.services import provision_brokerage

    schemas.spare_pool_refill(target=1)  # the worker's job in production; not timed
    started = time.perf_counter()
    job = provision_brokerage(name=slug, slug=slug, admin_email=f"admin@{slug}.test", source="cli")
    elapsed = time.perf_counter() - started
    if job.status != "succeeded":
        raise SystemExit(f"provisioning {slug} failed: {job.error}")
    if job.method != "pool":
        raise SystemExit(f"expected a pool claim for {slug}, got {job.method}")
    return elapsed


def grow(count: int) -> float:
    """Add `count` brokerages by blueprint replay + rows; returns tenants per second."""
    from django.db import connection, transaction
    from tqdm import tqdm

    from provisioning import schemas
    from tenancy.models import Brokerage, BrokerageKind, BrokerageStatus, Domain

    started = time.perf_counter()
    for i in tqdm(range(count), desc="provisioning", unit="tenant", file=sys.stderr):
        slug = f"scale-{i}"
        with transaction.atomic():
            b = Brokerage.objects.create(name=slug, slug=slug, schema_name=slug.replace("-", "_"),
                                         kind=BrokerageKind.BROKERAGE, status=BrokerageStatus.ACTIVE)
            schemas.build_by_blueprint(b.schema_name)
            Domain.objects.create(domain=f"{slug}.localhost", tenant=b, is_primary=True)
        connection.set_schema_to_public()
    return count / max(time.perf_counter() - started, 1e-9)


def inject_probe_migration(workdir: str) -> str:
    """A copy of `themes` migrations plus one trivial new one, as an importable package; returns its name."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    leaf = max(name for app, name in loader.graph.leaf_nodes() if app == "themes")
    package = "bench_scale_probe_migrations"
    target = Path(workdir) / package
    shutil.copytree(ROOT / "themes" / "migrations", target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "9999_bench_probe.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('themes', '{leaf}')]\n"
        "    operations = [migrations.RunSQL('CREATE TABLE bench_probe (id integer)', 'DROP TABLE bench_probe')]\n"
    )
    sys.path.insert(0, workdir)
    return package


def _seed_dashboard_client(brokerage) -> tuple[str, str]:
    """A verified client with two live accounts (synced figures), a deposit and notifications; returns the
    (host, session cookie) of a signed-in session, made server-side as a sign-in would."""
    from decimal import Decimal

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from tenant_apps.brokerage.models import AccountType, LegalEntity, TradingServerConfig
    from tenant_apps.brokerage.services import (
        account_types_create_defaults,
        integrations_create_sandbox,
        legal_entity_create_default,
    )
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.notifications.services import notify
    from tenant_apps.payments.models import Deposit, PaymentMethod
    from tenant_apps.payments.services.methods import payment_methods_create_defaults
    from tenant_apps.trading.models import AccountSnapshot, TradingAccount

    host = brokerage.domains.get(is_primary=True).domain
    with tenant_context(brokerage):
        user = User.objects.create_user(email=f"dana@{brokerage.slug}.test", password="Bench-Pass-2026!",
                                        kind=UserKind.CLIENT, full_name="Dana Bench")  # shown by e-mail
        ClientRecord.objects.create(user=user, country="CY")
        KycCase.objects.create(client=user, state="approved", approved_at=timezone.now())
        # grown by blueprint replay (schema only) or set up without integrations: give it what provisioning's
        # steps give a brokerage (legal entity, account types, sandbox PSP and trading server, card payments)
        entity = (LegalEntity.objects.filter(is_default=True).first()
                  or legal_entity_create_default(name=f"{brokerage.name} Ltd", jurisdiction="cysec"))
        if not AccountType.objects.filter(is_demo=False).exists():
            account_types_create_defaults(entity=entity)
        if not TradingServerConfig.objects.exists():
            integrations_create_sandbox(entity=entity)
        if not PaymentMethod.objects.exists():
            payment_methods_create_defaults()
        account_type = AccountType.objects.filter(is_demo=False).order_by("pk").first()
        server = TradingServerConfig.objects.order_by("pk").first()
        for i, balance in enumerate((Decimal("5000"), Decimal("120.50"))):
            account = TradingAccount.objects.create(client=user, server=server, account_type=account_type,
                                                    login=7_000_000 + i, currency="USD", leverage=100,
                                                    status="active", platform_group="real\\bench")
            AccountSnapshot.objects.create(account=account, balance=balance, equity=balance, free_margin=balance,
                                           synced_at=timezone.now())
        method = PaymentMethod.objects.order_by("pk").first()
        if method is not None:
            Deposit.objects.create(client=user, method=method, provider_code=method.provider.code,
                                   reference=f"DEP-{brokerage.slug}", amount=Decimal("250"), currency="USD",
                                   status="pending_psp")
        notify(user, "kyc.action_required", context={"reason": "Upload a recent proof of address."},
               dedupe_key="bench:poa")
        http = Client(HTTP_HOST=host)
        http.force_login(user)
    connection.set_schema_to_public()
    return host, f"{settings.SESSION_COOKIE_NAME}={http.cookies[settings.SESSION_COOKIE_NAME].value}"


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (gunicorn master + workers), from /proc."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def dashboard_load(args) -> dict:
    """p50/p95 of the client dashboard with every tenant present, under `--concurrency` concurrent clients."""
    import http.client
    import statistics
    import subprocess
    import threading

    from django.db import connection

    from tenancy.models import Brokerage, BrokerageKind

    brokerages = list(Brokerage.objects.filter(kind=BrokerageKind.BROKERAGE).order_by("pk"))
    count = max(2, min(args.dashboard_tenants, len(brokerages)))
    picks = [brokerages[round(i * (len(brokerages) - 1) / (count - 1))] for i in range(count)]
    log(f"dashboard: a signed-in client in {len(picks)} of {len(brokerages)} brokerages…")
    sessions = [_seed_dashboard_client(b) for b in picks]
    connection.close()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest production serves, as deployed

    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "platform_core.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.web_workers), "--worker-class", "gthread", "--threads", "4", "--keep-alive", "30",
         "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, "DB_CONN_MAX_AGE": "60"}, start_new_session=True)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    try:
        wait_http(port, sessions[0][0])

        def client(index: int, until: float, record: bool):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            n = index
            mine, codes = [], {}
            while time.monotonic() < until:
                host, cookie = sessions[n % len(sessions)]
                n += 1
                started = time.perf_counter()
                try:
                    conn.request("GET", "/", headers={"Host": host, "Cookie": cookie, "X-Forwarded-Proto": "https"})
                    response = conn.getresponse()
                    body = response.read()
                    status = response.status if host.split(".")[0].encode() in body or response.status != 200 else 299
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    status = 0
                mine.append((time.perf_counter() - started) * 1000)
                codes[status] = codes.get(status, 0) + 1
            if record:
                with lock:
                    latencies.extend(mine)
                    for k, v in codes.items():
                        statuses[k] = statuses.get(k, 0) + v

        def wave(seconds: float, record: bool) -> float:
            until = time.monotonic() + seconds
            threads = [threading.Thread(target=client, args=(i, until, record)) for i in range(args.concurrency)]
            began = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return time.perf_counter() - began

        wave(3, record=False)  # every worker has imported, connected and rendered once; not measured
        log(f"dashboard: {args.concurrency} concurrent clients for {args.dashboard_seconds:.0f} s…")
        elapsed = wave(args.dashboard_seconds, record=True)
        rss = _rss_mb(web.pid)
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
    if set(statuses) != {200}:
        raise SystemExit(f"dashboard answers were not all the client's own 200 page: {statuses} "
                         "(299 = a 200 without the client's e-mail)")
    cuts = statistics.quantiles(latencies, n=100)
    figures = {"dashboard_p50_ms": round(cuts[49], 1), "dashboard_p95_ms": round(cuts[94], 1),
               "dashboard_requests": len(latencies), "dashboard_rps": round(len(latencies) / elapsed, 1),
               "dashboard_concurrency": args.concurrency, "dashboard_tenants": len(picks),
               "web_workers": args.web_workers, "web_rss_mb": rss}
    log(f"dashboard: p50 {figures['dashboard_p50_ms']} ms, p95 {figures['dashboard_p95_ms']} ms, "
        f"{figures['dashboard_rps']} req/s, web RSS {rss} MB")
    return figures


def catalog_figures() -> dict:
    """Tables and indexes per tenant schema, the catalog's size, and pg_dump of one tenant's schema."""
    import subprocess
    from urllib.parse import urlparse

    from django.db import connection

    from tenancy.models import Brokerage, BrokerageKind

    schema = Brokerage.objects.filter(kind=BrokerageKind.BROKERAGE).order_by("pk").last().schema_name
    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(*) FILTER (WHERE c.relkind IN ('r', 'p')), count(*) FILTER (WHERE c.relkind = 'i')
                          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s""", [schema])
        tables, indexes = cursor.fetchone()
        cursor.execute("SELECT pg_total_relation_size('pg_class') + pg_total_relation_size('pg_attribute') "
                       "+ pg_total_relation_size('pg_index') + pg_total_relation_size('pg_depend')")
        catalog_bytes = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_namespace")
        namespaces = cursor.fetchone()[0]
    url = urlparse(os.environ["DATABASE_URL"])
    dump = shutil.which("pg_dump")
    dump_s = None
    if dump:
        env = {**os.environ, "PGPASSWORD": url.password or ""}
        started = time.perf_counter()
        done = subprocess.run([dump, "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U",
                               url.username or "postgres", "-n", schema, "-f", os.devnull, url.path.lstrip("/")],
                              env=env, capture_output=True, text=True)
        if done.returncode == 0:
            dump_s = round(time.perf_counter() - started, 2)
        else:
            log(f"pg_dump failed: {done.stderr.strip()[:300]}")
    log(f"catalog: {tables} tables and {indexes} indexes per tenant, {catalog_bytes / 2**20:.0f} MB of catalog "
        f"for {namespaces} schemas; pg_dump of one tenant {dump_s} s")
    return {"tables_per_tenant": tables, "indexes_per_tenant": indexes,
            "catalog_mb": round(catalog_bytes / 2**20, 1), "pg_dump_one_s": dump_s}


def run(args) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from provisioning import schemas
    from provisioning.migrate import expected_migrations, migrate_tenants
    from provisioning.services import platform_ensure
    from tenancy.models import Brokerage, BrokerageKind

    graph = expected_migrations()

    def same_graph(phase: str) -> None:
        """A migration added to the working tree mid-run (other work in progress) would be applied by the
        'no-op' runs and void the comparison: refuse to report rather than report a wrong figure."""
        if expected_migrations() != graph:
            raise SystemExit(f"the migrations on disk changed during the run (noticed after {phase}); run again")

    log(f"setting up a throw-away database and {args.tenants} brokerages…")
    call_command("migrate_schemas", shared=True, verbosity=0)
    platform_ensure()
    schemas.blueprint_current()

    provision_timed("scale-warmup")  # untimed: first-call imports and caches are not what is measured
    first_s = provision_timed("scale-first")
    rate = grow(args.tenants - 3)
    last_s = provision_timed("scale-last")
    tenants = Brokerage.objects.filter(kind=BrokerageKind.BROKERAGE).count()
    schemas_total = Brokerage.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).count()
    log(f"provisioned {tenants} brokerages: first {first_s:.3f} s, last {last_s:.3f} s, "
        f"{rate:.1f} tenants/s by blueprint in between")
    with connection.cursor() as cursor:  # fresh planner statistics for the catalog, as autovacuum would give
        cursor.execute("ANALYZE")

    log("no-op: migrate_tenants…")
    started = time.perf_counter()
    run_noop = migrate_tenants(workers=args.workers, progress=False)
    noop_s = time.perf_counter() - started
    if run_noop.failed or run_noop.succeeded or run_noop.up_to_date != run_noop.schemas_total:
        raise SystemExit(f"no-op run was not a no-op: {run_noop.__dict__}")
    same_graph("the no-op run")
    log(f"no-op migrate_tenants: {noop_s:.2f} s ({run_noop.schemas_total} schemas, check {run_noop.check_ms} ms)")

    log(f"no-op: stock migrate_schemas --tenant (executor {args.stock_executor})…")
    started = time.perf_counter()
    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0, executor=args.stock_executor)
    stock_s = time.perf_counter() - started
    connection.set_schema_to_public()
    same_graph("the stock no-op run")
    log(f"no-op stock migrate_schemas: {stock_s:.2f} s")

    workdir = tempfile.mkdtemp(prefix="bench-scale-")
    try:
        settings.MIGRATION_MODULES = {"themes": inject_probe_migration(workdir)}
        log("one new migration: migrate_tenants…")
        started = time.perf_counter()
        run_one = migrate_tenants(workers=args.workers, progress=True)
        one_s = time.perf_counter() - started
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if run_one.failed or run_one.succeeded != run_one.schemas_total:
        raise SystemExit(f"one-migration run: {run_one.succeeded} migrated, {run_one.failed} failed "
                         f"of {run_one.schemas_total}")
    log(f"one new migration over {run_one.succeeded} schemas: {one_s:.2f} s")

    dashboard = dashboard_load(args)
    catalog = catalog_figures()
    report = {
        "tenants": tenants,
        "provision_first_s": round(first_s, 3),
        "provision_last_s": round(last_s, 3),
        "migrate_noop_s": round(noop_s, 3),
        "stock_migrate_noop_s": round(stock_s, 3),
        "ratio": round(stock_s / noop_s, 1),
        "migrate_one_s": round(one_s, 3),
        **dashboard,
        **catalog,
        "schemas": schemas_total,
        "provision_rate_per_s": round(rate, 1),
        "provision_last_over_first": round(last_s / first_s, 2),
        "noop_check_ms": run_noop.check_ms,
        "workers": args.workers,
        "stock_executor": args.stock_executor,
    }
    print(json.dumps(report), flush=True)
    connection.close()


if __name__ == "__main__":
    main()
