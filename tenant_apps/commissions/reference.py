"""The commission rules stated the straightforward way: a Python loop over deals, one deal at a time, walking
the intervals in memory. Not used in production — the engine does the same set-based. The tests compare the
two on random histories and the benchmark measures the engine against this."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from tenant_apps.commissions.engine import CLOSING_ACTIONS, CLOSING_ENTRIES, MAX_LEVELS

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _active(rows, at: datetime):
    for row in rows:
        if row.valid_from <= at and (row.valid_to is None or at < row.valid_to):
            return row
    return None


@dataclass
class Row:
    kind: str
    server_id: int | None
    ticket: int
    level: int
    partner_id: int
    plan_version_id: int
    client_id: int
    deal_time: datetime
    rate: Decimal
    amount: Decimal


class Reference:
    """Loads the (small) interval and plan tables once; `deal_rows(deal)` then pays one deal."""

    def __init__(self):
        from tenant_apps.commissions.models import CommissionRule, PlanAssignment, PlanVersion
        from tenant_apps.partners.models import ClientAssignment, Partner, PartnerLink
        from tenant_apps.trading.models import TradingAccount

        self.accounts = {(a.server_id, a.login): (a.client_id, a.account_type_id, a.currency) for a in
                         TradingAccount.objects.only("server_id", "login", "client_id", "account_type_id", "currency")}
        self.assignments = defaultdict(list)
        for a in ClientAssignment.objects.all():
            self.assignments[a.client_id].append(a)
        self.links = defaultdict(list)
        for link in PartnerLink.objects.all():
            self.links[link.partner_id].append(link)
        self.plan_assignments = defaultdict(list)
        for pa in PlanAssignment.objects.all():
            self.plan_assignments[pa.partner_id].append(pa)
        self.versions = defaultdict(list)
        for v in PlanVersion.objects.select_related("plan"):
            self.versions[v.plan_id].append(v)
        self.rules = defaultdict(list)
        for r in CommissionRule.objects.order_by("id"):
            self.rules[r.version_id].append(r)
        self.partner_user = dict(Partner.objects.values_list("id", "user_id"))
        self.open_times = None

    def load_open_times(self):
        from django.db.models import Min

        from tenant_apps.trading.models import Deal

        self.open_times = {(r["server_id"], r["login"], r["position_id"]): r["t"] for r in
                           Deal.objects.filter(entry=0).exclude(position_id=0)
                           .values("server_id", "login", "position_id").annotate(t=Min("time"))}

    def version_at(self, partner_id: int, at: datetime):
        pa = _active(self.plan_assignments.get(partner_id, ()), at)
        return _active(self.versions.get(pa.plan_id, ()), at) if pa else None

    def rule(self, version, kind: str, level: int, symbol: str, account_type_id: int):
        best, best_rank = None, None
        for r in self.rules.get(version.pk, ()):
            if r.kind != kind or r.level != level:
                continue
            if r.symbols and symbol not in r.symbols:
                continue
            if r.account_type_id is not None and r.account_type_id != account_type_id:
                continue
            rank = (bool(r.symbols), r.account_type_id is not None)
            if best is None or rank > best_rank:
                best, best_rank = r, rank
        return best

    def excluded(self, version, deal, client_id: int, partner_id: int) -> bool:
        if version.exclude_own_trades and self.partner_user.get(partner_id) == client_id:
            return True
        if version.min_hold_seconds:
            if self.open_times is None:
                self.load_open_times()
            opened = self.open_times.get((deal.server_id, deal.login, deal.position_id))
            if opened is not None and (deal.time - opened).total_seconds() < version.min_hold_seconds:
                return True
        return version.hedged_pairs_once and deal.entry == 3 and deal.side == "sell"

    def deal_rows(self, deal) -> list[Row]:
        if deal.action not in CLOSING_ACTIONS or deal.entry not in CLOSING_ENTRIES:
            return []
        account = self.accounts.get((deal.server_id, deal.login))
        if account is None:
            return []
        client_id, account_type_id, account_currency = account
        assignment = _active(self.assignments.get(client_id, ()), deal.time)
        if assignment is None:
            return []
        rows, partner_id, level, child_total = [], assignment.partner_id, 0, Decimal(0)
        while partner_id is not None and level <= MAX_LEVELS:
            version = self.version_at(partner_id, deal.time)
            total = Decimal(0)
            if level == 0:
                if version is not None and not self.excluded(version, deal, client_id, partner_id):
                    rebate = self.rule(version, "rebate", 0, deal.symbol, account_type_id)
                    share = self.rule(version, "revenue_share", 0, deal.symbol, account_type_id)
                    if rebate is not None and cents(deal.volume_lots * rebate.per_lot):
                        amount = cents(deal.volume_lots * rebate.per_lot)
                        rows.append(Row("rebate", deal.server_id, deal.ticket, 0, partner_id, version.pk, client_id,
                                        deal.time, rebate.per_lot, amount))
                        total += amount
                    # revenue share only where the deal's money is the plan's currency (no rate is invented)
                    if share is not None and account_currency == version.plan.currency:
                        revenue = -(deal.commission + (deal.swap if version.include_swap_in_revenue else 0))
                        amount = cents(max(revenue, Decimal(0)) * share.percent / 100)
                        if amount:
                            rows.append(Row("revenue_share", deal.server_id, deal.ticket, 0, partner_id, version.pk,
                                            client_id, deal.time, share.percent, amount))
                            total += amount
            elif version is not None and not self.excluded(version, deal, client_id, partner_id):
                override = self.rule(version, "override", level, deal.symbol, account_type_id)
                if override is not None:
                    amount = cents(child_total * override.percent / 100 + deal.volume_lots * override.per_lot)
                    if amount:
                        rows.append(Row("override", deal.server_id, deal.ticket, level, partner_id, version.pk,
                                        client_id, deal.time, override.percent or override.per_lot, amount))
                    total = amount
            child_total = total
            link = _active(self.links.get(partner_id, ()), deal.time)
            partner_id = link.parent_id if link else None
            level += 1
        return rows


def reference_period(deals, *, caps: bool = True) -> list[Row]:
    """Every row of a period's deals (iterable of trading.Deal), caps applied per IB in deal order."""
    ref = Reference()
    rows = []
    for deal in deals:
        rows.extend(ref.deal_rows(deal))
    if not caps:
        return rows
    by_partner = defaultdict(list)
    for row in rows:
        by_partner[row.partner_id].append(row)
    versions = {v.pk: v for vs in ref.versions.values() for v in vs}
    out = []
    for partner_rows in by_partner.values():
        partner_rows.sort(key=lambda r: (r.deal_time, r.server_id, r.ticket, r.level, r.kind))
        running = Decimal(0)
        for row in partner_rows:
            running += row.amount
            cap = versions[row.plan_version_id].cap_per_period
            if cap is not None:
                row.amount = min(row.amount, max(cap - (running - row.amount), Decimal(0)))
            if row.amount:
                out.append(row)
    return out
