"""Fair workers (tenancy/fairness.py) on real Redis with real dramatiq workers: one brokerage's flood waits in its
own inbox, the others' messages go straight into the shared queue, places are handed on exactly, retries and
dead letters give their places back, and lost places are recovered by the reconcile."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager

import dramatiq
import pytest

from tenancy.fairness import FairRedisBroker, fair_reconcile
from tenancy.workers import platform_actor, send_to_tenant
from tests.conftest import stop_worker

QUEUE = "fairness_tests"
_done: list[tuple[str, int, float]] = []
_running: dict[str, int] = {}
_peak: dict[str, int] = {}
_lock = threading.Lock()
_flaky_seen: set[int] = set()


# Platform-scope actors sent with a brokerage's schema in their options: the fairness layer keys on the message's
# brokerage; these tests measure queueing, not a brokerage's database work (no schema needed).
@platform_actor(queue_name=QUEUE, max_retries=0)
def fair_job(tenant: str, n: int, work_ms: int = 0):
    with _lock:
        _running[tenant] = _running.get(tenant, 0) + 1
        _peak[tenant] = max(_peak.get(tenant, 0), _running[tenant])
    time.sleep(work_ms / 1000)
    with _lock:
        _running[tenant] -= 1
        _done.append((tenant, n, time.monotonic()))


@platform_actor(queue_name=QUEUE, max_retries=1, min_backoff=10, max_backoff=20)
def fair_flaky(tenant: str, n: int):
    if n not in _flaky_seen:
        _flaky_seen.add(n)
        raise RuntimeError("first attempt fails")
    with _lock:
        _done.append((tenant, n, time.monotonic()))


@platform_actor(queue_name=QUEUE, max_retries=0)
def fair_broken(tenant: str):
    raise RuntimeError("always fails")


@pytest.fixture
def fair(broker, settings):
    settings.WORKER_TENANT_MAX_QUEUED = 3
    assert isinstance(broker, FairRedisBroker)
    _done.clear(), _running.clear(), _peak.clear(), _flaky_seen.clear()
    return broker


def _queued(broker, tenant: str) -> int:
    raw = broker.client.hvals(f"{broker.namespace}:{QUEUE}.msgs")
    return sum(1 for r in raw if json.loads(r)["options"].get("tenant_schema") == tenant)


@contextmanager
def _working(broker, threads: int):
    """A real dramatiq worker on the fair broker for the duration of the block."""
    w = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=50)
    w.start()
    try:
        yield w
    finally:
        stop_worker(broker, w)


def _wait(condition, timeout_s=20.0, what=""):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_flood_waits_in_its_inbox_and_another_brokerages_message_goes_straight_into_the_queue(fair):
    for n in range(10):
        send_to_tenant(fair_job, "flood", "flood", n)
    send_to_tenant(fair_job, "quiet", "quiet", 0)

    assert _queued(fair, "flood") == 3
    assert _queued(fair, "quiet") == 1
    assert fair.fair_state() == {"flood": {"held": 3, "waiting": 7}, "quiet": {"held": 1, "waiting": 0}}
    # the queue's order: three of the flood, then the quiet brokerage's message — not behind the other seven
    order = [json.loads(fair.client.hget(f"{fair.namespace}:{QUEUE}.msgs", mid))["options"]["tenant_schema"]
             for mid in fair.client.lrange(f"{fair.namespace}:{QUEUE}", 0, -1)]
    assert order == ["flood", "flood", "flood", "quiet"]


def test_a_worker_drains_everything_each_message_once_and_the_places_return_to_zero(fair):
    with _working(fair, 4):
        for n in range(40):
            send_to_tenant(fair_job, "flood", "flood", n, 5)
        send_to_tenant(fair_job, "quiet", "quiet", 0)
        _wait(lambda: len(_done) == 41, what="41 messages")
        fair.join(QUEUE, timeout=10_000)
    assert sorted(n for t, n, _ in _done if t == "flood") == list(range(40))
    assert _peak["flood"] <= 3, "never more than the cap of one brokerage's messages in flight"
    assert fair.fair_state() == {}
    # the quiet brokerage was served long before the flood finished
    quiet_at = next(at for t, _, at in _done if t == "quiet")
    flood_after = [at for t, _, at in _done if t == "flood" and at > quiet_at]
    assert len(flood_after) >= 30


def test_a_quiet_brokerages_job_finishes_while_the_flood_is_still_queued(fair):
    with _working(fair, 2):
        for n in range(200):
            send_to_tenant(fair_job, "flood", "flood", n, 20)
        time.sleep(0.2)
        sent = time.monotonic()
        send_to_tenant(fair_job, "quiet", "quiet", 0)
        _wait(lambda: any(t == "quiet" for t, _, _ in _done), what="the quiet brokerage's job")
        latency = next(at for t, _, at in _done if t == "quiet") - sent
        waiting = fair.fair_state()["flood"]["waiting"]
    # behind at most the flood's 3 places on 2 threads of 20 ms work (FIFO would be ~2 s behind 200 × 20 ms / 2)
    assert latency < 0.5, f"the quiet brokerage waited {latency:.3f} s"
    assert waiting > 100, "the flood was still waiting in its inbox"


def test_retries_and_dead_letters_give_their_places_back(fair):
    with _working(fair, 2):
        for n in range(5):
            send_to_tenant(fair_flaky, "shop", "shop", n)
        send_to_tenant(fair_broken, "shop", "shop")
        _wait(lambda: len(_done) == 5, what="the retried messages")
        _wait(lambda: fair.client.hlen(f"{fair.namespace}:{QUEUE}.XQ.msgs") == 1, what="the dead letter")
        _wait(lambda: fair.fair_state() == {}, what="every place given back")
    assert sorted(n for _, n, _ in _done) == list(range(5))


def test_fairness_off_is_plain_fifo(fair, settings):
    settings.WORKER_TENANT_MAX_QUEUED = 0
    for n in range(10):
        send_to_tenant(fair_job, "flood", "flood", n)
    assert _queued(fair, "flood") == 10
    assert fair.fair_state() == {}


def test_platform_messages_are_not_capped(fair):
    for n in range(10):
        fair_job.send("platform", n)
    assert fair.client.hlen(f"{fair.namespace}:{QUEUE}.msgs") == 10
    assert fair.fair_state() == {}


def test_places_held_by_vanished_messages_are_given_back_and_the_inbox_fed(fair):
    for n in range(6):
        send_to_tenant(fair_job, "shop", "shop", n)
    assert fair.fair_state() == {"shop": {"held": 3, "waiting": 3}}
    # the queued messages vanish without an ack (say, a queue flushed by hand): their places would be lost
    fair.client.delete(f"{fair.namespace}:{QUEUE}", f"{fair.namespace}:{QUEUE}.msgs")

    assert fair_reconcile(fair) == {"shop": 3}
    assert fair.fair_state() == {"shop": {"held": 3, "waiting": 0}}
    assert _queued(fair, "shop") == 3
    assert fair_reconcile(fair) == {}, "a second run with nothing wrong changes nothing"
    assert fair.fair_state() == {"shop": {"held": 3, "waiting": 0}}


def test_queue_depth_per_brokerage_counts_the_inbox_too(fair):
    from tenancy.workers import queue_depth_by_tenant

    for n in range(7):
        send_to_tenant(fair_job, "shop", "shop", n)
    assert queue_depth_by_tenant()["shop"] == 7
