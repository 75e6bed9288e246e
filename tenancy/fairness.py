"""Fair workers: one brokerage's flood of messages must not delay the others.

All brokerages share the worker fleet and its queues. dramatiq's Redis queues are FIFO, so 100,000 webhooks from one
brokerage would put every other brokerage's next message behind all of them. Here each brokerage may have at most
`WORKER_TENANT_MAX_QUEUED` messages in the shared queues at once (waiting, prefetched or running); the rest wait in
that brokerage's own inbox in Redis. When one of its messages leaves the queue (acked or dead-lettered), the next
one from its inbox takes the freed place — in the same atomic step. So a flooding brokerage always has a few
messages in line and keeps its workers busy, while a quiet brokerage's message lands at most a few places behind.

* Admission (`FairRedisBroker.do_enqueue`, a Lua script): a brokerage's message for a queue is either put on the
  queue exactly as dramatiq's own `enqueue` does (message hash + list) while the brokerage holds fewer places than
  the cap, or appended to its inbox. Platform messages (public schema) and delayed messages (`.DQ` queues — they
  are admitted when they come due and the worker moves them to the queue) are not capped.
* Release (`FairnessMiddleware.after_ack` / `after_nack`, a Lua script): the inbox's next message moves to its
  queue keeping the place, or the place is given back. Lua makes each step atomic: a message is never in the
  inbox and the queue at once, nor lost between them.
* Self-healing (`fair_reconcile`, every minute from the scheduler): places still held by messages that no longer
  exist (a flushed queue, a message discarded by hand) are given back and inboxes are fed into the freed places.

`WORKER_TENANT_MAX_QUEUED=0` turns fairness off (plain FIFO). bench/fairness.py measures the effect.
"""
from __future__ import annotations

import json
import logging
import time
from collections import Counter

from django_tenants.utils import get_public_schema_name
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import q_name
from dramatiq.errors import QueueJoinTimeout
from dramatiq.middleware import Middleware

log = logging.getLogger(__name__)

TENANT_OPTION = "tenant_schema"  # tenancy.workers.TENANT_OPTION (not imported: that module imports Django models)

# KEYS: held hash, inbox list, queue list, queue message hash, pending set
# ARGV: tenant, cap, message id, message data, queue name
_ADMIT = """
local held = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if held <= tonumber(ARGV[2]) then
    redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
    redis.call('RPUSH', KEYS[3], ARGV[3])
    return 1
end
redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
redis.call('RPUSH', KEYS[2], ARGV[5] .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
redis.call('SADD', KEYS[5], ARGV[1])
return 0
"""

# KEYS: held hash, inbox list, pending set
# ARGV: tenant, namespace, mode, cap
#   mode "release": one of the tenant's messages left the queues — the next inbox message takes its place, or the
#                   place is given back;
#   mode "fill":    move inbox messages onto their queues while the tenant holds fewer places than the cap.
# Returns the number of messages moved.
_RELEASE = """
local want = 1
if ARGV[3] == 'fill' then
    want = tonumber(ARGV[4]) - tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
end
local moved = 0
while moved < want do
    local item = redis.call('LPOP', KEYS[2])
    if not item then break end
    local q_end = string.find(item, '\\n', 1, true)
    local id_end = string.find(item, '\\n', q_end + 1, true)
    local queue = ARGV[2] .. ':' .. string.sub(item, 1, q_end - 1)
    local id = string.sub(item, q_end + 1, id_end - 1)
    redis.call('HSET', queue .. '.msgs', id, string.sub(item, id_end + 1))
    redis.call('RPUSH', queue, id)
    moved = moved + 1
end
if redis.call('LLEN', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[1]) end
if ARGV[3] == 'release' then
    if moved == 0 then
        if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
    end
elseif moved > 0 then
    redis.call('HINCRBY', KEYS[1], ARGV[1], moved)
end
return moved
"""


def tenant_cap() -> int:
    from django.conf import settings

    return int(getattr(settings, "WORKER_TENANT_MAX_QUEUED", 0) or 0)


class FairRedisBroker(RedisBroker):
    """dramatiq's RedisBroker with per-brokerage admission to the shared queues (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._admit = self.client.register_script(_ADMIT)
        self._release = self.client.register_script(_RELEASE)

    # keys
    def fair_key(self, *parts: str) -> str:
        return ":".join([self.namespace, "fair", *parts])

    def do_enqueue(self, queue_name: str, message_id: str, message_data: bytes):
        tenant = _tenant_of(queue_name, message_data)
        cap = tenant_cap()
        if tenant is None or cap <= 0:
            return self._dispatch("enqueue")(queue_name, message_id, message_data)
        queue = f"{self.namespace}:{queue_name}"
        admitted = self._admit(
            keys=[self.fair_key("held"), self.fair_key("inbox", tenant), queue, f"{queue}.msgs",
                  self.fair_key("pending")],
            args=[tenant, cap, message_id, message_data, queue_name])
        return admitted

    def fair_release(self, tenant: str) -> int:
        """One of the brokerage's messages left the queue: its place goes to the next inbox message, or back."""
        return self._release(keys=[self.fair_key("held"), self.fair_key("inbox", tenant), self.fair_key("pending")],
                             args=[tenant, self.namespace, "release", 0])

    def fair_fill(self, tenant: str) -> int:
        """Move inbox messages onto their queues while the brokerage holds fewer places than the cap."""
        return self._release(keys=[self.fair_key("held"), self.fair_key("inbox", tenant), self.fair_key("pending")],
                             args=[tenant, self.namespace, "fill", tenant_cap()])

    def fair_state(self) -> dict[str, dict[str, int]]:
        """{tenant: {"held": its places in the queues, "waiting": messages in its inbox}}."""
        held = {_s(k): int(v) for k, v in self.client.hgetall(self.fair_key("held")).items()}
        tenants = set(held) | {_s(t) for t in self.client.smembers(self.fair_key("pending"))}
        return {t: {"held": held.get(t, 0), "waiting": self.client.llen(self.fair_key("inbox", t))}
                for t in sorted(tenants)}

    def join(self, queue_name: str, *, interval: int = 100, timeout: int | None = None) -> None:
        """Wait until the queue is empty AND no inbox holds a message for it (RedisBroker.join alone could return
        in the instant between a message's ack and its place being handed to the next inbox message)."""
        deadline = None if timeout is None else time.monotonic() + timeout / 1000
        while True:
            remaining = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            super().join(queue_name, interval=interval, timeout=remaining)
            prefix = f"{queue_name}\n".encode()
            waiting = any(item.startswith(prefix)
                          for tenant in self.client.smembers(self.fair_key("pending"))
                          for item in self.client.lrange(self.fair_key("inbox", _s(tenant)), 0, -1))
            if not waiting:
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise QueueJoinTimeout(queue_name)
            time.sleep(interval / 1000)

    def flush_all(self) -> None:
        super().flush_all()
        names = list(self.client.scan_iter(match=self.fair_key("*"), count=500))
        if names:
            self.client.delete(*names)


def _tenant_of(queue_name: str, message_data: bytes) -> str | None:
    """The brokerage a message counts against, or None (platform message, or a delayed one: admitted when due)."""
    if queue_name != q_name(queue_name) or queue_name.endswith(".XQ"):
        return None
    try:
        options = json.loads(message_data).get("options") or {}
    except (ValueError, AttributeError):
        return None
    tenant = options.get(TENANT_OPTION)
    if not tenant or tenant == get_public_schema_name():
        return None
    return tenant


class FairnessMiddleware(Middleware):
    """Gives a brokerage's place in the queues on when one of its messages leaves them (acked or rejected)."""

    def after_ack(self, broker, message):
        self._left(broker, message)

    def after_nack(self, broker, message):
        self._left(broker, message)

    @staticmethod
    def _left(broker, message):
        if not isinstance(broker, FairRedisBroker) or tenant_cap() <= 0:
            return
        if message.queue_name != q_name(message.queue_name):
            return  # a delayed message handed on to its queue: it was never admitted as a delayed one
        tenant = message.options.get(TENANT_OPTION)
        if not tenant or tenant == get_public_schema_name():
            return
        try:
            broker.fair_release(tenant)
        except Exception:  # noqa: BLE001 - the scheduler's reconcile gives the place back
            log.exception("could not release a fair-queue place for %s", tenant)


def _queued_by_tenant(broker: FairRedisBroker) -> Counter:
    """Messages per brokerage in the shared queues now (waiting, prefetched or running — not delayed)."""
    counts: Counter = Counter()
    for queue in {q_name(q) for q in broker.get_declared_queues()}:
        for _, raw in broker.client.hscan_iter(f"{broker.namespace}:{queue}.msgs", count=500):
            tenant = _tenant_of(queue, raw)
            if tenant:
                counts[tenant] += 1
    return counts


def fair_reconcile(broker=None) -> dict[str, int]:
    """Give back places held by messages that no longer exist, then feed inboxes into free places.
    Returns {tenant: messages moved from its inbox}. Safe to run any time, by several processes: a place is
    only given back when two looks agree it has no message (a message admitted or acked between the looks moves
    both numbers together)."""
    import dramatiq

    broker = broker or dramatiq.get_broker()
    if not isinstance(broker, FairRedisBroker) or tenant_cap() <= 0:
        return {}
    held_key = broker.fair_key("held")
    first = _queued_by_tenant(broker)
    for tenant_raw, held in broker.client.hgetall(held_key).items():
        tenant = _s(tenant_raw)
        if int(held) - first.get(tenant, 0) <= 0:
            continue
        excess = int(broker.client.hget(held_key, tenant) or 0) - _queued_by_tenant(broker).get(tenant, 0)
        excess = min(excess, int(held) - first.get(tenant, 0))
        if excess > 0:
            log.warning("fair queues: %s held %s places with no message; giving them back", tenant, excess)
            if broker.client.hincrby(held_key, tenant, -excess) <= 0:
                broker.client.hdel(held_key, tenant)
    moved = {_s(t): broker.fair_fill(_s(t)) for t in broker.client.smembers(broker.fair_key("pending"))}
    return {t: n for t, n in moved.items() if n}


def _s(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
