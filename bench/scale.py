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
  dashboard   not measured here (null, with the reason in "dashboard_note").

Last line: {"tenants": …, "provision_first_s": …, "provision_last_s": …, "migrate_noop_s": …,
            "stock_migrate_noop_s": …, "ratio": …, "migrate_one_s": …, "dashboard_p95_ms": …, ...}
Usage: python bench/scale.py [--tenants 1000] [--workers 2] [--stock-executor standard] [--keep]
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
from _common import bench_database_url, log, recreate_database  # noqa: E402  (bench/ is the script's directory)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="migrate_tenants worker processes")
    parser.add_argument("--stock-executor", default="standard", choices=("standard", "multiprocessing"))
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

    report = {
        "tenants": tenants,
        "provision_first_s": round(first_s, 3),
        "provision_last_s": round(last_s, 3),
        "migrate_noop_s": round(noop_s, 3),
        "stock_migrate_noop_s": round(stock_s, 3),
        "ratio": round(stock_s / noop_s, 1),
        "migrate_one_s": round(one_s, 3),
        "dashboard_p95_ms": None,
        "dashboard_note": "not measured by this bench yet (no concurrent load generator over loopback here)",
        "schemas": schemas_total,
        "provision_rate_per_s": round(rate, 1),
        "provision_last_over_first": round(last_s / first_s, 2),
        "noop_check_ms": run_noop.check_ms,
        "workers": args.workers,
        "stock_executor": args.stock_executor,
        "tables_per_tenant": schemas.blueprint_current().table_count,
    }
    print(json.dumps(report), flush=True)
    connection.close()


if __name__ == "__main__":
    main()
