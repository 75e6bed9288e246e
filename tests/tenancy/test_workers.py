"""Tenant-aware dramatiq on a real worker and real Redis: messages without a brokerage fail closed,
suspended brokerages are skipped, platform actors run in public, and the health panel's numbers are true."""
from __future__ import annotations

import json
import os
import socket
import time

import dramatiq
import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from platform_core.redis import key, redis_client
from tenancy.models import Brokerage, BrokerageKind, BrokerageStatus, PlatformAuditEvent
from tenancy.services import brokerage_change_status
from tenancy.workers import (
    HealthMiddleware,
    dead_letters_by_tenant,
    platform_actor,
    queue_depth_by_tenant,
    recent_errors,
    send_to_tenant,
    skipped_by_tenant,
    worker_heartbeats,
)
from tests.conftest import stop_worker
from tests.tenancy.actors import QUEUE, evidence, fails_once, platform_where_am_i, where_am_i


def _dead_letters(broker) -> list[dict]:
    raw = redis_client().hvals(f"{broker.namespace}:{QUEUE}.XQ.msgs")
    return [json.loads(x) for x in raw]


# How a tenant actor's message can arrive without a (valid) brokerage
#   → (send options, the tenant its failure is filed under, what the recorded error says).
NO_TENANT = {
    "stamped public explicitly": ({"tenant_schema": "public"}, "public", "Actor 'where_am_i' needs a brokerage"),
    "sent from the public context": ({}, "public", "Actor 'where_am_i' needs a brokerage"),
    "stamped with an empty schema": ({"tenant_schema": ""}, "public", "Actor 'where_am_i' needs a brokerage"),
    "stamped with an unknown schema": ({"tenant_schema": "no_such_brokerage"}, "no_such_brokerage",
                                       "names unknown schema 'no_such_brokerage'"),
}


@pytest.mark.parametrize("options, filed_under, says", NO_TENANT.values(), ids=NO_TENANT.keys())
def test_a_tenant_message_without_a_brokerage_is_not_run_not_retried_and_dead_lettered(
        committed_db, tenants, broker, drain, token, options, filed_under, says):
    connection.set_schema_to_public()
    message = where_am_i.send_with_options(args=(token,), **options)
    drain()

    assert evidence(token) == [], "the actor body ran without a brokerage"
    assert dead_letters_by_tenant() == {filed_under: 1}
    assert queue_depth_by_tenant() == {}, "the message is waiting for a retry"
    [dead] = _dead_letters(broker)
    assert dead["message_id"] == message.message_id
    assert dead["options"].get("retries", 0) == 0
    errors = [e for e in recent_errors(filed_under, limit=50) if e["message_id"] == message.message_id]
    assert len(errors) == 1
    assert errors[0]["actor"] == "where_am_i"
    assert errors[0]["error"].startswith("TenantMessageError: ")
    assert says in errors[0]["error"]


def test_messages_for_a_suspended_brokerage_are_skipped_until_it_resumes(committed_db, tenants, broker, drain,
                                                                          token):
    alpha = tenants["alpha"]
    started = timezone.now()
    skipped_before = skipped_by_tenant().get("alpha", 0)
    brokerage_change_status(brokerage_id=alpha.pk, action="suspend", reason="tenancy test")
    try:
        send_to_tenant(where_am_i, "alpha", token)
        drain()
        assert evidence(token) == []
        assert skipped_by_tenant().get("alpha", 0) == skipped_before + 1
        assert dead_letters_by_tenant() == {}, "a skipped message is not a failure"
        assert queue_depth_by_tenant() == {}
    finally:
        brokerage_change_status(brokerage_id=alpha.pk, action="resume")
        PlatformAuditEvent.objects.filter(brokerage=alpha, at__gte=started).delete()

    send_to_tenant(where_am_i, "alpha", token)
    drain()
    assert [e["schema"] for e in evidence(token)] == ["alpha"]
    assert skipped_by_tenant().get("alpha", 0) == skipped_before + 1


@pytest.mark.parametrize("slug", ["alpha", "beta"])
def test_a_retried_message_runs_again_in_the_same_brokerage(committed_db, tenants, drain, token, slug):
    # The retry is enqueued by the worker after it has left the brokerage: the stamp must survive that.
    with tenant_context(tenants[slug]):
        fails_once.send(token)
    drain()
    assert [run["schema"] for run in evidence(token)] == [slug, slug]
    assert dead_letters_by_tenant() == {}


# Brokerages that exist but do not serve: how to reach the status from a fresh active row.
NOT_SERVING = {
    "archived": ["archive"],
    "suspended then archived": ["suspend", "archive"],
}


@pytest.mark.parametrize("actions", NOT_SERVING.values(), ids=NOT_SERVING.keys())
def test_messages_for_an_archived_brokerage_are_skipped(committed_db, tenants, broker, drain, token, actions):
    # Archive is terminal, so a row of its own (the worker never reaches its schema).
    row = Brokerage.objects.create(name="Closing Ltd", slug="closing-ltd", schema_name="closing_ltd",
                                   kind=BrokerageKind.BROKERAGE, status=BrokerageStatus.ACTIVE)
    try:
        for action in actions:
            brokerage_change_status(brokerage_id=row.pk, action=action, reason="tenancy test")
        skipped_before = skipped_by_tenant().get("closing_ltd", 0)
        send_to_tenant(where_am_i, "closing_ltd", token)
        drain()
        assert evidence(token) == []
        assert skipped_by_tenant().get("closing_ltd", 0) == skipped_before + 1
        assert dead_letters_by_tenant() == {}
    finally:
        PlatformAuditEvent.objects.filter(brokerage=row).delete()
        row.delete()
        redis_client().hdel(key("skipped"), "closing_ltd")


@pytest.mark.parametrize("sender", ["alpha", "public"])
def test_a_platform_actor_runs_in_public_whatever_context_sent_it(committed_db, tenants, drain, token, sender):
    if sender == "public":
        platform_where_am_i.send(token)
    else:
        with tenant_context(tenants[sender]):
            platform_where_am_i.send(token)
    drain()
    [run] = evidence(token)
    assert run["schema"] == "public"
    assert run["brokerages"] == Brokerage.objects.brokerages().count() >= 2


def _health_middleware(broker) -> HealthMiddleware:
    [health] = [m for m in broker.middleware if isinstance(m, HealthMiddleware)]
    return health


def _beat_of(worker_id: str) -> dict | None:
    return next((b for b in worker_heartbeats() if b["worker"] == worker_id), None)


def test_a_running_worker_reports_a_heartbeat_and_removes_it_on_shutdown(broker):
    worker_id = _health_middleware(broker).worker_id
    assert worker_id == f"{socket.gethostname()}:{os.getpid()}"
    redis_client().delete(key("heartbeat", worker_id))
    assert _beat_of(worker_id) is None
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while (beat := _beat_of(worker_id)) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert beat is not None, "no heartbeat within 5 s of the worker starting"
        assert 0 <= beat["age_s"] < HealthMiddleware.HEARTBEAT_TTL_S
        assert QUEUE in beat["queues"]
    finally:
        stop_worker(broker, worker)
    assert _beat_of(worker_id) is None


def test_queue_depth_counts_waiting_messages_per_tenant_before_any_worker_runs(db, broker, tenants, token):
    for _ in range(2):
        send_to_tenant(where_am_i, "alpha", token)
    where_am_i.send_with_options(args=(token,), tenant_schema="alpha", delay=60_000)  # delayed still waits
    send_to_tenant(where_am_i, "beta", token)

    assert queue_depth_by_tenant() == {"alpha": 3, "beta": 1}
    assert dead_letters_by_tenant() == {}
    assert evidence(token) == []


def test_a_stopped_worker_does_not_steal_the_messages_of_a_queue_declared_after_it_stopped(broker):
    """Regression: dramatiq's Worker.stop() leaves its middleware on the broker, so a queue declared later gave
    the stopped worker a consumer thread that prefetched (and never processed) that queue's messages."""
    first = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    first.start()
    stop_worker(broker, first)
    queue = f"late-{os.getpid()}-{time.monotonic_ns()}"
    seen: list[int] = []

    @platform_actor(queue_name=queue, actor_name=f"late_actor_{queue.replace('-', '_')}")
    def late_actor(n):
        seen.append(n)

    try:
        assert queue not in first.consumers, "the stopped worker started a consumer for a queue declared later"
        second = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
        second.start()
        try:
            late_actor.send(7)
            deadline = time.monotonic() + 5
            while not seen and time.monotonic() < deadline:
                time.sleep(0.02)
            assert seen == [7]
        finally:
            stop_worker(broker, second)
    finally:
        broker.actors.pop(late_actor.actor_name, None)
        broker.queues.discard(queue)
        broker.delay_queues.discard(f"{queue}.DQ")
