"""A revenue share is a share of the broker's revenue on the deal, which is in the trading account's currency: it is
paid only when that is the plan's currency — no exchange rate is invented. The per-lot rebate (in the plan's
currency by definition) is paid whatever the account's currency. The engine and the per-deal reference agree."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

OCT = date(2026, 10, 1)


def test_revenue_share_only_in_the_plans_currency_and_the_reference_agrees(alpha_world):
    from tenant_apps.commissions.models import CommissionAccrual
    from tenant_apps.commissions.reference import Reference
    from tenant_apps.commissions.services import commission_period_accrue
    from tenant_apps.trading.models import TradingAccount

    w = alpha_world
    start = w.local(2026, 9, 1)
    plan = w.plan("USD plan", valid_from=start, rebate="5", share="20")
    ib = w.ib("IB Ina", at=start)
    w.on_plan(ib, plan, start)
    usd = w.client("Uma Usd", ib=ib, at=start)
    eur = w.client("Emil Eur", ib=ib, at=start)
    TradingAccount.objects.filter(login=eur.login).update(currency="EUR")
    d_usd = w.deal(usd, w.local(2026, 10, 3), "1.00", commission="-7.00")
    d_eur = w.deal(eur, w.local(2026, 10, 3), "1.00", commission="-7.00")

    commission_period_accrue(period=OCT)
    rows = {(r.ticket, r.kind): r.amount for r in CommissionAccrual.objects.all()}
    assert rows == {(d_usd.ticket, "rebate"): Decimal("5.00"), (d_usd.ticket, "revenue_share"): Decimal("1.40"),
                    (d_eur.ticket, "rebate"): Decimal("5.00")}
    ref = Reference()
    expected = {(r.ticket, r.kind): r.amount for deal in (d_usd, d_eur) for r in ref.deal_rows(deal)}
    assert expected == rows
