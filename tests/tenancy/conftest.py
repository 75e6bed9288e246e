"""Fixtures of the tenancy tests: evidence tokens, reading the Redis queues, waiting for a worker."""
from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest

from platform_core.redis import redis_client
from tests.tenancy.actors import QUEUE, evidence_key


@pytest.fixture
def token():
    """A unique name for one test's evidence in Redis (removed afterwards)."""
    value = uuid.uuid4().hex
    yield value
    redis_client().delete(evidence_key(value))


def queued_messages(broker) -> list[dict]:
    """Every message waiting in the broker (ready and delayed queues, fair-queue inboxes), decoded."""
    client = redis_client()
    found = []
    for queue in broker.get_declared_queues():
        for suffix in (".msgs", ".DQ.msgs"):
            found += [json.loads(raw) for raw in client.hvals(f"{broker.namespace}:{queue}{suffix}")]
    # and those waiting in a brokerage's fair-queue inbox (tenancy/fairness.py): "queue\nid\ndata" items
    for inbox in client.scan_iter(match=f"{broker.namespace}:fair:inbox:*"):
        found += [json.loads(item.split("\n", 2)[2]) for item in client.lrange(inbox, 0, -1)]
    return found


def queued_by(broker) -> Counter:
    """Counter of (actor name, stamped tenant schema) over the waiting messages."""
    return Counter((m["actor_name"], m["options"].get("tenant_schema")) for m in queued_messages(broker))


@pytest.fixture
def drain(broker, worker):
    """drain() → block until the worker has finished every message of the test queue (fails after 10 s)."""

    def wait(timeout_ms: int = 10_000):
        broker.join(QUEUE, timeout=timeout_ms)
        worker.join()

    return wait
