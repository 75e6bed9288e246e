"""Every queue page and its polled fragment answer in the same number of queries with 1 item and with 200."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.queues.conftest import fill

QUEUES = ("kyc", "deposits", "withdrawals", "reassignments", "leverage", "discrepancies")
BOUND = 20


def _count(client, url) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[-800:]
    return len(ctx.captured_queries), response.content


@pytest.mark.parametrize("code", QUEUES)
@pytest.mark.parametrize("fragment", [False, True], ids=["page", "fragment"])
def test_a_queue_answers_in_the_same_number_of_queries_with_1_and_200_rows(floor, http, code, fragment,
                                                                            django_assert_max_num_queries):
    manager = http(floor, "manager")
    url = f"/backoffice/queues/{code}/" + ("rows/" if fragment else "")
    manager.get(url)  # the session's first request does its one-off work (activity stamp, device)
    with tenant_context(floor.brokerage):
        first = fill(code, 1)
    one, body = _count(manager, url)
    assert body.count(b"data-item=") == 1
    with tenant_context(floor.brokerage):
        fill(code, 199)
    many, body = _count(manager, url)
    assert body.count(b"data-item=") == 200
    assert f'data-item="{first[0]}"'.encode() in body
    assert many == one, f"{code}: {one} queries with 1 row, {many} with 200 (N+1)"
    with django_assert_max_num_queries(BOUND):
        manager.get(url)


def test_the_index_counts_every_queue_in_a_bounded_number_of_queries(floor, http, django_assert_max_num_queries):
    manager = http(floor, "manager")
    manager.get("/backoffice/queues/")
    with tenant_context(floor.brokerage):
        for code in QUEUES:
            fill(code, 3)
        fill("withdrawals", 2, since=timezone.now() - timedelta(days=2))  # past the 24 h SLA
    with django_assert_max_num_queries(BOUND):
        response = manager.get("/backoffice/queues/")
    body = response.content.decode()
    for code in QUEUES:
        count, breached = (5, 2) if code == "withdrawals" else (3, 0)
        assert f'data-queue="{code}" data-count="{count}" data-breached="{breached}"' in body, code
