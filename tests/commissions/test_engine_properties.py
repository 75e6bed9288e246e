"""Property-based: for random IB trees, assignment and plan histories and deal streams, the set-based engine pays
exactly what the per-deal reference (tenant_apps/commissions/reference.py) pays, per deal, level and kind; a
recompute is idempotent; and after the history is rewritten, a recompute's adjustments bring every net amount
to the reference's answer for the new history."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

OCT = date(2026, 10, 1)
SLOTS = 31 * 4  # October in 6-hour steps: interval cuts and deals fall on the same grid, so on boundaries too
SYMBOLS = ("EURUSD", "XAUUSD")

lots = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9.99"), places=2)
rate = st.decimals(min_value=Decimal("0"), max_value=Decimal("12.5"), places=2)
percent = st.decimals(min_value=Decimal("0"), max_value=Decimal("40"), places=1)


def _history(draw, choices):
    """[(slot, value-or-None), ...] sorted by slot, starting before the month: an interval history."""
    cuts = sorted(draw(st.sets(st.integers(1, SLOTS - 1), max_size=3)))
    values = [draw(st.sampled_from([*choices, *choices, *choices, None])) for _ in range(len(cuts) + 1)]
    return list(zip([-8, *cuts], values, strict=True))


@st.composite
def worlds(draw):
    n_ibs = draw(st.integers(2, 6))
    links = {i: _history(draw, list(range(i))) for i in range(1, n_ibs)}  # parent index < child: no cycles
    plans = []
    for _ in range(2):
        versions = []
        for _ in range(draw(st.integers(1, 2))):
            overrides = []
            for lvl in range(1, draw(st.integers(1, 4))):
                how = draw(st.sampled_from(["percent", "per_lot"]))
                overrides.append((lvl, how, draw(percent if how == "percent" else rate)))
            versions.append({
                "rebate": draw(rate), "gold_rebate": draw(st.one_of(st.none(), rate)), "share": draw(percent),
                "overrides": overrides, "exclude_own_trades": draw(st.booleans()),
                "hedged_pairs_once": draw(st.booleans()), "include_swap_in_revenue": draw(st.booleans()),
                "min_hold_seconds": draw(st.sampled_from([0, 0, 3600 * 7])),
                "cap": draw(st.one_of(st.none(), st.decimals(min_value=Decimal("5"), max_value=Decimal("200"),
                                                             places=2))),
            })
        cut = draw(st.integers(1, SLOTS - 1))
        plans.append({"versions": versions, "cut": cut})
    plan_of = {i: _history(draw, [0, 1]) for i in range(n_ibs)}
    n_clients = draw(st.integers(1, 4))
    # A client may be one of the IBs themselves (own trades).
    clients = [{"ib_user": draw(st.one_of(st.none(), st.integers(0, n_ibs - 1))),
                "history": _history(draw, list(range(n_ibs)))} for _ in range(n_clients)]
    deals = draw(st.lists(st.fixed_dictionaries({
        "client": st.integers(0, n_clients - 1), "slot": st.integers(-2, SLOTS + 2), "lots": lots,
        "symbol": st.sampled_from(SYMBOLS), "side": st.sampled_from(["buy", "sell"]),
        "entry": st.sampled_from([0, 1, 1, 2, 3]), "commission": st.decimals(min_value=Decimal("-9"),
                                                                             max_value=Decimal("1"), places=2),
        "swap": st.decimals(min_value=Decimal("-3"), max_value=Decimal("3"), places=2),
        "held_slots": st.sampled_from([None, 0, 1, 3]),
    }), min_size=1, max_size=25))
    rewrite = (draw(st.integers(0, n_clients - 1)), _history(draw, list(range(n_ibs))))
    return {"n_ibs": n_ibs, "links": links, "plans": plans, "plan_of": plan_of, "clients": clients,
            "deals": deals, "rewrite": rewrite}


def _intervals(model, history, at, **subject):
    """Write the interval rows of one history: consecutive slots with a value become [from, to) rows."""
    rows = []
    for index, (slot, value) in enumerate(history):
        if value is None:
            continue
        end = at(history[index + 1][0]) if index + 1 < len(history) else None
        rows.append(model(valid_from=at(slot), valid_to=end, **subject, **value))
    model.objects.bulk_create(rows)


def _build(spec, zone):
    from tenant_apps.brokerage.models import AccountType, TradingServerConfig
    from tenant_apps.commissions.models import CommissionPlan, CommissionRule, PlanAssignment, PlanVersion
    from tenant_apps.identity.models import User
    from tenant_apps.partners.models import ClientAssignment, Partner, PartnerLink
    from tenant_apps.trading.models import AccountStatus, Deal, TradingAccount

    month = datetime(2026, 10, 1, tzinfo=zone)

    def at(slot):
        return month + timedelta(hours=6 * slot)

    tag = uuid.uuid4().hex[:6]
    server = TradingServerConfig.objects.get(code="mt5-sim")
    standard, other = AccountType.objects.get(code="standard"), AccountType.objects.exclude(code="standard").first()
    ib_users = [User.objects.create_user(email=f"ib{i}.{tag}@alpha.test", kind="ib", full_name=f"IB {i}")
                for i in range(spec["n_ibs"])]
    ibs = [Partner.objects.create(user=u, code=f"p{i}-{tag}", status="active") for i, u in enumerate(ib_users)]
    for i, history in spec["links"].items():
        _intervals(PartnerLink, [(s, None if v is None else {"parent": ibs[v]}) for s, v in history], at,
                   partner=ibs[i])
    plans = []
    for p_index, p in enumerate(spec["plans"]):
        plan = CommissionPlan.objects.create(name=f"plan{p_index}-{tag}")
        plans.append(plan)
        bounds = [at(-8), at(p["cut"])] if len(p["versions"]) == 2 else [at(-8)]
        for v_index, v in enumerate(p["versions"]):
            version = PlanVersion.objects.create(
                plan=plan, valid_from=bounds[v_index], valid_to=bounds[1] if v_index == 0 and len(bounds) == 2 else None,
                exclude_own_trades=v["exclude_own_trades"], hedged_pairs_once=v["hedged_pairs_once"],
                include_swap_in_revenue=v["include_swap_in_revenue"], min_hold_seconds=v["min_hold_seconds"],
                cap_per_period=v["cap"])
            rules = [CommissionRule(version=version, kind="rebate", per_lot=v["rebate"]),
                     CommissionRule(version=version, kind="revenue_share", percent=v["share"])]
            if v["gold_rebate"] is not None:
                rules.append(CommissionRule(version=version, kind="rebate", per_lot=v["gold_rebate"],
                                            symbols=["XAUUSD"], symbol_group="Metals"))
                rules.append(CommissionRule(version=version, kind="rebate", per_lot=v["gold_rebate"] + 1,
                                            symbols=["XAUUSD"], account_type=other))
            for level, how, value in v["overrides"]:
                rules.append(CommissionRule(version=version, kind="override", level=level, **{how: value}))
            CommissionRule.objects.bulk_create(rules)
    for i, history in spec["plan_of"].items():
        _intervals(PlanAssignment, [(s, None if v is None else {"plan": plans[v]}) for s, v in history], at,
                   partner=ibs[i])
    clients, logins = [], {}
    for c_index, c in enumerate(spec["clients"]):
        user = ib_users[c["ib_user"]] if c["ib_user"] is not None else User.objects.create_user(
            email=f"c{c_index}.{tag}@alpha.test", kind="client", full_name=f"Client {c_index}")
        if user in clients:  # the same IB user drawn twice: a second client instead
            user = User.objects.create_user(email=f"c{c_index}b.{tag}@alpha.test", kind="client")
        clients.append(user)
        account = TradingAccount.objects.create(client=user, server=server,
                                                account_type=other if c_index % 2 and other else standard,
                                                login=9_000_000 + c_index, currency="USD", leverage=100,
                                                platform_group="g", status=AccountStatus.ACTIVE)
        logins[c_index] = account.login
        _intervals(ClientAssignment, [(s, None if v is None else {"partner": ibs[v]}) for s, v in c["history"]], at,
                   client=user, source="staff")
    deals = []
    for ticket, d in enumerate(spec["deals"], start=1):
        position = ticket if d["held_slots"] is not None else 0
        if position:
            deals.append(Deal(server=server, ticket=100_000 + ticket, login=logins[d["client"]],
                              time=at(d["slot"] - d["held_slots"]) - timedelta(minutes=5), symbol=d["symbol"],
                              side=d["side"], action=0, entry=0, volume_lots=d["lots"], price=1, profit=0,
                              commission=0, swap=0, position_id=position))
        deals.append(Deal(server=server, ticket=ticket, login=logins[d["client"]], time=at(d["slot"]),
                          symbol=d["symbol"], side=d["side"], action=0 if d["side"] == "buy" else 1, entry=d["entry"],
                          volume_lots=d["lots"], price=1, profit=0, commission=d["commission"], swap=d["swap"],
                          position_id=position))
    Deal.objects.bulk_create(deals)
    return ibs, clients, at


def _engine_net():
    from django.db.models import Sum

    from tenant_apps.commissions.models import CommissionAccrual

    rows = (CommissionAccrual.objects.filter(period=OCT).values("server_id", "ticket", "level", "kind", "partner_id")
            .annotate(s=Sum("amount")))
    return {(r["server_id"], r["ticket"], r["level"], r["kind"], r["partner_id"]): r["s"] for r in rows if r["s"]}


def _reference_net():
    from tenant_apps.commissions.engine import period_bounds
    from tenant_apps.commissions.reference import reference_period
    from tenant_apps.trading.models import Deal

    start, end = period_bounds(OCT)
    deals = Deal.objects.filter(time__gte=start, time__lt=end).order_by("time", "ticket")
    return {(r.server_id, r.ticket, r.level, r.kind, r.partner_id): r.amount for r in reference_period(deals)}


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(spec=worlds())
def test_the_engine_pays_what_the_interval_rules_give_per_deal_and_level_and_recomputes_idempotently(
        spec, tenants, db):
    from tenant_apps.commissions.models import CommissionAccrual
    from tenant_apps.commissions.services import commission_period_accrue, commission_period_recompute
    from tenant_apps.partners.models import ClientAssignment as Assignment

    with tenant_context(tenants["alpha"]), transaction.atomic():
        from tenant_apps.commissions.engine import tenant_zone

        ibs, clients, at = _build(spec, tenant_zone())
        commission_period_accrue(period=OCT)
        expected = _reference_net()
        event(f"{'some' if expected else 'no'} commission paid")
        event(f"deepest level paid: {max((k[2] for k in expected), default=None)}")
        assert _engine_net() == expected
        written = CommissionAccrual.objects.count()
        again = commission_period_recompute(period=OCT)
        assert (again.accruals_written, again.adjustments_written) == (0, 0)
        assert CommissionAccrual.objects.count() == written

        # Rewrite one client's whole history, recompute: the net per deal/level/kind/IB is the new answer.
        c_index, history = spec["rewrite"]
        Assignment.objects.filter(client=clients[c_index]).delete()
        _intervals(Assignment, [(s, None if v is None else {"partner": ibs[v]}) for s, v in history], at,
                   client=clients[c_index], source="staff")
        commission_period_recompute(period=OCT)
        assert _engine_net() == _reference_net()
        assert commission_period_recompute(period=OCT).adjustments_written == 0
        transaction.set_rollback(True)
