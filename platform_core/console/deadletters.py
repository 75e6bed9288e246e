"""A brokerage's dead-lettered worker messages in the operator console: list them, retry or discard them.

dramatiq's Redis broker keeps a queue's dead letters in a sorted set `<ns>:<queue>.XQ` (message id → when it was
dead-lettered) and their bodies in the hash `<ns>:<queue>.XQ.msgs`. Taking a message out is one Lua step (read,
remove from both) so two operators acting at once act on it once: the second finds nothing. A retried message goes
back through the broker's normal enqueue (the fair queues admit it like any other message of the brokerage), with
its retry count reset; if the enqueue fails the message is put back where it was. Every action is audited in the
public schema with who, which brokerage, how many, which actors and why.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import dramatiq
from dramatiq import Message
from dramatiq.common import q_name

from tenancy.errors import TenancyError
from tenancy.services import platform_audit

TENANT_OPTION = "tenant_schema"
ACTIONS = ("retry", "discard")

# KEYS: the XQ sorted set, its message hash. ARGV: message ids. Returns [id, data, score, id, data, score, ...].
_TAKE = """
local out = {}
for _, id in ipairs(ARGV) do
    local data = redis.call('HGET', KEYS[2], id)
    if data then
        local score = redis.call('ZSCORE', KEYS[1], id) or '0'
        redis.call('HDEL', KEYS[2], id)
        redis.call('ZREM', KEYS[1], id)
        table.insert(out, id)
        table.insert(out, data)
        table.insert(out, score)
    end
end
return out
"""


class DeadLetterError(TenancyError):
    pass


@dataclass(frozen=True)
class DeadLetter:
    redis_id: str
    queue: str
    actor: str
    at: datetime | None
    error: str
    retries: int
    message_id: str


def _broker():
    return dramatiq.get_broker()


def _keys(broker, queue: str) -> tuple[str, str]:
    base = f"{broker.namespace}:{q_name(queue)}.XQ"
    return base, f"{base}.msgs"


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def dead_letters(schema: str, *, limit: int = 50) -> list[DeadLetter]:
    """The brokerage's dead letters, newest first, across every declared queue (at most `limit`)."""
    broker = _broker()
    found: list[DeadLetter] = []
    for queue in sorted({q_name(q) for q in broker.get_declared_queues()}):
        xq, msgs = _keys(broker, queue)
        for raw_id, raw in broker.client.hscan_iter(msgs, count=500):
            message = Message.decode(raw)
            if message.options.get(TENANT_OPTION) != schema:
                continue
            score = broker.client.zscore(xq, raw_id)
            tb = (message.options.get("traceback") or "").strip().splitlines()
            found.append(DeadLetter(
                redis_id=_text(raw_id), queue=queue, actor=message.actor_name,
                at=datetime.fromtimestamp(score / 1000, tz=UTC) if score else None,
                error=(tb[-1] if tb else "")[:300], retries=int(message.options.get("retries", 0)),
                message_id=message.message_id))
    found.sort(key=lambda d: d.at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return found[:limit]


def dead_letters_act(*, actor, brokerage, action: str, ids: list[str] | None, reason: str = "",
                     source_ip: str | None = None) -> int:
    """Retry or discard the brokerage's dead letters named by `ids` (None: all of them). Only this brokerage's
    messages are touched, whatever ids are sent. Returns how many were acted on."""
    if action not in ACTIONS:
        raise DeadLetterError(f"Unknown action {action!r}: use retry or discard.")
    if ids is not None and not ids:
        raise DeadLetterError("Choose at least one message, or all of them.")
    broker = _broker()
    mine = dead_letters(brokerage.schema_name, limit=100_000)
    wanted = [d for d in mine if ids is None or d.redis_id in set(ids)]
    by_queue: dict[str, list[str]] = {}
    for d in wanted:
        by_queue.setdefault(d.queue, []).append(d.redis_id)
    done, actors = 0, set()
    take = broker.client.register_script(_TAKE)
    for queue, queue_ids in by_queue.items():
        xq, msgs = _keys(broker, queue)
        taken = take(keys=[xq, msgs], args=queue_ids)
        for i in range(0, len(taken), 3):
            redis_id, data, score = _text(taken[i]), taken[i + 1], taken[i + 2]
            message = Message.decode(data)
            if action == "retry":
                options = {k: v for k, v in message.options.items()
                           if k not in ("traceback", "retries", "redis_message_id", "eta")}
                try:
                    broker.enqueue(Message(queue_name=q_name(message.queue_name), actor_name=message.actor_name,
                                           args=message.args, kwargs=message.kwargs, options=options,
                                           message_id=message.message_id, message_timestamp=message.message_timestamp))
                except Exception:
                    broker.client.hset(msgs, redis_id, data)  # put back: the operator can try again
                    broker.client.zadd(xq, {redis_id: float(score)})
                    raise
            done += 1
            actors.add(message.actor_name)
    if done:
        platform_audit(actor=actor, action=f"dead_letters.{action}", brokerage=brokerage,
                       new_value=f"{done} message(s): {', '.join(sorted(actors))}"[:200], reason=reason[:1000],
                       source_ip=source_ip)
    return done
