"""The durable webhook inbox: intake (verify, store raw in ONE INSERT, wake the worker after commit), processing
(each event at most once, row-locked, its handler's writes committed with `processed`), and the sweeps.

Waking is coalesced: after its INSERT commits, a delivery sets a per-brokerage Redis flag (SET NX) and only the
one that set it sends a message (`webhook_process(event_pk)`). That run clears the flag first, processes its
event, then drains every other due event of the brokerage, oldest first, within a time budget, and hands over
to a fresh message when the budget is spent (one brokerage's flood never holds a worker thread for long).
A delivery stored after the flag was cleared sets it again, so no event waits for a wake-up that never comes;
the periodic sweep covers lost messages and Redis outages.
"""
from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from tenancy.context import require_tenant
from tenancy.workers import TENANT_OPTION
from tenant_apps.brokerage.models import PaymentProviderConfig
from tenant_apps.payments.adapters import WEBHOOK_KINDS, adapter_class
from tenant_apps.payments.adapters.base import Credentials, InvalidPayload, InvalidSignature, PspError
from tenant_apps.payments.adapters.stripe_scheme import header_value
from tenant_apps.payments.errors import UnknownProvider
from tenant_apps.payments.models import WebhookEvent, WebhookStatus
from tenant_apps.payments.services.credentials import psp_credentials_of
from tenant_apps.payments.webhooks import IgnoreEvent, handler_for

log = logging.getLogger(__name__)

# PSP events are a few KB (Stripe's largest, with expanded line items, stay well under this).
WEBHOOK_MAX_BODY_BYTES = int(getattr(settings, "PAYMENTS_WEBHOOK_MAX_BODY_BYTES", 256 * 1024))
WEBHOOK_MAX_ATTEMPTS = 10           # handler failures before `failed` (a person looks at it)
WEBHOOK_RETRY_BASE_S = 1.0          # 1, 2, 4, … s between handler attempts, at most an hour
WEBHOOK_STUCK_AFTER_S = 60          # the sweep wakes the worker for due events older than this
WEBHOOK_REJECTED_KEPT_DAYS = 90     # forensic copies of rejected deliveries
DRAIN_BUDGET_S = 5.0                # one run's share of a worker thread before it hands over
DRAIN_BATCH = 200
WAKE_FLAG_TTL_S = 15                # a lost wake-up message delays processing at most this long (or a sweep)
TARGET_CACHE_TTL_S = 10.0           # decrypted secrets kept per process; a rotation is seen at the first miss
# What is kept of the request headers: enough to re-verify and investigate, nothing like cookies.
KEPT_HEADERS = ("Stripe-Signature", "Content-Type", "Content-Length", "User-Agent", "X-Request-Id",
                "X-Forwarded-For", "Idempotency-Key")


# --- where deliveries go: the connection and its secrets, cached briefly per process -----------------------

@dataclass(frozen=True)
class WebhookTarget:
    code: str
    kind: str
    settings: dict
    credentials: Credentials

    def adapter(self):
        return adapter_class(self.kind)(provider_code=self.code, settings=self.settings, credentials=self.credentials)


_targets: dict[tuple[str, str], tuple[float, WebhookTarget]] = {}


def forget_webhook_target(schema: str, provider_code: str) -> None:
    _targets.pop((schema, provider_code), None)


def _webhook_target(provider_code: str, *, fresh: bool = False) -> WebhookTarget:
    key = (connection.schema_name, provider_code)
    cached = _targets.get(key)
    if cached and not fresh and cached[0] > time.monotonic():
        return cached[1]
    config = PaymentProviderConfig.objects.select_related("credentials").filter(code=provider_code).first()
    # A disabled connection still hears about its past payments (refunds, disputes): only unknown codes and
    # kinds that never call us are refused.
    if config is None or config.kind not in WEBHOOK_KINDS:
        _targets.pop(key, None)
        raise UnknownProvider(f"No payment provider '{provider_code}' takes webhooks here.")
    target = WebhookTarget(code=config.code, kind=config.kind, settings=dict(config.settings),
                           credentials=psp_credentials_of(config))
    _targets[key] = (time.monotonic() + TARGET_CACHE_TTL_S, target)
    return target


# --- intake -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WebhookReceipt:
    accepted: bool           # genuine: stored now or before (a duplicate)
    duplicate: bool = False
    event_pk: int | None = None
    code: str = ""           # why it was refused
    message: str = ""


_INSERT_FIELDS = ("provider_code", "provider_kind", "event_id", "event_type", "provider_event_type",
                  "provider_payment_id", "reference", "raw_body", "headers", "remote_addr", "signature_valid",
                  "signature_error", "received_at", "processing_attempts", "last_error", "status")
_sql: dict[str, str] = {}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _column(field: str) -> str:
    return _q(WebhookEvent._meta.get_field(field).column)


def inbox_insert_sql() -> str:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: with no conflict target, the partial unique index on
    (provider, event id) of genuine events is the arbiter; rejected rows never conflict."""
    if "insert" not in _sql:
        values = ", ".join("%s::jsonb" if name == "headers" else "%s" for name in _INSERT_FIELDS)
        _sql["insert"] = (f"INSERT INTO {_q(WebhookEvent._meta.db_table)} "
                          f"({', '.join(_column(n) for n in _INSERT_FIELDS)}) VALUES ({values}) "
                          f"ON CONFLICT DO NOTHING RETURNING {_column('id')}")
    return _sql["insert"]


def _claimed(raw_body: bytes) -> tuple[str, str]:
    """The id and type a rejected body claims, for forensics only (never trusted)."""
    try:
        body = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("id") or "")[:255], str(body.get("type") or "")[:100]


def _verify(target: WebhookTarget, provider_code: str, raw_body: bytes, headers):
    try:
        return target.adapter().verify_webhook(raw_body=raw_body, headers=headers)
    except InvalidSignature:
        fresh = _webhook_target(provider_code, fresh=True)
        if fresh.credentials == target.credentials:
            raise
        # The secrets changed since they were cached (a rotation in another process): judge by the new ones.
        return fresh.adapter().verify_webhook(raw_body=raw_body, headers=headers)


def webhook_receive(*, provider_code: str, raw_body: bytes, headers, remote_addr: str = "") -> WebhookReceipt:
    """Verify a PSP delivery and store it raw in ONE statement; wake processing after commit.

    Genuine: stored `received` (or found already stored: a duplicate, absorbed by the unique index) → accepted.
    Bad signature or unreadable body: stored `rejected` for forensics, never processed → refused.
    Raises UnknownProvider for a code this brokerage doesn't have.
    """
    require_tenant()
    target = _webhook_target(provider_code)
    data, signature_valid, code, error = None, False, "", ""
    try:
        data = _verify(target, provider_code, raw_body, headers)
        signature_valid = True
    except InvalidSignature as exc:
        code, error = exc.code, exc.message
    except InvalidPayload as exc:
        signature_valid, code, error = True, exc.code, exc.message
    except UnknownProvider:
        raise
    except Exception as exc:  # noqa: BLE001 - garbage must never become a 500: it is stored and refused
        log.warning("webhook for %s could not be verified", provider_code, exc_info=True)
        code, error = InvalidSignature.code, f"could not be verified: {exc.__class__.__name__}"

    kept_headers = {name: value[:1000] for name in KEPT_HEADERS if (value := header_value(headers, name))}
    if data is not None:
        event_id, event_type, provider_type = data.event_id, str(data.type), data.provider_type
        payment_id, reference, status = data.provider_payment_id, data.reference, WebhookStatus.RECEIVED
    else:
        (event_id, provider_type), event_type = _claimed(raw_body), ""
        payment_id, reference, status = "", "", WebhookStatus.REJECTED
    params = [target.code, target.kind, event_id, event_type[:100], provider_type[:100], payment_id[:255],
              reference[:100], raw_body, json.dumps(kept_headers), remote_addr[:45], signature_valid,
              error[:255], timezone.now(), 0, "", status]
    with connection.cursor() as cursor:
        cursor.execute(inbox_insert_sql(), params)
        row = cursor.fetchone()
    pk = row[0] if row else None
    if data is None:
        return WebhookReceipt(accepted=False, event_pk=pk, code=code, message=error)
    if pk is not None:
        # Bound now, run after commit (immediately in autocommit): the brokerage is a value, not the connection.
        transaction.on_commit(partial(wake_processing, connection.schema_name, pk))
    return WebhookReceipt(accepted=True, duplicate=pk is None, event_pk=pk)


# --- waking the worker ---------------------------------------------------------------------------------------

def _wake_key(schema: str) -> str:
    from platform_core.redis import key

    return key("payments", "webhooks-wake", schema)


def wake_processing(schema: str, event_pk: int, *, force: bool = False) -> bool:
    """Send `webhook_process(event_pk)` to the brokerage unless a run is already on its way. Never raises:
    the event is durable, and the sweep wakes the worker if Redis was down. Returns whether it sent."""
    from platform_core.redis import redis_client
    from tenant_apps.payments.tasks import webhook_process

    try:
        if force or redis_client().set(_wake_key(schema), event_pk, nx=True, ex=WAKE_FLAG_TTL_S):
            webhook_process.send_with_options(args=(event_pk,), **{TENANT_OPTION: schema})
            return True
    except Exception:  # noqa: BLE001
        log.warning("could not wake webhook processing for %s (event %s); the sweep will", schema, event_pk,
                    exc_info=True)
    return False


def _clear_wake(schema: str) -> None:
    from platform_core.redis import redis_client

    try:
        redis_client().delete(_wake_key(schema))
    except Exception:  # noqa: BLE001 - worst case one more message arrives later
        log.warning("could not clear the webhook wake flag of %s", schema, exc_info=True)


# --- processing ----------------------------------------------------------------------------------------------

def _claim_event_sql() -> str:
    """Lock the event if nobody holds it (SKIP LOCKED) and it is still waiting, mark it processed and return it: one
    statement instead of SELECT … FOR UPDATE then UPDATE. Inside the processing transaction, so a handler's failure
    rolls the mark back with the handler's writes."""
    if "claim" not in _sql:
        table = _q(WebhookEvent._meta.db_table)
        fields = list(WebhookEvent._meta.concrete_fields)
        _sql["claim_attnames"] = [f.attname for f in fields]
        _sql["claim"] = (f"UPDATE {table} SET {_column('status')} = %s, {_column('processed_at')} = %s, "
                         f"{_column('last_attempt_at')} = %s, "
                         f"{_column('processing_attempts')} = {_column('processing_attempts')} + 1, "
                         f"{_column('last_error')} = '', {_column('next_attempt_at')} = NULL "
                         f"WHERE {_column('id')} = (SELECT {_column('id')} FROM {table} WHERE {_column('id')} = %s "
                         f"AND {_column('status')} = %s FOR UPDATE SKIP LOCKED) "
                         f"RETURNING {', '.join(_q(f.column) for f in fields)}")
    return _sql["claim"]


def _claim_event(event_pk: int, now) -> WebhookEvent | None:
    """The event, locked and marked processed in this transaction (as the handler will see it: `received`), or
    None when it is held by another worker, gone, or no longer waiting."""
    with connection.cursor() as cursor:
        cursor.execute(_claim_event_sql(), [WebhookStatus.PROCESSED, now, now, event_pk, WebhookStatus.RECEIVED])
        row = cursor.fetchone()
    if row is None:
        return None
    event = WebhookEvent.from_db(connection.alias, _sql["claim_attnames"], row)
    event.status = WebhookStatus.RECEIVED  # what the handler acts on; the row already says processed
    return event


def _not_claimed(event_pk: int) -> str:
    status = WebhookEvent.objects.filter(pk=event_pk).values_list("status", flat=True).first()
    if status is None:
        return "missing"
    return "busy" if status == WebhookStatus.RECEIVED else f"skipped:{status}"


def _retry_delay_s(attempts: int) -> float:
    return min(3600.0, WEBHOOK_RETRY_BASE_S * 2 ** max(0, attempts - 1))


def _record_failure(event_pk: int, exc: Exception, *, permanent: bool) -> str:
    """After the rollback: count the attempt, keep the error, and either schedule the retry or give up."""
    now = timezone.now()
    with transaction.atomic():
        # Locked again (waiting this time): another worker may have processed it since our rollback.
        event = WebhookEvent.objects.select_for_update().filter(pk=event_pk).defer("raw_body").first()
        if event is None or event.status != WebhookStatus.RECEIVED:
            return f"skipped:{event.status if event else 'missing'}"
        event.processing_attempts += 1
        event.last_attempt_at = now
        event.last_error = f"{exc.__class__.__name__}: {exc}"[:4000]
        if permanent or event.processing_attempts >= WEBHOOK_MAX_ATTEMPTS:
            event.status, event.next_attempt_at = WebhookStatus.FAILED, None
            log.error("webhook event %s failed for good after %d attempt(s): %s", event_pk,
                      event.processing_attempts, event.last_error)
        else:
            delay = _retry_delay_s(event.processing_attempts)
            event.next_attempt_at = now + timedelta(seconds=delay)
        event.save(update_fields=["processing_attempts", "last_attempt_at", "last_error", "status",
                                  "next_attempt_at"])
    if event.status == WebhookStatus.FAILED:
        return "failed"
    from tenant_apps.payments.tasks import webhook_process

    try:
        webhook_process.send_with_options(args=(event_pk,), delay=int(delay * 1000),
                                          **{TENANT_OPTION: connection.schema_name})
    except Exception:  # noqa: BLE001 - the sweep retries due events anyway
        log.warning("could not schedule the retry of webhook event %s", event_pk, exc_info=True)
    return "retry"


def _record_ignored(event_pk: int, reason: str) -> str:
    now = timezone.now()
    updated = WebhookEvent.objects.filter(pk=event_pk, status=WebhookStatus.RECEIVED).update(
        status=WebhookStatus.IGNORED, processed_at=now, last_attempt_at=now, last_error=reason[:4000],
        processing_attempts=F("processing_attempts") + 1, next_attempt_at=None)
    return "ignored" if updated else "skipped:gone"


class _Unreadable(Exception):
    """The stored body no longer maps to an event (an adapter changed underneath it)."""


def webhook_event_process(*, event_pk: int) -> str:
    """Run the handler of one stored event, at most once. The row is locked (SKIP LOCKED: another worker holding
    it is left alone), only `received` events run, and the handler's writes commit together with `processed`.
    A failing handler rolls all of it back; the attempt and error are then recorded and a retry scheduled
    with exponential backoff (`failed` after WEBHOOK_MAX_ATTEMPTS). Returns what happened."""
    require_tenant()
    try:
        with transaction.atomic():
            event = _claim_event(event_pk, timezone.now())
            if event is None:
                return _not_claimed(event_pk)
            handler = handler_for(event.event_type)
            if handler is None:
                WebhookEvent.objects.filter(pk=event_pk).update(status=WebhookStatus.IGNORED)
                return str(WebhookStatus.IGNORED)
            try:
                data = adapter_class(event.provider_kind)(provider_code=event.provider_code).parse_event(
                    bytes(event.raw_body))
            except (InvalidPayload, PspError, LookupError) as exc:
                raise _Unreadable(f"{exc.__class__.__name__}: {exc}") from exc
            handler(event=event, data=data)
            return str(WebhookStatus.PROCESSED)
    except IgnoreEvent as exc:
        return _record_ignored(event_pk, str(exc))
    except _Unreadable as exc:
        return _record_failure(event_pk, exc, permanent=True)  # retrying cannot make the body readable
    except Exception as exc:  # noqa: BLE001 - a handler's failure is the event's, recorded and retried
        log.warning("webhook event %s: handler failed", event_pk, exc_info=True)
        return _record_failure(event_pk, exc, permanent=False)


def _due_ids_sql() -> str:
    if "due" not in _sql:
        _sql["due"] = (f"SELECT {_column('id')} FROM {_q(WebhookEvent._meta.db_table)} "
                       f"WHERE {_column('status')} = 'received' AND {_column('id')} > %s "
                       f"AND ({_column('next_attempt_at')} IS NULL OR {_column('next_attempt_at')} <= %s) "
                       f"ORDER BY {_column('id')} LIMIT %s")
    return _sql["due"]


def webhook_inbox_drain(*, first_pk: int | None = None, budget_s: float = DRAIN_BUDGET_S) -> Counter:
    """Process `first_pk` (the event that woke us), then every other due event of this brokerage, oldest first,
    until none is left or the budget is spent (then a fresh message carries on). Returns outcome counts."""
    require_tenant()
    schema = connection.schema_name
    _clear_wake(schema)  # from here on, a newly stored event wakes a new run: none can be missed
    outcomes: Counter = Counter()
    if first_pk is not None:
        outcomes[webhook_event_process(event_pk=first_pk)] += 1
    deadline = time.monotonic() + budget_s
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(_due_ids_sql(), [after, timezone.now(), DRAIN_BATCH])
            pks = [row[0] for row in cursor.fetchall()]
        if not pks:
            return outcomes
        for pk in pks:
            if time.monotonic() >= deadline:
                wake_processing(schema, pk)  # hand over: other brokerages' messages run in between
                outcomes["handed_over"] += 1
                return outcomes
            if pk != first_pk:
                outcomes[webhook_event_process(event_pk=pk)] += 1
            after = pk


# --- sweeps --------------------------------------------------------------------------------------------------

def webhooks_requeue_stuck(*, older_than_s: int = WEBHOOK_STUCK_AFTER_S) -> int:
    """Wake processing when due events have waited too long (a lost message, Redis down at intake, a worker
    killed mid-run). Returns how many were waiting; one message drains them all."""
    require_tenant()
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_s)
    stuck = (WebhookEvent.objects.filter(status=WebhookStatus.RECEIVED, received_at__lt=cutoff)
             .exclude(next_attempt_at__gt=now).exclude(last_attempt_at__gte=cutoff)
             .order_by("pk").values_list("pk", flat=True))
    pks = list(stuck[:1000])
    if pks:
        wake_processing(connection.schema_name, pks[0], force=True)
        log.info("%d webhook event(s) were waiting; woke processing", len(pks))
    return len(pks)


def webhooks_purge_rejected(*, older_than_days: int = WEBHOOK_REJECTED_KEPT_DAYS) -> int:
    """Forensic copies of rejected deliveries are kept for a while, not forever (anyone can send them)."""
    require_tenant()
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = WebhookEvent.objects.filter(status=WebhookStatus.REJECTED, received_at__lt=cutoff).delete()
    return deleted
