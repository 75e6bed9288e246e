#!/usr/bin/env python
"""Benchmark: one brokerage floods the shared workers; another brokerage's job latency is measured idle and
under the flood, with fair queues (tenancy/fairness.py) and, for comparison, with plain FIFO queues.

One dramatiq worker process (real Redis, `--threads` worker threads) serves both brokerages. Every job is the same
small piece of I/O-bound work (`--work-ms`, like a webhook handler waiting on its database); a job's latency is
from its send to the end of its work, both stamped with the wall clock of this machine.

  idle    the victim brokerage B sends `--victim-jobs` jobs, one every 50 ms, nobody else working: p95.
  flood   brokerage A sends `--flood` jobs as fast as it can (fair queues, the cap of WORKER_TENANT_MAX_QUEUED
          per brokerage); once they are all sent B sends its jobs again, one every 50 ms, while A's flood is being
          worked off: p95, and how many of A's jobs were still waiting when B's last job finished.
  unfair  the same with WORKER_TENANT_MAX_QUEUED=0 (plain FIFO) and a flood of `--unfair-flood` jobs (smaller:
          every B job waits behind the whole flood, which would take minutes at 100,000): p95.

The brokerage travels in each message's options as for every tenant message (tenancy.workers.send_to_tenant);
the jobs are platform-scope actors, so no brokerage schema is needed: this measures queueing, not database work.
Its own Redis namespace (brokeros-bench-fair), flushed before and after.

Last line: {"victim_idle_p95_ms": …, "victim_flood_p95_ms": …, "ratio": …, "unfair_flood_p95_ms": …, ...}
Usage: python bench/fairness.py [--flood 100000] [--unfair-flood 10000] [--threads 8] [--work-ms 5]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _common import log  # noqa: E402  (bench/ is the script's directory)

NAMESPACE = "brokeros-bench-fair"
QUEUE = "bench_fairness"
os.environ.update({"DRAMATIQ_NAMESPACE": NAMESPACE, "DJANGO_SETTINGS_MODULE": "platform_core.settings",
                   "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"), "DJANGO_DEBUG": "0",
                   "PLATFORM_DOMAIN": os.environ.get("PLATFORM_DOMAIN", "localhost")})
if not os.environ.get("FIELD_ENCRYPTION_KEYS"):
    from cryptography.fernet import Fernet

    os.environ["FIELD_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()

import django  # noqa: E402

django.setup()

import dramatiq  # noqa: E402

from tenancy.workers import platform_actor, send_to_tenant  # noqa: E402

WORK_S = float(os.environ.get("BENCH_FAIR_WORK_MS", "5")) / 1000


@platform_actor(queue_name=QUEUE, max_retries=0)
def bench_job(tenant: str, sent_at: float, record: bool):
    time.sleep(WORK_S)
    if record:
        dramatiq.get_broker().client.rpush(f"{NAMESPACE}:bench:latency:{tenant}", (time.time() - sent_at) * 1000)


def run_worker(threads: int) -> None:
    """The worker process: serve the bench queue until SIGTERM."""
    broker = dramatiq.get_broker()
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=threads, worker_timeout=20)
    worker.start()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.1)
    worker.stop(timeout=2000)


class Fleet:
    def __init__(self, threads: int, work_ms: int, cap: int):
        env = {**os.environ, "WORKER_TENANT_MAX_QUEUED": str(cap), "BENCH_FAIR_WORK_MS": str(work_ms)}
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", "--threads", str(threads)], env=env)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def victim_p95(broker, jobs: int) -> tuple[float, list[float]]:
    key = f"{NAMESPACE}:bench:latency:victim"
    broker.client.delete(key)
    for _ in range(jobs):
        send_to_tenant(bench_job, "victim", "victim", time.time(), True)
        time.sleep(0.05)
    deadline = time.monotonic() + 600
    while broker.client.llen(key) < jobs:
        if time.monotonic() > deadline:
            raise SystemExit(f"the victim's jobs did not finish ({broker.client.llen(key)}/{jobs})")
        time.sleep(0.05)
    latencies = sorted(float(x) for x in broker.client.lrange(key, 0, -1))
    return statistics.quantiles(latencies, n=20)[-1], latencies


def flood(broker, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        send_to_tenant(bench_job, "flood", "flood", 0.0, False)
        if i and i % 20000 == 0:
            log(f"  flood: {i:,} of {n:,} sent")
    return time.perf_counter() - started


def waiting_of(broker, tenant: str) -> int:
    return broker.client.llen(broker.fair_key("inbox", tenant)) + sum(
        1 for raw in broker.client.hvals(f"{NAMESPACE}:{QUEUE}.msgs") if b'"flood"' in raw)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flood", type=int, default=100_000)
    parser.add_argument("--unfair-flood", type=int, default=10_000)
    parser.add_argument("--victim-jobs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--work-ms", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.threads)
        return

    from django.conf import settings

    broker = dramatiq.get_broker()
    broker.declare_queue(QUEUE)
    broker.flush_all()
    cap = settings.WORKER_TENANT_MAX_QUEUED or 16
    figures = {}
    try:
        fleet = Fleet(args.threads, args.work_ms, cap)
        try:
            time.sleep(1.5)
            log(f"idle: the victim sends {args.victim_jobs} jobs, one every 50 ms ({args.threads} worker threads, "
                f"{args.work_ms} ms of work each)…")
            idle, _ = victim_p95(broker, args.victim_jobs)
            log(f"idle: p95 {idle:.1f} ms")

            settings.WORKER_TENANT_MAX_QUEUED = cap
            log(f"flood: brokerage A sends {args.flood:,} jobs (fair queues, at most {cap} of one brokerage's "
                f"messages in the shared queue)…")
            sent_s = flood(broker, args.flood)
            log(f"flood: sent in {sent_s:.1f} s; the victim sends its jobs while the flood is worked off…")
            flooded, _ = victim_p95(broker, args.victim_jobs)
            still = waiting_of(broker, "flood")
            log(f"flood: p95 {flooded:.1f} ms; {still:,} of A's jobs still waiting when B's last job finished")
        finally:
            fleet.stop()
        broker.flush_all()

        settings.WORKER_TENANT_MAX_QUEUED = 0
        fleet = Fleet(args.threads, args.work_ms, 0)
        try:
            time.sleep(1.5)
            log(f"unfair: plain FIFO, brokerage A sends {args.unfair_flood:,} jobs, then the victim its jobs…")
            flood(broker, args.unfair_flood)
            unfair, _ = victim_p95(broker, args.victim_jobs)
            log(f"unfair: p95 {unfair:.1f} ms")
        finally:
            fleet.stop()
        figures = {"victim_idle_p95_ms": round(idle, 1), "victim_flood_p95_ms": round(flooded, 1),
                   "ratio": round(flooded / idle, 2), "unfair_flood_p95_ms": round(unfair, 1),
                   "flood_messages": args.flood, "flood_still_waiting": still, "unfair_flood_messages":
                   args.unfair_flood, "flood_send_per_s": round(args.flood / sent_s), "cap": cap,
                   "worker_threads": args.threads, "work_ms": args.work_ms}
    finally:
        broker.flush_all()
        broker.client.delete(f"{NAMESPACE}:bench:latency:victim")
    print(f"victim p95: idle {figures['victim_idle_p95_ms']} ms, under a {args.flood:,}-job flood "
          f"{figures['victim_flood_p95_ms']} ms (ratio {figures['ratio']}); plain FIFO under a "
          f"{args.unfair_flood:,}-job flood {figures['unfair_flood_p95_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
