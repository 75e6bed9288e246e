"""Who acts on which PSP webhook: capabilities register one handler per event type; the inbox worker
(services.webhook_event_process) calls it. Types nobody registered are marked `ignored`.

    from tenant_apps.payments.adapters.base import EventType
    from tenant_apps.payments.webhooks import register_handler

    @register_handler(EventType.PAYMENT_SUCCEEDED)
    def deposit_on_payment_succeeded(*, event, data):   # event: WebhookEvent, data: VerifiedEvent
        ...

A handler runs inside the transaction that marks the event processed, with the event's row locked: its
database writes commit together with `processed`, or not at all (then the worker retries). Anything it does
outside the database must leave after commit (tenancy.workers.send_on_commit) with its own idempotency key.
Register at import time of a module the web and worker processes both load (an AppConfig.ready()).
Raise IgnoreEvent("why") for an event that needs nothing (its writes are undone; the event is marked ignored
with the reason); any other exception is a failure: recorded, retried with backoff, `failed` in the end.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

Handler = Callable[..., None]


class IgnoreEvent(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a handler: this event needs nothing from us (e.g. a refund of a payment that isn't ours)."""

_HANDLERS: dict[str, Handler] = {}


def _name(fn: Handler) -> str:
    return f"{fn.__module__}.{getattr(fn, '__qualname__', repr(fn))}"


def register_handler(event_type: str, fn: Handler | None = None, *, replace: bool = False):
    """Register `fn(*, event, data)` for `event_type` (an EventType or a PSP's own type). One handler per type:
    a second, different one is refused unless `replace` (a re-import of the same function is fine)."""

    def decorate(handler: Handler) -> Handler:
        key = str(event_type)
        existing = _HANDLERS.get(key)
        if existing is not None and _name(existing) != _name(handler) and not replace:
            raise ValueError(f"Webhook type {key!r} is already handled by {_name(existing)}.")
        _HANDLERS[key] = handler
        return handler

    return decorate(fn) if fn is not None else decorate


def unregister_handler(event_type: str) -> None:
    _HANDLERS.pop(str(event_type), None)


def handler_for(event_type: str) -> Handler | None:
    return _HANDLERS.get(event_type)


def registered_types() -> list[str]:
    return sorted(_HANDLERS)


@contextmanager
def handlers_overridden(handlers: Mapping[str, Handler]) -> Iterator[None]:
    """Tests and benchmarks: these handlers (and only these, for their types) while the block runs."""
    saved = {key: _HANDLERS.get(str(key)) for key in handlers}
    _HANDLERS.update({str(k): v for k, v in handlers.items()})
    try:
        yield
    finally:
        for key, previous in saved.items():
            if previous is None:
                _HANDLERS.pop(str(key), None)
            else:
                _HANDLERS[str(key)] = previous
