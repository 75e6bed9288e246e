#!/usr/bin/env python
"""Benchmark: seconds to provision a brokerage by the fast path vs by migrations, in the same run,
and how the fast path holds up as tenants accumulate in the catalog.

Runs against a throw-away database (<name>_bench on the same server). Every figure is a full
`provision_brokerage` call (all ten steps: schema, domains, branding, legal entity, roles, account
types, integrations, Super Admin invite, activation), timed end to end.

  fast path ("clone_s")  claim a pre-built spare schema (ALTER SCHEMA RENAME); the pool is refilled
                         off the request path by a worker, as in production
  blueprint              replay the template's pg_dump in one transaction (the fallback when the pool is empty)
  migrations             CREATE SCHEMA + every migration (the baseline)

Last line: {"clone_s": …, "migrate_s": …, "ratio": …, ...}
Usage: python bench/provisioning.py [--tenants 1000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _common import bench_database_url, recreate_database  # noqa: E402  (bench/ is the script's directory)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000, help="grow the catalog to this many tenants")
    parser.add_argument("--repeat", type=int, default=5, help="samples per measurement (median reported)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()

    url = bench_database_url("_bench")
    os.environ["DATABASE_URL"] = url
    os.environ["DRAMATIQ_NAMESPACE"] = "brokeros-bench"
    os.environ["PROVISIONING_SPARE_POOL_SIZE"] = "0"  # the bench refills the pool itself, off the clock
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    recreate_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from tqdm import tqdm

    from provisioning import schemas
    from provisioning.services import platform_ensure, provision_brokerage
    from tenancy.models import Brokerage, BrokerageKind, BrokerageStatus, Domain

    call_command("migrate_schemas", shared=True, verbosity=0)
    platform_ensure()
    schemas.blueprint_current()
    counter = {"n": 0}

    def provision(method: str) -> float:
        counter["n"] += 1
        slug = f"bench-{method[:4]}-{counter['n']}"
        started = time.perf_counter()
        job = provision_brokerage(name=f"Bench {counter['n']}", slug=slug, admin_email=f"admin@{slug}.test",
                                  method=method, source="cli")
        elapsed = time.perf_counter() - started
        if job.status != "succeeded":
            raise SystemExit(f"{method} provisioning failed: {job.error}")
        if method == "auto" and job.method != "pool":
            raise SystemExit(f"expected a pool claim, got {job.method}")
        return elapsed

    def fast_path_samples(n: int) -> list[float]:
        samples = []
        for _ in range(n):
            schemas.spare_pool_refill(target=1)  # the worker's job in production; not timed
            samples.append(provision("auto"))
        return samples

    def filler(count: int) -> None:
        """Grow the catalog with real tenant schemas (blueprint replay + rows), as many as asked."""
        existing = Brokerage.objects.filter(kind=BrokerageKind.BROKERAGE).count()
        for i in tqdm(range(existing, count), desc="growing catalog", unit="tenant", file=sys.stderr):
            slug = f"filler-{i}"
            with transaction.atomic():
                b = Brokerage.objects.create(name=slug, slug=slug, schema_name=slug.replace("-", "_"),
                                             kind=BrokerageKind.BROKERAGE, status=BrokerageStatus.ACTIVE)
                schemas.build_by_blueprint(b.schema_name)
                Domain.objects.create(domain=f"{slug}.localhost", tenant=b, is_primary=True)
            connection.set_schema_to_public()

    report: dict[str, object] = {}
    print("provisioning benchmark (full provision_brokerage, median of samples)", file=sys.stderr)
    migrate = [provision("migrations") for _ in range(max(2, args.repeat // 2))]
    blueprint = [provision("blueprint") for _ in range(args.repeat)]
    fast = fast_path_samples(args.repeat)
    tables = schemas.blueprint_current().table_count
    by_count = {Brokerage.objects.filter(kind=BrokerageKind.BROKERAGE).count(): statistics.median(fast)}
    blueprint_by_count = {next(iter(by_count)): statistics.median(blueprint)}
    for target in [n for n in (100, 1000, 2000, 5000) if n <= args.tenants] or []:
        filler(target)
        n = Brokerage.objects.filter(kind=BrokerageKind.BROKERAGE).count()
        by_count[n] = statistics.median(fast_path_samples(args.repeat))
        blueprint_by_count[n] = statistics.median([provision("blueprint") for _ in range(args.repeat)])
        print(f"  at {n:>5} tenants: fast path {by_count[n]:.3f} s, blueprint {blueprint_by_count[n]:.3f} s",
              file=sys.stderr)

    migrate_s = statistics.median(migrate)
    largest = max(by_count)
    clone_s = by_count[largest]
    report = {
        "clone_s": round(clone_s, 4),
        "migrate_s": round(migrate_s, 4),
        "ratio": round(migrate_s / clone_s, 1),
        "blueprint_s": round(blueprint_by_count[largest], 4),
        "tenants": largest,
        "clone_s_by_tenants": {str(k): round(v, 4) for k, v in sorted(by_count.items())},
        "blueprint_s_by_tenants": {str(k): round(v, 4) for k, v in sorted(blueprint_by_count.items())},
        "flatness": round(clone_s / by_count[min(by_count)], 2),
        "tables_per_tenant": tables,
    }
    print(f"migrations  {migrate_s:.3f} s  (baseline, {len(migrate)} samples)")
    print(f"blueprint   {blueprint_by_count[largest]:.3f} s  ({migrate_s / blueprint_by_count[largest]:.1f}x faster)")
    print(f"fast path   {clone_s:.3f} s  ({report['ratio']}x faster than migrations, at {largest} tenants; "
          f"{report['flatness']}x its time at {min(by_count)} tenants)")
    print(json.dumps(report))
    connection.close()
    if not args.keep:
        recreate_database(url)  # leave an empty database, not thousands of schemas


if __name__ == "__main__":
    main()
