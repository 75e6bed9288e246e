"""Two reviewers claiming the same item at the same moment, each in its own transaction: the unique constraint on
(queue, item) lets exactly one win; the other is told who holds it. Committed data, real threads."""
from __future__ import annotations

import threading
import uuid

from django.db import connection
from django.db.models import ProtectedError
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD


def _race(brokerage, *calls):
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i, fn):
        try:
            with tenant_context(brokerage):
                barrier.wait(10)
                results[i] = fn()
        except Exception as exc:  # noqa: BLE001 — the loser's refusal is the point
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_reviewers_claiming_one_item_at_once_one_wins(tenants, committed_db):
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.queues.errors import QueueError
    from tenant_apps.queues.models import QueueClaim
    from tenant_apps.queues.services import queue_item_claim

    alpha, tag = tenants["alpha"], uuid.uuid4().hex[:6]
    with tenant_context(alpha):
        a = staff_user_create(email=f"race-a.{tag}@alpha.test", password=PASSWORD, role_codes=["compliance"])[0]
        b = staff_user_create(email=f"race-b.{tag}@alpha.test", password=PASSWORD, role_codes=["compliance"])[0]
        client = User.objects.create(email=f"race-client.{tag}@example.test", kind=UserKind.CLIENT, password="!")
        case = KycCase.objects.create(client=client, state="pending_review")
    try:
        for _round in range(3):
            results = _race(alpha, *(lambda who=who: queue_item_claim(code="kyc", object_id=case.pk, actor=who)
                                     for who in (a, b)))
            winners = [r for r in results if isinstance(r, QueueClaim)]
            losers = [r for r in results if isinstance(r, QueueError)]
            assert len(winners) == 1 and len(losers) == 1, results
            assert losers[0].code == "already_claimed"
            with tenant_context(alpha):
                held = QueueClaim.objects.filter(queue="kyc", object_id=case.pk)
                assert held.count() == 1 and held.get().claimed_by_id == winners[0].claimed_by_id
                assert winners[0].claimed_by.email in losers[0].message
                held.delete()
    finally:
        with tenant_context(alpha):
            QueueClaim.objects.filter(queue="kyc", object_id=case.pk).delete()
            KycCase.objects.filter(pk=case.pk).delete()
            User.objects.filter(pk=client.pk).delete()
            for staff in (a, b):
                try:
                    staff.delete()
                except ProtectedError:  # something of theirs must stay (e.g. a role grant record): switch them off
                    User.objects.filter(pk=staff.pk).update(is_active=False)
        connection.set_schema_to_public()
