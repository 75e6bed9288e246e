"""Appends racing from many connections at once still make one unbroken chain (they commit for real)."""
from __future__ import annotations

import threading

from django.db import connection, transaction
from django_tenants.utils import tenant_context

from tenant_apps.audit.chain import chain_verify, iter_in_seq_order
from tenant_apps.audit.models import AuditEntry
from tenant_apps.audit.services import audit_record
from tests.audit.conftest import head_seq

THREADS, EACH = 10, 5


def test_ten_threads_appending_at_once_keep_one_unbroken_chain(committed_db, tenants):
    alpha = tenants["alpha"]
    with tenant_context(alpha):
        start = head_seq()
    ready = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            with tenant_context(alpha):  # this thread's own connection
                ready.wait(timeout=10)
                for i in range(EACH):
                    # Each append inside a transaction that does other work too, as services do.
                    with transaction.atomic():
                        audit_record(action="test.race", object_type="test.racer", object_id=f"{worker}-{i}")
                        with connection.cursor() as cursor:
                            cursor.execute("SELECT pg_sleep(0.002)")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors

    with tenant_context(alpha):
        raced = list(AuditEntry.objects.filter(seq__gt=start).order_by("seq"))
        assert [e.seq for e in raced] == list(range(start + 1, start + 1 + THREADS * EACH))
        assert sorted(e.object_id for e in raced) == sorted(f"{w}-{i}" for w in range(THREADS) for i in range(EACH))
        assert len({e.prev_hash for e in raced}) == len(raced)  # no two entries claim the same predecessor
        # Interleaved, not one thread after another: the lock serialises single appends, not whole threads.
        writers = [e.object_id.split("-")[0] for e in raced]
        assert sum(a != b for a, b in zip(writers, writers[1:], strict=False)) > THREADS
        report = chain_verify(iter_in_seq_order(AuditEntry.objects.all()))
        assert report.ok, report.broken.describe()
        assert report.checked == raced[-1].seq
