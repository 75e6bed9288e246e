"""Periodic jobs fanned out over active brokerages.

A small loop rather than periodiq/dramatiq-crontab: those schedule one message per job, while we
need one message per *active tenant* per job, decided at fire time from the Brokerage table. Each
firing is claimed with a Redis `SET NX PX` on the job's slot, so any number of scheduler replicas
fire a job at most once per interval, platform-wide, with no leader election.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import connection

from tenancy.workers import PLATFORM_SCOPE, SCOPE_OPTION, TENANT_OPTION, send_to_tenant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    actor: object
    every_s: int

    @property
    def name(self) -> str:
        return self.actor.actor_name

    @property
    def per_tenant(self) -> bool:
        return self.actor.options.get(SCOPE_OPTION) != PLATFORM_SCOPE


REGISTRY: dict[str, PeriodicJob] = {}


def periodic(*, every_s: int):
    """Register an actor to run every `every_s` seconds (per active brokerage for tenant actors)."""

    def decorate(actor):
        REGISTRY[actor.actor_name] = PeriodicJob(actor=actor, every_s=every_s)
        return actor

    return decorate


def fire_due_jobs(*, now_ms: int | None = None) -> dict[str, int]:
    """Send every job whose slot is free. Returns {job: messages sent}."""
    from platform_core.redis import key, redis_client
    from tenancy.models import Brokerage

    client = redis_client()
    now_ms = now_ms or int(time.time() * 1000)
    sent: dict[str, int] = {}
    schemas: list[str] | None = None
    for job in REGISTRY.values():
        slot = now_ms // (job.every_s * 1000)
        if not client.set(key("sched", job.name, str(slot)), "1", nx=True, px=job.every_s * 2000):
            continue
        if not job.per_tenant:
            job.actor.send_with_options(**{TENANT_OPTION: "public"})
            sent[job.name] = 1
            continue
        if schemas is None:
            connection.set_schema_to_public()
            schemas = list(Brokerage.objects.active().values_list("schema_name", flat=True))
        for schema in schemas:
            send_to_tenant(job.actor, schema)
        sent[job.name] = len(schemas)
    return sent


def run_forever(*, tick_s: float = 1.0, stop=None) -> None:
    log.info("scheduler started with %d jobs: %s", len(REGISTRY), ", ".join(sorted(REGISTRY)))
    while stop is None or not stop.is_set():
        try:
            for name, count in fire_due_jobs().items():
                log.info("fired %s → %d message(s)", name, count)
        except Exception:  # noqa: BLE001 - a transient DB/Redis error must not kill the scheduler
            log.exception("scheduler tick failed")
            connection.close()
        time.sleep(tick_s)
