#!/usr/bin/env python
"""Benchmark: computing a month of IB commissions set-based, against the per-deal Python reference.

Runs against a throw-away database (<name>_bench_commissions on the same server) with one provisioned brokerage:

  setup   500 IBs in 4 tiers (10 → 40 → 150 → 300, each under an IB of the tier above), 3 plans (rebates per
          symbol group and account type, a revenue share, overrides for levels 1–3) with a version change and
          50 IBs changing plan mid-month, 10,000 clients with a trading account each assigned to an IB, 2,000 of
          them reassigned to another IB at a random moment of the month, and 1,000,000 closing deals spread over
          the month (INSERT … SELECT generate_series).
  month   `commission_period_accrue` for the month: the set-based engine (one recursive INSERT … SELECT into the
          expected set, one INSERT of the accruals), timed from the call to its commit.
  naive   first, tenant_apps/commissions/reference.py — a straightforward per-deal Python loop over in-memory
          intervals — on a random sample of the same deals, saving each deal's rows (one INSERT per deal), timed
          including its loading, then rolled back; afterwards its rows must equal the engine's for the sample.

Last line: {"month_s": …, "deals": …, "deals_per_s": …, "naive_deals_per_s": …, "ratio": …}
Usage: python bench/commissions.py [--deals 1000000] [--clients 10000] [--reassignments 2000] [--sample 5000] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _common import bench_database_url, log, recreate_database  # noqa: E402  (bench/ is the script's directory)

TIERS = (10, 40, 150, 300)
PERIOD = date(2026, 10, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--reassignments", type=int, default=2_000)
    parser.add_argument("--sample", type=int, default=5_000, help="deals the per-deal reference pays")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    url = bench_database_url("_bench_commissions")
    os.environ.update({
        "DATABASE_URL": url, "DRAMATIQ_NAMESPACE": "brokeros-bench-cm", "CACHE_KEY_PREFIX": "brokeros-bench-cm",
        "PROVISIONING_SPARE_POOL_SIZE": "0", "DJANGO_DEBUG": "0", "LOG_LEVEL": "WARNING",
        "PLATFORM_DOMAIN": "localhost", "DJANGO_SETTINGS_MODULE": "platform_core.settings",
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or Fernet.generate_key().decode(),
    })
    recreate_database(url)
    try:
        run(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            recreate_database(url)  # leaves an empty database behind, not a million deals


def setup(args, zone):
    from django.db import connection

    from tenant_apps.brokerage.models import AccountType, TradingServerConfig
    from tenant_apps.commissions.models import CommissionPlan, CommissionRule, PlanAssignment, PlanVersion
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.partners.models import ClientAssignment, Partner, PartnerLink
    from tenant_apps.trading.models import AccountStatus, TradingAccount

    rng = random.Random(7)
    month_start = datetime(2026, 10, 1, tzinfo=zone)
    month_end = datetime(2026, 11, 1, tzinfo=zone)
    before = month_start - timedelta(days=60)
    span = (month_end - month_start).total_seconds()
    server = TradingServerConfig.objects.get(code="mt5-sim")
    account_types = list(AccountType.objects.all())

    # IBs in 4 tiers
    n_ibs = sum(TIERS)
    ib_users = User.objects.bulk_create([User(email=f"ib{i}@bench.test", kind=UserKind.IB, full_name=f"IB {i}")
                                         for i in range(n_ibs)], batch_size=5000)
    ibs = Partner.objects.bulk_create([Partner(user=u, code=f"ib{i}", status="active") for i, u in enumerate(ib_users)],
                                      batch_size=5000)
    tiers, offset = [], 0
    for size in TIERS:
        tiers.append(ibs[offset:offset + size])
        offset += size
    PartnerLink.objects.bulk_create([PartnerLink(partner=ib, parent=rng.choice(tiers[t - 1]), valid_from=before)
                                     for t in range(1, len(TIERS)) for ib in tiers[t]], batch_size=5000)

    # plans: rebates by symbol group and account type, revenue share, overrides for levels 1–3
    plans = []
    for index, (rebate, metals) in enumerate([("7", "12"), ("8", "15"), ("10", "18")]):
        plan = CommissionPlan.objects.create(name=f"Plan {index}")
        cut = month_start + timedelta(days=15) if index == 0 else None
        versions = [PlanVersion.objects.create(plan=plan, valid_from=before, valid_to=cut)]
        if cut:
            versions.append(PlanVersion.objects.create(plan=plan, valid_from=cut))
        for v_index, version in enumerate(versions):
            base = Decimal(rebate) + v_index
            CommissionRule.objects.bulk_create([
                CommissionRule(version=version, kind="rebate", per_lot=base, symbol_group="FX"),
                CommissionRule(version=version, kind="rebate", per_lot=Decimal(metals), symbols=["XAUUSD", "XAGUSD"],
                               symbol_group="Metals"),
                CommissionRule(version=version, kind="rebate", per_lot=base + 2, account_type=account_types[-1]),
                CommissionRule(version=version, kind="revenue_share", percent=Decimal("20")),
                CommissionRule(version=version, kind="override", level=1, percent=Decimal("10")),
                CommissionRule(version=version, kind="override", level=2, per_lot=Decimal("0.5")),
                CommissionRule(version=version, kind="override", level=3, percent=Decimal("5")),
            ])
        plans.append(plan)
    assignments = []
    changers = set(rng.sample(range(n_ibs), 50))
    for i, ib in enumerate(ibs):
        first = plans[i % len(plans)]
        if i in changers:
            moment = month_start + timedelta(seconds=rng.uniform(0, span))
            assignments += [PlanAssignment(partner=ib, plan=first, valid_from=before, valid_to=moment),
                            PlanAssignment(partner=ib, plan=plans[(i + 1) % len(plans)], valid_from=moment)]
        else:
            assignments.append(PlanAssignment(partner=ib, plan=first, valid_from=before))
    PlanAssignment.objects.bulk_create(assignments, batch_size=5000)

    # clients, accounts, assignments (2,000 reassigned mid-month)
    clients = User.objects.bulk_create([User(email=f"c{i}@bench.test", kind=UserKind.CLIENT, full_name=f"Client {i}")
                                        for i in range(args.clients)], batch_size=5000)
    TradingAccount.objects.bulk_create([
        TradingAccount(client=c, server=server, account_type=account_types[i % len(account_types)],
                       login=5_000_000 + i, currency="USD", leverage=100, platform_group="real\\bench",
                       status=AccountStatus.ACTIVE) for i, c in enumerate(clients)], batch_size=5000)
    movers = set(rng.sample(range(args.clients), min(args.reassignments, args.clients)))
    rows = []
    for i, c in enumerate(clients):
        ib = rng.choice(ibs[TIERS[0]:])
        if i in movers:
            moment = month_start + timedelta(seconds=rng.uniform(0, span))
            other = rng.choice([x for x in rng.sample(ibs, 3) if x.pk != ib.pk])
            rows += [ClientAssignment(client=c, partner=ib, valid_from=before, valid_to=moment, source="staff"),
                     ClientAssignment(client=c, partner=other, valid_from=moment, source="reassignment")]
        else:
            rows.append(ClientAssignment(client=c, partner=ib, valid_from=before, source="staff"))
    ClientAssignment.objects.bulk_create(rows, batch_size=5000)

    # deals: closing deals over the month (a few openings too, which pay nothing)
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO trading_deal (server_id, ticket, login, time, symbol, side, action, entry, volume_lots, price,
                                      profit, commission, swap, position_id, comment)
            SELECT %(server)s, g, 5000000 + (hashint %% %(clients)s),
                   %(start)s + (g::float8 / %(deals)s) * (%(end)s::timestamptz - %(start)s::timestamptz),
                   (ARRAY['EURUSD','GBPUSD','USDJPY','XAUUSD','XAGUSD','US30'])[1 + (hashint / 7) %% 6],
                   CASE WHEN hashint %% 2 = 0 THEN 'buy' ELSE 'sell' END, hashint %% 2,
                   CASE WHEN hashint %% 20 = 0 THEN 0 ELSE 1 END,
                   round(0.01 + ((hashint / 13) %% 500) / 100.0, 2), 1.1, 0,
                   -round(((hashint / 17) %% 900) / 100.0, 2), 0, g, ''
            FROM (SELECT g, abs(hashtext(g::text)) AS hashint FROM generate_series(1, %(deals)s) g) s
        """, {"server": server.pk, "clients": args.clients, "deals": args.deals, "start": month_start,
              "end": month_end})
        cursor.execute("ANALYZE")


def run(args) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from provisioning import schemas
    from provisioning.services import platform_ensure, provision_brokerage

    log("setting up a throw-away database and one brokerage…")
    call_command("migrate_schemas", shared=True, verbosity=0)
    platform_ensure()
    schemas.blueprint_current()
    job = provision_brokerage(name="Bench Commissions", slug="benchcm", admin_email="admin@benchcm.test",
                              jurisdiction="cysec", source="cli", timezone_name="Asia/Nicosia")
    if job.status != "succeeded":
        raise SystemExit(f"provisioning failed: {job.error}")
    with tenant_context(job.brokerage):
        from django.db import transaction

        from tenant_apps.commissions.engine import period_bounds, tenant_zone
        from tenant_apps.commissions.models import CommissionAccrual, CommissionRun
        from tenant_apps.commissions.reference import Reference
        from tenant_apps.commissions.services import commission_period_accrue
        from tenant_apps.trading.models import Deal

        started = time.perf_counter()
        setup(args, tenant_zone())
        log(f"setup: {sum(TIERS)} IBs, {args.clients} clients, {args.reassignments} reassignments, "
            f"{args.deals} deals in {time.perf_counter() - started:.1f} s")

        # naive first: per deal, compute its rows and save them (one INSERT per deal), rolled back afterwards
        log(f"naive: the per-deal reference on {args.sample} sampled deals, saving each deal's rows…")
        tickets = random.Random(11).sample(range(1, args.deals + 1), min(args.sample, args.deals))
        sample = list(Deal.objects.filter(ticket__in=tickets, entry__in=[1, 2, 3]).order_by("ticket"))
        naive_map = {}
        with transaction.atomic():
            run_row = CommissionRun.objects.create(period=PERIOD, mode="accrue", reason="bench: naive")
            started = time.perf_counter()
            ref = Reference()
            for deal in sample:
                rows = ref.deal_rows(deal)
                CommissionAccrual.objects.bulk_create([CommissionAccrual(
                    kind=r.kind, server_id=r.server_id, ticket=r.ticket, level=r.level, partner_id=r.partner_id,
                    plan_version_id=r.plan_version_id, client_id=r.client_id, login=deal.login, deal_time=r.deal_time,
                    symbol=deal.symbol, volume=deal.volume_lots, rate=r.rate, amount=r.amount, currency="USD",
                    period=PERIOD, run=run_row) for r in rows])
                naive_map.update({(r.ticket, r.level, r.kind): (r.partner_id, r.amount) for r in rows})
            naive_s = time.perf_counter() - started
            transaction.set_rollback(True)
        log(f"naive: {len(sample)} deals ({len(naive_map)} rows) in {naive_s:.2f} s")

        log("month: commission_period_accrue…")
        started = time.perf_counter()
        run_ = commission_period_accrue(period=PERIOD)
        month_s = time.perf_counter() - started
        start, end = period_bounds(PERIOD)
        closing = Deal.objects.filter(time__gte=start, time__lt=end, entry__in=[1, 2, 3]).count()
        log(f"month: {run_.accruals_written} accruals for {closing} closing deals in {month_s:.2f} s")
        assert commission_period_accrue(period=PERIOD).accruals_written == 0, "a second run must write nothing"

        engine_rows = {(r.ticket, r.level, r.kind): (r.partner_id, r.amount) for r in
                       CommissionAccrual.objects.filter(ticket__in=tickets)}
        if engine_rows != naive_map:
            raise SystemExit(f"engine and reference disagree on the sample "
                             f"({len(set(engine_rows.items()) ^ set(naive_map.items()))} rows)")
        log(f"sample: the engine's rows equal the reference's ({len(naive_map)})")
    connection.set_schema_to_public()
    deals_per_s = closing / month_s
    naive_per_s = len(sample) / naive_s
    print(json.dumps({"month_s": round(month_s, 2), "deals": closing, "deals_per_s": round(deals_per_s),
                      "naive_deals_per_s": round(naive_per_s), "ratio": round(deals_per_s / naive_per_s, 1),
                      "accruals": run_.accruals_written}))


if __name__ == "__main__":
    main()
