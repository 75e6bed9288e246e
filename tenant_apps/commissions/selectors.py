"""Reads of the commission capability: period overviews, an IB's statement (per-deal breakdown), payouts."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, Sum

from tenant_apps.commissions import engine
from tenant_apps.commissions.models import (
    AccrualStatus,
    CommissionAccrual,
    CommissionApproval,
    CommissionPayout,
    CommissionPlan,
)

PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


def period_parse(raw: str) -> date | None:
    """'2026-10' → date(2026, 10, 1); None for anything else."""
    match = PERIOD_RE.match((raw or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def _status_sums():
    return {f"{s}_total": Sum("amount", filter=Q(status=s)) for s in AccrualStatus.values}


def periods_overview(limit: int = 24) -> list[dict]:
    """One row per period and currency: rows, adjustments, totals by status. One query."""
    rows = (CommissionAccrual.objects.values("period", "currency")
            .annotate(rows=Count("id"), adjustments=Count("id", filter=Q(is_adjustment=True)), total=Sum("amount"),
                      **_status_sums())
            .order_by("-period", "currency"))
    return list(rows[:limit])


def period_by_partner(period: date) -> list[dict]:
    """A period's net per IB (and status), for the approval page. One query."""
    return list(CommissionAccrual.objects.filter(period=period)
                .values("partner_id", "partner__code", "partner__user__full_name", "currency")
                .annotate(rows=Count("id"), total=Sum("amount"), **_status_sums())
                .order_by("partner__code", "currency"))


def partner_periods(partner) -> list[dict]:
    return list(CommissionAccrual.objects.filter(partner=partner).values("period", "currency")
                .annotate(rows=Count("id"), total=Sum("amount"), **_status_sums()).order_by("-period")[:36])


def payouts_of(partner, limit: int = 50):
    return CommissionPayout.objects.filter(partner=partner).order_by("-created_at")[:limit]


def approvals_recent(limit: int = 20):
    return CommissionApproval.objects.select_related("approved_by").order_by("-created_at")[:limit]


def payable_by_partner() -> list[dict]:
    """Approved and not yet paid, per IB and currency (what Finance can pay now)."""
    return list(CommissionAccrual.objects.filter(status=AccrualStatus.APPROVED)
                .values("partner_id", "partner__code", "partner__user__full_name", "currency")
                .annotate(total=Sum("amount"), rows=Count("id")).order_by("partner__code"))


def plans_list():
    return CommissionPlan.objects.annotate(version_count=Count("versions", distinct=True),
                                           ib_count=Count("assignments", filter=Q(assignments__valid_to__isnull=True),
                                                          distinct=True)).order_by("name")


def _mask_name(name: str) -> str:
    parts = [p for p in (name or "").split() if p]
    return " ".join(f"{p[0]}." for p in parts) or "—"


@dataclass
class Statement:
    partner: object
    period: date
    rows: list[dict]
    totals: dict[str, Decimal]
    show_clients: bool

    COLUMNS = (("time", "Deal time"), ("ticket", "Deal"), ("client", "Client"), ("symbol", "Symbol"),
               ("volume", "Volume (lots)"), ("kind", "Type"), ("level", "Level"), ("rate", "Rate"),
               ("amount", "Amount"), ("currency", "Currency"), ("status", "Status"))

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([label for _, label in self.COLUMNS])
        for row in self.rows:
            writer.writerow([row[key] for key, _ in self.COLUMNS])
        for currency, total in self.totals.items():
            writer.writerow(["Total", "", "", "", "", "", "", "", total, currency, ""])
        return out.getvalue()

    def pdf(self) -> bytes:
        from platform_core.pdf import brand_current, render_table_pdf

        currencies = ", ".join(f"{t} {c}" for c, t in self.totals.items()) or "0.00"
        return render_table_pdf(
            title=f"Commission statement {self.period:%B %Y}",
            subtitle_lines=[f"IB {self.partner.code} — {self.partner.user.full_name or self.partner.user.email}",
                            f"Period {self.period:%Y-%m} (brokerage time), {len(self.rows)} lines, total {currencies}"],
            columns=list(self.COLUMNS), rows=self.rows,
            totals={"time": "Total", "amount": sum(self.totals.values(), Decimal(0))} if self.rows else None,
            brand=brand_current())


def statement(partner, period: date, *, show_clients: bool | None = None) -> Statement:
    """Every row of the IB's period (originals and adjustments) with what it needs to check it: deal, client
    (initials and account unless the brokerage lets IBs see client details), volume, rate, level, amount."""
    from tenant_apps.partners.models import PartnerPolicy

    if show_clients is None:
        policy = PartnerPolicy.objects.first()
        show_clients = bool(policy and policy.show_client_contacts)
    zone = engine.tenant_zone()
    rows, totals = [], {}
    labels = dict(CommissionAccrual._meta.get_field("kind").choices)
    for a in (CommissionAccrual.objects.filter(partner=partner, period=period).select_related("client")
              .order_by("deal_time", "ticket", "level", "id")):
        name = (a.client.full_name or a.client.email) if a.client else ""
        client = name if show_clients else _mask_name(name)
        if a.login:
            client = f"{client} · {a.login if show_clients else '•••' + str(a.login)[-3:]}"
        rows.append({"time": a.deal_time.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                     "ticket": a.ticket or "", "client": client, "symbol": a.symbol, "volume": a.volume,
                     "kind": labels.get(a.kind, a.kind) + (" (adjustment)" if a.is_adjustment else ""),
                     "level": a.level, "rate": a.rate.normalize() if a.rate else a.rate, "amount": a.amount,
                     "currency": a.currency, "status": a.status})
        totals[a.currency] = totals.get(a.currency, Decimal(0)) + a.amount
    return Statement(partner=partner, period=period, rows=rows, totals=totals, show_clients=show_clients)


def client_commission_effect(client_id: int) -> list[dict]:
    """A client's commissions per period and IB, originals and adjustments apart — what a reassignment changed
    (for the dispute view next to the client's IB intervals). One query."""
    return list(CommissionAccrual.objects.filter(client_id=client_id)
                .values("period", "partner_id", "partner__code", "is_adjustment", "currency")
                .annotate(rows=Count("id"), total=Sum("amount")).order_by("-period", "partner__code", "is_adjustment"))
