"""A back-dated "recalculate" reassignment through the real queue: the approval commits and returns at once; a
real dramatiq worker (threads, real Redis) consumes commissions_reassignment_recompute in the brokerage that sent
it and writes the adjustments. Runs in a brokerage of its own (committed rows), dropped afterwards."""
from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tests.commissions.conftest import World, totals

OCT = date(2026, 10, 1)


@pytest.fixture
def recompute_in_process():
    """Not here: this test sends the message to the real queue."""
    return None


@pytest.fixture
def own_brokerage(committed_db):
    from provisioning import schemas
    from provisioning.services import provision_brokerage
    from tenancy.models import Brokerage, Domain

    job = provision_brokerage(name="Recalc Co", slug="recalc-co", admin_email="admin@recalc.test",
                              jurisdiction="cysec", source="cli", timezone_name="Asia/Nicosia")
    assert job.status == "succeeded", job.error
    try:
        yield job.brokerage
    finally:
        schemas.drop_schema("recalc_co")
        Domain.objects.filter(tenant__slug="recalc-co").delete()
        Brokerage.objects.filter(slug="recalc-co").delete()


def test_a_recalculate_approval_is_recomputed_by_the_worker_not_the_request(own_brokerage, worker):
    from tenant_apps.commissions.models import CommissionAccrual, CommissionRun
    from tenant_apps.commissions.services import commission_period_accrue
    from tenant_apps.partners.services import reassignment_approve, reassignment_request_create

    with tenant_context(own_brokerage):
        w = World("recalc")
        start = w.local(2026, 9, 1)
        plan = w.plan("Standard", valid_from=start, rebate="8", overrides=[(1, "percent", "10")])
        ma, mb = w.ib("Master Al", at=start), w.ib("Master Bo", at=start)
        a, b = w.ib("IB Anna", parent=ma, at=start), w.ib("IB Ben", parent=mb, at=start)
        for partner in (ma, mb, a, b):
            w.on_plan(partner, plan, start)
        client = w.client("Rico Retro", ib=a, at=w.local(2026, 9, 15))
        w.deal(client, w.local(2026, 10, 5), "2.00")
        w.deal(client, w.local(2026, 10, 16), "1.00")
        commission_period_accrue(period=OCT)
        assert totals(OCT) == {a.pk: Decimal("24.00"), ma.pk: Decimal("2.40")}

        req = reassignment_request_create(actor=w.sales, client_id=client.pk, to_partner_id=b.pk,
                                          effective_at=w.local(2026, 10, 14), reason="moved desks",
                                          mode="recalculate", now=w.local(2026, 10, 25))
        reassignment_approve(request_id=req.pk, actor=w.manager, note="confirmed", now=w.local(2026, 10, 25))

        deadline = time.monotonic() + 60
        while not CommissionRun.objects.filter(mode="recompute").exists():
            if time.monotonic() > deadline:
                pytest.fail("the worker did not recompute the period")
            time.sleep(0.2)
        run = CommissionRun.objects.get(mode="recompute")
        assert run.reason == f"reassignment request #{req.pk} (recalculate)"
        assert (run.adjustments_written, run.adjustments_total) == (4, Decimal("0.00"))
        assert totals(OCT) == {a.pk: Decimal("16.00"), ma.pk: Decimal("1.60"), b.pk: Decimal("8.00"),
                               mb.pk: Decimal("0.80")}
        assert CommissionAccrual.objects.filter(is_adjustment=True).count() == 4
