"""Commissions as money (accrued → approved into IB commissions payable → paid into the IB's wallet → withdrawn
through the ordinary withdrawal workflow), statements (HTML, CSV, PDF) the IB can check, exclusions, CPA, caps,
and bad input refused with nothing written."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tests.commissions.conftest import totals
from tests.commissions.test_scenario_13 import OCT, _reassign, _trees

D = Decimal


def _balance(kind, owner_id=None, currency="USD"):
    from tenant_apps.ledger.models import LedgerAccount

    account = LedgerAccount.objects.filter(kind=kind, owner_id=str(owner_id) if owner_id else "", currency=currency).first()
    return account.balance if account else D(0)


def test_approval_posts_each_ibs_net_to_its_payable_and_payout_moves_it_to_the_wallet_once(alpha_world):
    from tenant_apps.commissions.errors import CommissionsError, NothingToPay
    from tenant_apps.commissions.models import CommissionAccrual
    from tenant_apps.commissions.services import (
        commission_payout,
        commission_period_accrue,
        commission_period_approve,
    )
    from tenant_apps.identity.permissions import PermissionDeniedError

    w = alpha_world
    _, mm, ma, a, mb, b = _trees(w)
    client = w.client("Mona Money", ib=a, at=w.local(2026, 9, 15))
    w.deal(client, w.local(2026, 10, 5), "2.00")
    commission_period_accrue(period=OCT)
    revenue_before = _balance("broker_revenue")

    with pytest.raises(PermissionDeniedError):
        commission_period_approve(period=OCT, actor=w.sales)
    approval = commission_period_approve(period=OCT, actor=w.finance)
    assert approval.rows == 3 and approval.totals == {"USD": "18.60"}
    assert _balance("ib_commissions_payable", a.user_id) == D("16.00")
    assert _balance("ib_commissions_payable", ma.user_id) == D("1.60")
    assert _balance("ib_commissions_payable", mm.user_id) == D("1.00")
    assert _balance("broker_revenue") == revenue_before - D("18.60")
    assert set(CommissionAccrual.objects.filter(period=OCT).values_list("status", flat=True)) == {"approved"}
    with pytest.raises(CommissionsError):
        commission_period_approve(period=OCT, actor=w.finance)  # nothing accrued left: no second posting

    payout = commission_payout(partner=a, currency="USD", actor=w.finance)
    assert payout.amount == D("16.00") and payout.entry is not None
    assert _balance("ib_commissions_payable", a.user_id) == D("0")
    assert _balance("client_wallet", a.user_id) == D("16.00")
    with pytest.raises(NothingToPay):
        commission_payout(partner=a, currency="USD", actor=w.finance)  # never paid twice
    assert _balance("client_wallet", a.user_id) == D("16.00")


def test_a_clawback_larger_than_the_ibs_unpaid_payable_is_carried_forward_not_overdrawn(
        alpha_world, django_capture_on_commit_callbacks):
    from tenant_apps.commissions.models import CommissionAccrual
    from tenant_apps.commissions.services import (
        commission_payout,
        commission_period_accrue,
        commission_period_approve,
    )

    w = alpha_world
    _, mm, ma, a, mb, b = _trees(w)
    client = w.client("Cleo Claw", ib=a, at=w.local(2026, 9, 15))
    w.deal(client, w.local(2026, 10, 16), "1.00")
    commission_period_accrue(period=OCT)
    commission_period_approve(period=OCT, actor=w.finance)
    commission_payout(partner=a, currency="USD", actor=w.finance)
    _reassign(w, client, b, effective_at=w.local(2026, 10, 14), now=w.local(2026, 10, 25), mode="recalculate",
              capture=django_capture_on_commit_callbacks)
    approval = commission_period_approve(period=OCT, actor=w.manager)
    assert [c["partner_id"] for c in approval.carried_forward] == [a.pk]
    assert CommissionAccrual.objects.get(partner=a, is_adjustment=True).status == "accrued"  # waits for new earnings
    assert _balance("ib_commissions_payable", a.user_id) == D("0")
    assert _balance("ib_commissions_payable", b.user_id) == D("8.00")


def test_an_ib_withdraws_its_paid_commission_through_the_ordinary_withdrawal_workflow(alpha_world):
    from tenant_apps.commissions.services import (
        commission_payout,
        commission_payout_request,
        commission_period_accrue,
        commission_period_approve,
    )
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.ledger.models import Hold
    from tests.payments.money.conftest import methods_create

    w = alpha_world
    _, mm, ma, a, mb, b = _trees(w)
    KycCase.objects.create(client=a.user, state="approved")
    client = w.client("Walt Wallet", ib=a, at=w.local(2026, 9, 15))
    w.deal(client, w.local(2026, 10, 5), "2.00")
    commission_period_accrue(period=OCT)
    commission_period_approve(period=OCT, actor=w.finance)
    commission_payout(partner=a, currency="USD", actor=w.finance)
    _, wire = methods_create()
    withdrawal = commission_payout_request(partner=a, method=wire, amount=D("15.00"), currency="USD",
                                           destination_account="DE89370400440532013000")
    assert withdrawal.client_id == a.user_id and withdrawal.amount == D("15.00")
    assert Hold.objects.get(idempotency_key=withdrawal.hold_key).amount == D("15.00")


def test_the_statement_lists_every_deal_level_rate_and_amount_masks_clients_and_renders_csv_and_pdf(
        alpha_world, tenants, tenant_client, django_assert_max_num_queries):
    from tenant_apps.commissions.selectors import statement
    from tenant_apps.commissions.services import commission_period_accrue

    w = alpha_world
    _, mm, ma, a, mb, b = _trees(w)
    client = w.client("Stella Statement", ib=a, at=w.local(2026, 9, 15))
    w.deal(client, w.local(2026, 10, 5, 10, 0), "2.00")
    w.deal(client, w.local(2026, 10, 6, 11, 0), "0.50", symbol="XAUUSD")
    commission_period_accrue(period=OCT)
    stmt = statement(a, OCT)
    assert [(r["ticket"] != "", r["level"], r["amount"], r["client"]) for r in stmt.rows] == [
        (True, 0, D("16.00"), f"S. S. · •••{str(client.login)[-3:]}"), (True, 0, D("4.00"), f"S. S. · •••{str(client.login)[-3:]}")]
    assert stmt.totals == {"USD": D("20.00")}
    csv_text = stmt.csv()
    assert csv_text.splitlines()[0].startswith("Deal time,Deal,Client,Symbol,Volume (lots),Type,Level,Rate,Amount")
    assert "2026-10-05 10:00:00" in csv_text and "Stella" not in csv_text
    assert stmt.pdf().startswith(b"%PDF")
    upline = statement(ma, OCT)
    assert [(r["level"], r["amount"]) for r in upline.rows] == [(1, D("1.60")), (1, D("0.40"))]

    http = tenant_client(tenants["alpha"], a.user.email)
    with django_assert_max_num_queries(25):
        page = http.get("/partner/commissions/2026-10/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "16.00 USD" in body and "20.00 USD" in body and "Stella" not in body
    assert http.get("/partner/commissions/2026-10/?format=csv")["Content-Type"].startswith("text/csv")
    assert http.get("/partner/commissions/2026-10/?format=pdf").content.startswith(b"%PDF")
    assert http.get("/partner/commissions/").status_code == 200
    assert http.get("/partner/commissions/2026-13/").status_code == 404
    # B (another IB) sees none of A's rows
    other = tenant_client(tenants["alpha"], b.user.email).get("/partner/commissions/2026-10/")
    assert "16.00" not in other.content.decode()


def test_exclusions_own_trades_short_trades_and_hedged_pairs_are_configurable(alpha_world):
    from tenant_apps.commissions.services import commission_period_accrue

    w = alpha_world
    start = w.local(2026, 9, 1)
    plan = w.plan("Strict", valid_from=start, rebate="10", min_hold_seconds=120)
    ib = w.ib("Xena Exclude", at=start)
    w.on_plan(ib, plan, start)
    trader = w.client("Tom Trader", ib=ib, at=start)
    own = w.client("Own Account", ib=None)
    from tenant_apps.trading.models import TradingAccount

    TradingAccount.objects.filter(login=own.login).update(client=ib.user)  # the IB's own trading account
    from tenant_apps.partners.models import ClientAssignment

    ClientAssignment.objects.create(client=ib.user, partner=ib, valid_from=start, source="staff")
    w.deal(trader, w.local(2026, 10, 5, 9, 59), "1", entry=0, position_id=41)
    w.deal(trader, w.local(2026, 10, 5, 10, 0), "1", position_id=41)          # held 60 s: excluded
    w.deal(trader, w.local(2026, 10, 5, 11, 0), "1", entry=0, position_id=42)
    w.deal(trader, w.local(2026, 10, 5, 12, 0), "1", position_id=42)          # held an hour: 10.00
    w.deal(trader, w.local(2026, 10, 6), "2", entry=3, side="buy")            # close-by pair: the buy side pays
    w.deal(trader, w.local(2026, 10, 6), "2", entry=3, side="sell")           # … the sell side does not
    w.deal(own, w.local(2026, 10, 7), "3")                                    # the IB's own trade: excluded
    commission_period_accrue(period=OCT)
    assert totals(OCT) == {ib.pk: D("30.00")}


def test_cpa_is_paid_once_when_the_client_reaches_the_volume_within_the_window(alpha_world):
    from tenant_apps.commissions.models import CommissionAccrual
    from tenant_apps.commissions.services import commission_period_accrue, commission_period_recompute

    w = alpha_world
    start = w.local(2026, 9, 1)
    plan = w.plan("CPA", valid_from=start, rebate="1", cpa_amount="200", cpa_min_lots="2", cpa_within_days=90)
    ib = w.ib("Cora CPA", at=start)
    w.on_plan(ib, plan, start)
    client = w.client("Quinn Qualify", ib=ib, at=start)
    w.deal(client, w.local(2026, 10, 3), "1.5")
    w.deal(client, w.local(2026, 10, 9), "1.0")   # 2.5 lots: qualifies here
    w.deal(client, w.local(2026, 10, 12), "1.0")
    commission_period_accrue(period=OCT)
    cpa = CommissionAccrual.objects.get(kind="cpa")
    assert (cpa.partner_id, cpa.amount, cpa.deal_time) == (ib.pk, D("200.00"), w.local(2026, 10, 9))
    assert commission_period_recompute(period=OCT).adjustments_written == 0
    assert commission_period_accrue(period=date(2026, 11, 1)).accruals_written == 0


def test_a_cap_limits_what_an_ib_earns_in_the_period(alpha_world):
    from tenant_apps.commissions.services import commission_period_accrue

    w = alpha_world
    start = w.local(2026, 9, 1)
    plan = w.plan("Capped", valid_from=start, rebate="10", cap_per_period="25")
    ib = w.ib("Cap Ian", at=start)
    w.on_plan(ib, plan, start)
    client = w.client("Kim Cap", ib=ib, at=start)
    for day in (2, 3, 4):
        w.deal(client, w.local(2026, 10, day), "1")
    commission_period_accrue(period=OCT)
    assert totals(OCT) == {ib.pk: D("25.00")}


@pytest.mark.parametrize("rules, message", [
    ([{"kind": "rebate", "per_lot": "-1"}], "at least 0"),
    ([{"kind": "revenue_share", "percent": "140"}], "at most 100"),
    ([{"kind": "override", "level": 0, "percent": "10"}], "upline level"),
    ([{"kind": "override", "level": 1, "percent": "10", "per_lot": "1"}], "not both"),
    ([{"kind": "bonus"}], "unknown kind"),
    ([{"kind": "rebate", "per_lot": "abc"}], "not a number"),
])
def test_bad_plan_input_is_refused_with_a_specific_message_and_nothing_is_written(alpha_world, rules, message):
    from tenant_apps.commissions.errors import InvalidPlan
    from tenant_apps.commissions.models import CommissionPlan
    from tenant_apps.commissions.services import plan_create

    w = alpha_world
    before = CommissionPlan.objects.count()
    with pytest.raises(InvalidPlan, match=message):
        plan_create(actor=w.manager, name="Broken", valid_from=w.local(2026, 9, 1), rules=rules)
    assert CommissionPlan.objects.count() == before


def test_the_back_office_plan_editor_creates_a_plan_and_refuses_bad_input_with_400(alpha_world, tenants,
                                                                                   tenant_client):
    from tenant_apps.commissions.models import CommissionPlan
    from tests.conftest import mfa_enrol

    w = alpha_world
    mfa_enrol(tenants["alpha"], w.manager.email)
    http = tenant_client(tenants["alpha"], w.manager.email)
    bad = http.post("/backoffice/commissions/plans/", {"name": "Web plan", "currency": "USD",
                                                       "valid_from": "2026-10-01T00:00", "rule_kind": ["rebate"],
                                                       "rule_level": ["x"], "rule_per_lot": ["5"],
                                                       "rule_percent": ["0"], "rule_symbols": [""],
                                                       "rule_group": [""]})
    assert bad.status_code == 400 and not CommissionPlan.objects.filter(name="Web plan").exists()
    ok = http.post("/backoffice/commissions/plans/", {
        "name": "Web plan", "currency": "usd", "valid_from": "2026-10-01T00:00", "exclude_own_trades": "on",
        "rule_kind": ["rebate", "override"], "rule_level": ["0", "1"], "rule_per_lot": ["5", "0"],
        "rule_percent": ["0", "10"], "rule_symbols": ["", ""], "rule_group": ["", ""]})
    assert ok.status_code == 302
    plan = CommissionPlan.objects.get(name="Web plan")
    version = plan.versions.get()
    assert version.valid_from == w.local(2026, 10, 1) and version.rules.count() == 2
    assert http.get(ok["Location"]).status_code == 200
    assert http.get("/backoffice/commissions/").status_code == 200
    assert http.post("/backoffice/commissions/", {"period": "oct", "action": "accrue"}).status_code == 400


def test_beta_staff_see_none_of_alphas_commissions(alpha_world, tenants):
    from tenant_apps.commissions.models import CommissionAccrual
    from tenant_apps.commissions.services import commission_period_accrue

    w = alpha_world
    _, mm, ma, a, mb, b = _trees(w)
    client = w.client("Iso Late", ib=a, at=w.local(2026, 9, 15))
    w.deal(client, w.local(2026, 10, 5), "1.00")
    commission_period_accrue(period=OCT)
    assert CommissionAccrual.objects.exists()
    with tenant_context(tenants["beta"]):
        assert not CommissionAccrual.objects.filter(partner_id=a.pk).exists()
