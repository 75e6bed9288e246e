"""A brokerage's dead-lettered jobs in the operator console: listed on its page, retried or discarded (one, chosen
or all), audited in the public schema; another brokerage's dead letters are never touched; two operators acting
on the same message act on it once; bad input changes nothing."""
from __future__ import annotations

import threading
import time

import dramatiq
import pytest
from django.db import connection

from platform_core.console import deadletters
from tenancy.models import PlatformAuditEvent
from tenancy.workers import send_to_tenant, tenant_actor
from tests.conftest import stop_worker

QUEUE = "console_dead_letter_tests"
ran: list[str] = []


@tenant_actor(queue_name=QUEUE, max_retries=0)
def flaky_job(token: str):
    ran.append(token)
    if token.startswith("fail"):
        raise RuntimeError(f"the PSP said no to {token}")


def _dead(broker, tenants, tokens: dict[str, list[str]]):
    """Send failing jobs for each brokerage and let a real worker dead-letter them."""
    ran.clear()
    w = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=2, worker_timeout=50)
    w.start()
    try:
        for slug, names in tokens.items():
            for name in names:
                send_to_tenant(flaky_job, tenants[slug].schema_name, name)
        broker.join(QUEUE, timeout=10_000)
        w.join()
    finally:
        stop_worker(broker, w)
    ran.clear()


@pytest.fixture
def failed(broker, tenants, django_db_blocker):
    """Requested FIRST by each test: the worker is stopped before the test's transaction opens (stopping a
    dramatiq worker closes the stopping thread's database connection)."""
    with django_db_blocker.unblock():
        _dead(broker, tenants, {"alpha": ["fail-a1", "fail-a2"], "beta": ["fail-b1"]})
        connection.close()
    return broker


def test_the_brokerage_page_lists_its_own_dead_letters_with_the_error(failed, operator_client, tenants):
    page = operator_client.get("/brokerages/alpha/").content.decode()
    assert page.count("data-dead-letter=") == 2
    assert "the PSP said no to fail-a1" in page and "the PSP said no to fail-b1" not in page
    assert "flaky_job" in page


def test_retrying_chosen_messages_queues_them_again_once_and_is_audited(failed, operator_client, tenants, broker):
    [first, second] = deadletters.dead_letters(tenants["alpha"].schema_name)
    response = operator_client.post("/brokerages/alpha/dead-letters/",
                                    {"action": "retry", "message": [first.redis_id], "reason": "PSP fixed"})
    assert response.status_code == 302
    left = deadletters.dead_letters(tenants["alpha"].schema_name)
    assert [d.redis_id for d in left] == [second.redis_id]
    queued = broker.client.hvals(f"{broker.namespace}:{QUEUE}.msgs")
    assert len(queued) == 1 and first.message_id.encode() in queued[0]
    event = PlatformAuditEvent.objects.filter(action="dead_letters.retry").get()
    assert event.brokerage_slug == "alpha" and event.reason == "PSP fixed" and "1 message(s)" in event.new_value
    assert event.actor_label == "ops@brokeros.test" or event.actor is not None
    # the beta brokerage's dead letter is untouched
    assert len(deadletters.dead_letters(tenants["beta"].schema_name)) == 1


def test_a_retried_message_runs_again(failed, operator_client, tenants, broker, worker):
    [one, _] = deadletters.dead_letters(tenants["alpha"].schema_name)
    operator_client.post("/brokerages/alpha/dead-letters/", {"action": "retry", "message": [one.redis_id]})
    deadline = time.monotonic() + 10
    while not ran and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ran) == 1 and ran[0].startswith("fail-a")  # it ran (and, still failing, was dead-lettered again)


def test_discard_all_removes_only_this_brokerages_messages(failed, operator_client, tenants):
    response = operator_client.post("/brokerages/alpha/dead-letters/", {"action": "discard", "all": "1"})
    assert response.status_code == 302
    assert deadletters.dead_letters(tenants["alpha"].schema_name) == []
    assert len(deadletters.dead_letters(tenants["beta"].schema_name)) == 1
    assert PlatformAuditEvent.objects.filter(action="dead_letters.discard", brokerage_slug="alpha").count() == 1


def test_another_brokerages_message_ids_are_ignored(failed, operator_client, tenants):
    [beta_msg] = deadletters.dead_letters(tenants["beta"].schema_name)
    operator_client.post("/brokerages/alpha/dead-letters/", {"action": "discard", "message": [beta_msg.redis_id]})
    assert len(deadletters.dead_letters(tenants["beta"].schema_name)) == 1
    assert not PlatformAuditEvent.objects.filter(action__startswith="dead_letters").exists()


def test_two_operators_retrying_the_same_message_queue_it_once(failed, tenants, broker, db, monkeypatch):
    [one, _] = deadletters.dead_letters(tenants["alpha"].schema_name)
    results = []
    audited = []  # the threads' own connections would commit audit rows outside this test's transaction
    monkeypatch.setattr(deadletters, "platform_audit", lambda **kw: audited.append(kw))

    def act():
        results.append(deadletters.dead_letters_act(actor=None, brokerage=tenants["alpha"], action="retry",
                                                    ids=[one.redis_id]))

    threads = [threading.Thread(target=act) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]
    assert len(audited) == 1, "only the operator who acted is audited"
    assert broker.client.hlen(f"{broker.namespace}:{QUEUE}.msgs") == 1


@pytest.mark.parametrize("data, message", [
    ({"action": "explode", "all": "1"}, "Unknown action &#x27;explode&#x27;"),
    ({"action": "retry"}, "Choose at least one message"),
])
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(failed, operator_client, tenants, data,
                                                                        message):
    response = operator_client.post("/brokerages/alpha/dead-letters/", data, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert len(deadletters.dead_letters(tenants["alpha"].schema_name)) == 2
