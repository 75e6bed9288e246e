"""Scenario 13 to the cent: a client under IB A from the 1st to the 13th and under IB B from the 14th; the month's
commission is split by trade time, overrides go up each IB's own tree; plus the edge cases the issue names
(reassignment at local midnight at the month's end, a back-dated "recalculate", a plan change mid-month)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.commissions.conftest import totals

D = Decimal
OCT = date(2026, 10, 1)
NOV = date(2026, 11, 1)


def _trees(w):
    """MA → A, MB → B (and MM above MA: three levels on A's side). One plan for everyone: $8 per lot to the
    client's IB, 10 % of the child's commission to level 1, $0.50 per lot to level 2."""
    start = w.local(2026, 9, 1)
    plan = w.plan("Standard", valid_from=start, rebate="8", overrides=[(1, "percent", "10"), (2, "per_lot", "0.5")])
    mm = w.ib("Master Mia", at=start)
    ma = w.ib("Master Al", parent=mm, at=start)
    a = w.ib("IB Anna", parent=ma, at=start)
    mb = w.ib("Master Bo", at=start)
    b = w.ib("IB Ben", parent=mb, at=start)
    for partner in (mm, ma, a, mb, b):
        w.on_plan(partner, plan, start)
    return plan, mm, ma, a, mb, b


def _reassign(w, client, to, *, effective_at, now, mode=None, capture=None):
    from tenant_apps.partners.services import reassignment_approve, reassignment_request_create

    req = reassignment_request_create(actor=w.sales, client_id=client.pk, to_partner_id=to.pk,
                                      effective_at=effective_at, reason="Client asked to move to Ben's desk",
                                      mode=mode, now=now)
    if capture is not None:
        with capture(execute=True):
            return reassignment_approve(request_id=req.pk, actor=w.manager, note="confirmed by phone", now=now)
    return reassignment_approve(request_id=req.pk, actor=w.manager, note="confirmed by phone", now=now)


def test_scenario_13_the_month_is_split_by_trade_time_and_overrides_go_up_each_ibs_own_tree(alpha_world):
    from tenant_apps.commissions.models import CommissionAccrual
    from tenant_apps.commissions.services import commission_period_accrue

    w = alpha_world
    _, mm, ma, a, mb, b = _trees(w)
    client = w.client("Carla Client", ib=a, at=w.local(2026, 9, 15))
    # Requested by Sales, approved by a manager before it takes effect: from the 14th, 00:00 brokerage time.
    req = _reassign(w, client, b, effective_at=w.local(2026, 10, 14), now=w.local(2026, 10, 10))
    assert (req.requested_by, req.decided_by, req.status) == (w.sales, w.manager, "approved")

    d1 = w.deal(client, w.local(2026, 10, 5, 10, 0), "2.00")
    d2 = w.deal(client, w.local(2026, 10, 13, 23, 59, 59), "1.00")   # the last second with A
    d3 = w.deal(client, w.local(2026, 10, 14, 0, 0, 0), "1.50")      # the first moment with B (21:00 UTC on the 13th)
    d4 = w.deal(client, w.local(2026, 10, 20, 15, 0), "0.33")
    w.deal(client, w.local(2026, 10, 21), "5.00", entry=0)           # an opening deal pays nothing

    run = commission_period_accrue(period=OCT)
    assert run.accruals_written == 10

    def rows(deal):
        return sorted((r.level, r.partner_id, r.kind, r.amount) for r in
                      CommissionAccrual.objects.filter(ticket=deal.ticket))

    assert rows(d1) == [(0, a.pk, "rebate", D("16.00")), (1, ma.pk, "override", D("1.60")),
                        (2, mm.pk, "override", D("1.00"))]
    assert rows(d2) == [(0, a.pk, "rebate", D("8.00")), (1, ma.pk, "override", D("0.80")),
                        (2, mm.pk, "override", D("0.50"))]
    assert rows(d3) == [(0, b.pk, "rebate", D("12.00")), (1, mb.pk, "override", D("1.20"))]
    assert rows(d4) == [(0, b.pk, "rebate", D("2.64")), (1, mb.pk, "override", D("0.26"))]
    assert totals(OCT) == {a.pk: D("24.00"), ma.pk: D("2.40"), mm.pk: D("1.50"), b.pk: D("14.64"),
                           mb.pk: D("1.46")}
    # Idempotent: a second run writes nothing.
    assert commission_period_accrue(period=OCT).accruals_written == 0
    assert CommissionAccrual.objects.filter(period=OCT).count() == 10


def test_a_reassignment_at_local_midnight_ending_the_month_splits_periods_and_ibs_in_the_brokerage_timezone(
        alpha_world):
    from tenant_apps.commissions.services import commission_period_accrue

    w = alpha_world
    assert str(w.zone) == "Asia/Nicosia"
    _, mm, ma, a, mb, b = _trees(w)
    client = w.client("Nina Night", ib=a, at=w.local(2026, 9, 15))
    _reassign(w, client, b, effective_at=w.local(2026, 11, 1), now=w.local(2026, 10, 30))
    w.deal(client, w.local(2026, 10, 31, 23, 59), "1.00")  # 21:59 UTC on the 31st: October, A
    w.deal(client, w.local(2026, 11, 1, 0, 30), "2.00")    # 22:30 UTC on the 31st: November, B (UTC would say A)
    commission_period_accrue(period=OCT)
    commission_period_accrue(period=NOV)
    assert totals(OCT) == {a.pk: D("8.00"), ma.pk: D("0.80"), mm.pk: D("0.50")}
    assert totals(NOV) == {b.pk: D("16.00"), mb.pk: D("1.60")}


def test_a_back_dated_recalculate_writes_adjustments_and_a_second_recompute_writes_nothing(
        alpha_world, django_capture_on_commit_callbacks):
    from tenant_apps.commissions.models import CommissionAccrual, CommissionRun
    from tenant_apps.commissions.services import commission_period_accrue, commission_period_recompute

    w = alpha_world
    _, mm, ma, a, mb, b = _trees(w)
    client = w.client("Rico Retro", ib=a, at=w.local(2026, 9, 15))
    bystander = w.client("Bea Bystander", ib=a, at=w.local(2026, 9, 15))
    w.deal(client, w.local(2026, 10, 5), "2.00")
    late = w.deal(client, w.local(2026, 10, 16), "1.00")
    w.deal(bystander, w.local(2026, 10, 16), "1.00")
    commission_period_accrue(period=OCT)
    originals = set(CommissionAccrual.objects.values_list("pk", "amount", "partner_id", "status"))
    assert totals(OCT) == {a.pk: D("32.00"), ma.pk: D("3.20"), mm.pk: D("2.00")}

    # On the 25th, back-dated to the 14th, "recalculate": the hook recomputes October from the 14th.
    _reassign(w, client, b, effective_at=w.local(2026, 10, 14), now=w.local(2026, 10, 25), mode="recalculate",
              capture=django_capture_on_commit_callbacks)
    adjustments = sorted((r.partner_id, r.level, r.amount, r.is_adjustment) for r in
                         CommissionAccrual.objects.filter(ticket=late.ticket).exclude(pk__in={o[0] for o in originals}))
    assert adjustments == sorted([(a.pk, 0, D("-8.00"), True), (ma.pk, 1, D("-0.80"), True), (mm.pk, 2, D("-0.50"), True),
                                  (b.pk, 0, D("8.00"), True), (mb.pk, 1, D("0.80"), True)])
    # Accruals are never edited: every original row is as it was.
    assert set(CommissionAccrual.objects.filter(pk__in={o[0] for o in originals})
               .values_list("pk", "amount", "partner_id", "status")) == originals
    assert totals(OCT) == {a.pk: D("24.00"), ma.pk: D("2.40"), mm.pk: D("1.50"), b.pk: D("8.00"), mb.pk: D("0.80")}
    run = CommissionRun.objects.filter(mode="recompute").first()
    assert (run.adjustments_written, run.adjustments_total, run.since) == (5, D("-0.50"), w.local(2026, 10, 14))

    before = CommissionAccrual.objects.count()
    again = commission_period_recompute(period=OCT)
    assert (again.accruals_written, again.adjustments_written) == (0, 0)
    assert CommissionAccrual.objects.count() == before


def test_a_future_only_reassignment_changes_nothing_already_accrued(alpha_world, django_capture_on_commit_callbacks):
    from tenant_apps.commissions.services import commission_period_accrue

    w = alpha_world
    _, mm, ma, a, mb, b = _trees(w)
    client = w.client("Fran Future", ib=a, at=w.local(2026, 9, 15))
    w.deal(client, w.local(2026, 10, 16), "1.00")
    commission_period_accrue(period=OCT)
    _reassign(w, client, b, effective_at=w.local(2026, 10, 14), now=w.local(2026, 10, 25), mode="future_only",
              capture=django_capture_on_commit_callbacks)
    w.deal(client, w.local(2026, 10, 26), "1.00")  # after the approval: B's
    commission_period_accrue(period=OCT)
    assert totals(OCT) == {a.pk: D("8.00"), ma.pk: D("0.80"), mm.pk: D("0.50"), b.pk: D("8.00"), mb.pk: D("0.80")}
    assert not totals(OCT, is_adjustment=True)


def test_a_plan_change_mid_month_splits_the_month_by_deal_time(alpha_world):
    from tenant_apps.commissions.services import commission_period_accrue, plan_version_add

    w = alpha_world
    plan, mm, ma, a, mb, b = _trees(w)
    premium = w.plan("Premium", valid_from=w.local(2026, 9, 1), rebate="10", overrides=[(1, "percent", "20")])
    client = w.client("Paul Plan", ib=a, at=w.local(2026, 9, 15))
    # The Standard plan's terms change on the 10th ($9/lot) and A moves to Premium on the 20th.
    plan_version_add(actor=w.manager, plan=plan, valid_from=w.local(2026, 10, 10),
                     rules=w.rules(rebate="9", overrides=[(1, "percent", "10"), (2, "per_lot", "0.5")]))
    w.on_plan(a, premium, w.local(2026, 10, 20))
    w.deal(client, w.local(2026, 10, 9, 23, 59), "1.00")   # Standard v1: 8.00
    w.deal(client, w.local(2026, 10, 10, 0, 0), "1.00")    # Standard v2: 9.00
    w.deal(client, w.local(2026, 10, 20, 0, 0), "1.00")    # Premium: 10.00 (MA's override: its own plan, 10 %)
    commission_period_accrue(period=OCT)
    assert totals(OCT) == {a.pk: D("27.00"), ma.pk: D("2.70"), mm.pk: D("1.50")}
    assert totals(OCT, plan_version__plan=premium) == {a.pk: D("10.00")}


@pytest.mark.parametrize("slug", ["alpha", "beta"])
def test_each_brokerage_computes_only_its_own_deals(slug, tenants, db):
    from django_tenants.utils import tenant_context

    from tenant_apps.commissions.services import commission_period_accrue
    from tests.commissions.conftest import World

    made = {}
    for name, brokerage in tenants.items():
        with tenant_context(brokerage):
            w = World(name)
            start = w.local(2026, 9, 1)
            plan = w.plan("Flat", valid_from=start, rebate="5" if name == "alpha" else "7")
            ib = w.ib("Solo IB", at=start)
            w.on_plan(ib, plan, start)
            client = w.client("Tess Tenant", ib=ib, at=start)
            w.deal(client, w.local(2026, 10, 3), "1.00")
            made[name] = ib.pk
    with tenant_context(tenants[slug]):
        commission_period_accrue(period=OCT)
        assert totals(OCT) == {made[slug]: D("5.00") if slug == "alpha" else D("7.00")}
    other = "beta" if slug == "alpha" else "alpha"
    with tenant_context(tenants[other]):
        assert totals(OCT) == {}
