"""Races on committed data: two managers approving one request at the same moment apply it once; two opposite
parent changes approved at the same moment cannot both pass (one would close a cycle)."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from tests.partners.conftest import build_programme

NOV_10 = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def _race(brokerage, *calls):
    """Run the calls at the same moment, each in its own thread and connection; [result or exception]."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i, fn):
        try:
            with tenant_context(brokerage):
                barrier.wait(10)
                results[i] = fn()
        except Exception as exc:  # noqa: BLE001 — the race's loser is the point
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _cleanup(brokerage, p):
    from tenant_apps.identity.models import User
    from tenant_apps.partners.models import (
        ClientAssignment,
        Partner,
        PartnerLink,
        ReassignmentRequest,
        ReferralLink,
    )

    with tenant_context(brokerage):
        partners = Partner.objects.filter(code__startswith="race-")
        ClientAssignment.objects.filter(partner__in=partners).delete()
        PartnerLink.objects.filter(partner__in=partners).delete()
        ReassignmentRequest.objects.filter(to_partner__in=partners).delete()
        ReferralLink.objects.filter(partner__in=partners).delete()
        users = list(partners.values_list("user_id", flat=True))
        partners.delete()
        User.objects.filter(pk__in=users + [p["client"].pk, p["sales"].pk, p["manager"].pk, p["manager2"].pk]).delete()


@pytest.fixture
def race_programme(tenants, committed_db):
    alpha = tenants["alpha"]
    p = build_programme(alpha, "race")
    yield p
    _cleanup(alpha, p)


def test_two_managers_approving_one_request_at_once_apply_it_once(race_programme):
    from tenant_apps.partners.errors import InvalidState
    from tenant_apps.partners.models import ClientAssignment
    from tenant_apps.partners.services import reassignment_approve, reassignment_request_create

    p, alpha = race_programme, race_programme["brokerage"]
    with tenant_context(alpha):
        req = reassignment_request_create(actor=p["sales"], client_id=p["client"].pk, to_partner_id=p["ib_b"].pk,
                                          effective_at=datetime(2026, 11, 14), reason="race", now=NOV_10)
    results = _race(alpha, *(lambda m=m: reassignment_approve(request_id=req.pk, actor=m, now=NOV_10)
                             for m in (p["manager"], p["manager2"])))
    assert sorted(type(r).__name__ for r in results) == ["InvalidState", "ReassignmentRequest"], results
    assert any(isinstance(r, InvalidState) for r in results)
    with tenant_context(alpha):
        assert ClientAssignment.objects.filter(client=p["client"]).count() == 2


def test_two_opposite_parent_changes_approved_at_once_cannot_make_a_cycle(race_programme):
    from tenant_apps.partners.errors import CycleRefused
    from tenant_apps.partners.selectors import upline_ids_at
    from tenant_apps.partners.services import reassignment_approve, reassignment_request_create

    p, alpha = race_programme, race_programme["brokerage"]
    a, b = p["master_a"], p["master_b"]  # both top level: each may go under the other, not both
    with tenant_context(alpha):
        r1 = reassignment_request_create(actor=p["sales"], subject_partner_id=a.pk, to_partner_id=b.pk,
                                         effective_at=datetime(2026, 11, 14), reason="merge", now=NOV_10)
        r2 = reassignment_request_create(actor=p["sales"], subject_partner_id=b.pk, to_partner_id=a.pk,
                                         effective_at=datetime(2026, 11, 14), reason="merge", now=NOV_10)
    results = _race(alpha, lambda: reassignment_approve(request_id=r1.pk, actor=p["manager"], now=NOV_10),
                    lambda: reassignment_approve(request_id=r2.pk, actor=p["manager2"], now=NOV_10))
    assert sum(isinstance(r, CycleRefused) for r in results) == 1, results
    with tenant_context(alpha):
        at = datetime(2026, 11, 20, tzinfo=UTC)
        assert len(upline_ids_at(a.pk, at)) + len(upline_ids_at(b.pk, at)) == 1
