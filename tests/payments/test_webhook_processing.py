"""Processing the inbox: each genuine event's handler runs at most once (row lock + status), its writes commit with
`processed` or not at all, failures are recorded and retried, unknown types are ignored; a real dramatiq worker
on real Redis turns 1,000 replays of one event into one row and one handler run."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.brokerage.models import PaymentProviderConfig
from tenant_apps.payments import services
from tenant_apps.payments.adapters.base import EventType, VerifiedEvent
from tenant_apps.payments.models import WebhookEvent, WebhookStatus
from tenant_apps.payments.tasks import WEBHOOK_QUEUE, webhook_process
from tenant_apps.payments.webhooks import handlers_overridden, register_handler, unregister_handler
from tests.conftest import host_of
from tests.payments.conftest import event_body, inbox, signature_header, wait_for

URL = "/webhooks/psp/sandbox/"


def receive(brokerage, body: bytes, secret: str) -> services.WebhookReceipt:
    with tenant_context(brokerage):
        return services.webhook_receive(provider_code="sandbox", raw_body=body,
                                        headers={"Stripe-Signature": signature_header(body, secret)})


class Recorder:
    """A handler that remembers every call (thread-safe: the worker calls it from its threads)."""

    def __init__(self, fail_times: int = 0):
        self.calls: list[tuple[str, str, VerifiedEvent]] = []
        self.fail_times = fail_times
        self._lock = threading.Lock()

    def __call__(self, *, event, data):
        with self._lock:
            self.calls.append((connection.schema_name, event.event_id, data))
            if len(self.calls) <= self.fail_times:
                raise RuntimeError(f"handler failure #{len(self.calls)}")


# --- the service, inside the test's transaction -------------------------------------------------------------

def test_the_handler_gets_the_stored_event_and_its_parsed_data_once(webhook_secrets, tenants):
    alpha, recorder = tenants["alpha"], Recorder()
    receipt = receive(alpha, event_body(event_id="evt_p1", reference="DEP-9", amount=2500), webhook_secrets["alpha"])
    with tenant_context(alpha), handlers_overridden({EventType.PAYMENT_SUCCEEDED: recorder}):
        assert services.webhook_event_process(event_pk=receipt.event_pk) == "processed"
        assert services.webhook_event_process(event_pk=receipt.event_pk) == "skipped:processed"
        row = WebhookEvent.objects.get(pk=receipt.event_pk)
    [(schema, event_id, data)] = recorder.calls
    assert (schema, event_id, data.reference, str(data.amount)) == ("alpha", "evt_p1", "DEP-9", "25.00")
    assert row.status == WebhookStatus.PROCESSED and row.processed_at and row.processing_attempts == 1


def test_an_event_nobody_handles_is_marked_ignored(webhook_secrets, tenants):
    alpha = tenants["alpha"]
    receipt = receive(alpha, event_body(event_type="payment_intent.created"), webhook_secrets["alpha"])
    with tenant_context(alpha):
        assert services.webhook_event_process(event_pk=receipt.event_pk) == "ignored"
        assert WebhookEvent.objects.get(pk=receipt.event_pk).status == WebhookStatus.IGNORED


def test_a_failing_handler_undoes_its_writes_and_the_event_waits_for_a_scheduled_retry(webhook_secrets, tenants,
                                                                                       broker):
    alpha = tenants["alpha"]

    def half_done(*, event, data):
        PaymentProviderConfig.objects.filter(code="sandbox").update(display_name="half-done write")
        raise RuntimeError("ledger unavailable")

    receipt = receive(alpha, event_body(), webhook_secrets["alpha"])
    with tenant_context(alpha), handlers_overridden({EventType.PAYMENT_SUCCEEDED: half_done}):
        before = timezone.now()
        assert services.webhook_event_process(event_pk=receipt.event_pk) == "retry"
        row = WebhookEvent.objects.get(pk=receipt.event_pk)
        assert (row.status, row.processing_attempts, row.processed_at) == (WebhookStatus.RECEIVED, 1, None)
        assert "RuntimeError: ledger unavailable" in row.last_error
        assert before + timedelta(seconds=0.9) < row.next_attempt_at < before + timedelta(seconds=3)
        assert PaymentProviderConfig.objects.get(code="sandbox").display_name != "half-done write"
    assert _queued(broker, delayed=True) == [("webhook_process", "alpha", [receipt.event_pk])]


def test_an_event_that_keeps_failing_is_marked_failed_for_a_person(webhook_secrets, tenants, broker):
    alpha = tenants["alpha"]
    receipt = receive(alpha, event_body(), webhook_secrets["alpha"])
    with tenant_context(alpha), handlers_overridden({EventType.PAYMENT_SUCCEEDED: Recorder(fail_times=99)}):
        outcomes = [services.webhook_event_process(event_pk=receipt.event_pk)
                    for _ in range(services.WEBHOOK_MAX_ATTEMPTS + 1)]
        row = WebhookEvent.objects.get(pk=receipt.event_pk)
    assert outcomes == ["retry"] * (services.WEBHOOK_MAX_ATTEMPTS - 1) + ["failed", "skipped:failed"]
    assert (row.status, row.processing_attempts, row.next_attempt_at) == (
        WebhookStatus.FAILED, services.WEBHOOK_MAX_ATTEMPTS, None)


def test_a_body_that_cannot_be_parsed_any_more_fails_at_once(webhook_secrets, tenants, broker):
    alpha = tenants["alpha"]
    receipt = receive(alpha, event_body(), webhook_secrets["alpha"])
    with tenant_context(alpha), handlers_overridden({EventType.PAYMENT_SUCCEEDED: Recorder()}):
        WebhookEvent.objects.filter(pk=receipt.event_pk).update(raw_body=b"{corrupted")
        assert services.webhook_event_process(event_pk=receipt.event_pk) == "failed"


def test_the_drain_runs_every_due_event_oldest_first_and_leaves_backing_off_ones(webhook_secrets, tenants, broker):
    alpha, recorder = tenants["alpha"], Recorder()
    pks = [receive(alpha, event_body(event_id=f"evt_d{i}"), webhook_secrets["alpha"]).event_pk for i in range(5)]
    with tenant_context(alpha), handlers_overridden({EventType.PAYMENT_SUCCEEDED: recorder}):
        WebhookEvent.objects.filter(pk=pks[1]).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
        outcomes = services.webhook_inbox_drain(first_pk=pks[3])
        statuses = dict(WebhookEvent.objects.values_list("pk", "status"))
    assert [event_id for _, event_id, _ in recorder.calls] == ["evt_d3", "evt_d0", "evt_d2", "evt_d4"]
    assert outcomes == {"processed": 4}
    assert statuses[pks[1]] == WebhookStatus.RECEIVED


def test_a_drain_hands_over_to_a_new_message_when_its_time_is_up(webhook_secrets, tenants, broker):
    alpha, recorder = tenants["alpha"], Recorder()
    pks = [receive(alpha, event_body(), webhook_secrets["alpha"]).event_pk for _ in range(3)]
    with tenant_context(alpha), handlers_overridden({EventType.PAYMENT_SUCCEEDED: recorder}):
        outcomes = services.webhook_inbox_drain(first_pk=pks[0], budget_s=0)
    assert outcomes == {"processed": 1, "handed_over": 1}
    assert _queued(broker) == [("webhook_process", "alpha", [pks[1]])]


def test_wake_ups_are_coalesced_until_a_run_starts(webhook_secrets, tenants, broker, django_capture_on_commit_callbacks):
    alpha = tenants["alpha"]
    with django_capture_on_commit_callbacks(execute=True):
        first = receive(alpha, event_body(), webhook_secrets["alpha"]).event_pk
        receive(alpha, event_body(), webhook_secrets["alpha"])
        receive(alpha, event_body(), webhook_secrets["alpha"])
    assert _queued(broker) == [("webhook_process", "alpha", [first])]  # one message for three events
    with tenant_context(alpha):
        assert services.webhook_inbox_drain() == {"ignored": 3}  # a run came: the next delivery wakes a new one
    with django_capture_on_commit_callbacks(execute=True):
        fourth = receive(alpha, event_body(), webhook_secrets["alpha"]).event_pk
    assert sorted(args[0] for _, _, args in _queued(broker)) == sorted([first, fourth])


def test_the_sweep_wakes_processing_for_events_that_waited_too_long(webhook_secrets, tenants, broker):
    alpha = tenants["alpha"]
    now, old = timezone.now(), timezone.now() - timedelta(minutes=2)
    made = {name: receive(alpha, event_body(), webhook_secrets["alpha"]).event_pk
            for name in ("stuck", "stuck_too", "fresh", "tried_just_now", "backing_off", "done")}
    with tenant_context(alpha):
        WebhookEvent.objects.exclude(pk=made["fresh"]).update(received_at=old)
        WebhookEvent.objects.filter(pk=made["tried_just_now"]).update(last_attempt_at=now)
        WebhookEvent.objects.filter(pk=made["backing_off"]).update(next_attempt_at=now + timedelta(minutes=1))
        WebhookEvent.objects.filter(pk=made["done"]).update(status=WebhookStatus.PROCESSED, processed_at=old)
        assert services.webhooks_requeue_stuck() == 2
    assert _queued(broker) == [("webhook_process", "alpha", [made["stuck"]])]  # one run drains both


def _queued(broker, *, delayed: bool = False) -> list[tuple[str, str, list]]:
    import json

    from platform_core.redis import redis_client

    queue = f"{WEBHOOK_QUEUE}.DQ" if delayed else WEBHOOK_QUEUE
    raw = redis_client().hvals(f"{broker.namespace}:{queue}.msgs")
    return [(m["actor_name"], m["options"].get("tenant_schema"), m["args"]) for m in map(json.loads, raw)]


def test_handlers_register_once_per_type():
    def first(**kwargs): ...

    def second(**kwargs): ...

    register_handler("test.only", first)
    try:
        register_handler("test.only", first)  # a re-import registers the same function again: fine
        with pytest.raises(ValueError, match="already handled"):
            register_handler("test.only", second)
        register_handler("test.only", second, replace=True)
    finally:
        unregister_handler("test.only")


def test_the_callback_url_is_the_brokerages_own_host(db, tenants, settings):
    settings.PLATFORM_SCHEME, settings.PLATFORM_PORT = "https", "443"
    for brokerage in tenants.values():
        with tenant_context(brokerage):
            assert services.webhook_url(provider_code="sandbox") == f"https://{host_of(brokerage)}/webhooks/psp/sandbox/"


# --- a real worker on real Redis, committed rows ------------------------------------------------------------

def _drain(broker, worker):
    broker.join(WEBHOOK_QUEUE, timeout=30_000)
    worker.join()


def _settled(brokerage, pk):
    [row] = inbox(brokerage, pk=pk)
    return row if row.status != WebhookStatus.RECEIVED else None


def test_a_real_worker_marks_events_processed_exactly_once(committed_payments, tenants, broker, worker):
    alpha, beta, recorder = tenants["alpha"], tenants["beta"], Recorder()
    with handlers_overridden({EventType.PAYMENT_SUCCEEDED: recorder}):
        a = receive(alpha, event_body(event_id="evt_w_alpha"), committed_payments["alpha"])
        b = receive(beta, event_body(event_id="evt_w_beta"), committed_payments["beta"])
        # At-least-once delivery: the same message several times, and concurrently on two worker threads.
        for _ in range(5):
            with tenant_context(alpha):
                webhook_process.send(a.event_pk)
        _drain(broker, worker)
    assert sorted((schema, event_id) for schema, event_id, _ in recorder.calls) == [
        ("alpha", "evt_w_alpha"), ("beta", "evt_w_beta")]
    for brokerage, receipt in ((alpha, a), (beta, b)):
        [row] = inbox(brokerage, pk=receipt.event_pk)
        assert (row.status, row.processing_attempts) == (WebhookStatus.PROCESSED, 1)


def test_a_thousand_replays_of_one_event_make_one_row_and_one_handler_run(committed_payments, tenants, broker,
                                                                          worker):
    alpha, recorder = tenants["alpha"], Recorder()
    body = event_body(event_id="evt_replayed")
    client = Client(HTTP_HOST=host_of(alpha))
    with handlers_overridden({EventType.PAYMENT_SUCCEEDED: recorder}):
        statuses = {client.post(URL, data=body, content_type="application/json",
                                HTTP_STRIPE_SIGNATURE=signature_header(body, committed_payments["alpha"])).status_code
                    for _ in range(1000)}
        _drain(broker, worker)
    assert statuses == {200}
    [row] = inbox(alpha, event_id="evt_replayed")
    assert (row.status, row.processing_attempts) == (WebhookStatus.PROCESSED, 1)
    assert [event_id for _, event_id, _ in recorder.calls] == ["evt_replayed"]


def test_a_handler_that_fails_once_is_retried_by_the_worker_and_succeeds_once(committed_payments, tenants, broker,
                                                                              worker):
    alpha, recorder = tenants["alpha"], Recorder(fail_times=1)
    with handlers_overridden({EventType.PAYMENT_SUCCEEDED: recorder}):
        receipt = receive(alpha, event_body(event_id="evt_flaky"), committed_payments["alpha"])
        row = wait_for(lambda: _settled(alpha, receipt.event_pk), timeout_s=15)  # the retry comes ~1 s later
    assert (row.status, row.processing_attempts, row.last_error) == (WebhookStatus.PROCESSED, 2, "")
    assert len(recorder.calls) == 2  # one failed run (rolled back) + one that committed


def test_a_handler_can_declare_an_event_needs_nothing_and_its_writes_are_undone(webhook_secrets, tenants):
    from tenant_apps.payments.webhooks import IgnoreEvent

    alpha = tenants["alpha"]

    def not_ours(*, event, data):
        PaymentProviderConfig.objects.filter(code="sandbox").update(display_name="should not stay")
        raise IgnoreEvent(f"no deposit with reference {data.reference}")

    receipt = receive(alpha, event_body(reference="DEP-UNKNOWN"), webhook_secrets["alpha"])
    with tenant_context(alpha), handlers_overridden({EventType.PAYMENT_SUCCEEDED: not_ours}):
        assert services.webhook_event_process(event_pk=receipt.event_pk) == "ignored"
        row = WebhookEvent.objects.get(pk=receipt.event_pk)
        assert (row.status, row.last_error) == (WebhookStatus.IGNORED, "no deposit with reference DEP-UNKNOWN")
        assert PaymentProviderConfig.objects.get(code="sandbox").display_name != "should not stay"


def test_a_psp_outage_inside_a_handler_is_retried_not_given_up(webhook_secrets, tenants, broker):
    from tenant_apps.payments.adapters.base import PspUnavailable

    alpha = tenants["alpha"]

    def psp_down(*, event, data):
        raise PspUnavailable("sandbox PSP unreachable")

    receipt = receive(alpha, event_body(), webhook_secrets["alpha"])
    with tenant_context(alpha), handlers_overridden({EventType.PAYMENT_SUCCEEDED: psp_down}):
        assert services.webhook_event_process(event_pk=receipt.event_pk) == "retry"
        assert WebhookEvent.objects.get(pk=receipt.event_pk).status == WebhookStatus.RECEIVED
