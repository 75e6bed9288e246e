"""Partner reports (reads only): an IB's monthly volume and commission series (partner portal charts), rebates
earned (Trader's Room), a client's commission effect per IB interval (dispute view) and the IB performance report
(back office) with flags against the brokerage's benchmarks.

Every figure is aggregated in SQL; the number of queries does not depend on the number of IBs, clients or deals.
Volume is the lots of closing deals (the deals commissions are computed on, commissions.engine) of the clients that
were assigned to the IB at the deal's time; months and dates are the brokerage's (tenant timezone)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from tenant_apps.commissions.engine import CLOSING_ACTIONS, CLOSING_ENTRIES
from tenant_apps.partners.models import ClientAssignment, Partner
from tenant_apps.partners.selectors import policy, tenant_zone

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# CRM lifecycle stages that mean "reached KYC approval / was funded / is active" (crm.lifecycle).
KYC_STAGES = ("kyc_approved", "funded", "active", "dormant")
FUNDED_STAGES = ("funded", "active", "dormant")
ACTIVE_STAGES = ("active",)

_VOLUME_SQL = """
SELECT ca.partner_id, {bucket} AS bucket, COALESCE(SUM(d.volume_lots), 0)
FROM trading_deal d
JOIN trading_tradingaccount ta ON ta.server_id = d.server_id AND ta.login = d.login AND NOT ta.is_demo
JOIN partners_clientassignment ca ON ca.client_id = ta.client_id AND ca.valid_from <= d.time
     AND (ca.valid_to IS NULL OR d.time < ca.valid_to)
WHERE d.time >= %(start)s AND d.time < %(end)s AND d.action = ANY(%(actions)s) AND d.entry = ANY(%(entries)s)
      {partner_filter}
GROUP BY 1, 2
"""


def _volumes(*, start: datetime, end: datetime, partner_id: int | None = None, monthly: bool = False) -> dict:
    """{(partner_id, month | None): lots} of closing deals in [start, end). One query."""
    bucket = "date_trunc('month', d.time AT TIME ZONE %(zone)s)::date" if monthly else "NULL::date"
    sql = _VOLUME_SQL.format(bucket=bucket, partner_filter="AND ca.partner_id = %(partner)s" if partner_id else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"start": start, "end": end, "actions": list(CLOSING_ACTIONS),
                             "entries": list(CLOSING_ENTRIES), "partner": partner_id, "zone": tenant_zone().key})
        return {(pid, bucket): lots for pid, bucket, lots in cursor.fetchall()}


def _month_add(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tenant_zone())


# --- the partner portal's charts -----------------------------------------------------------------------------

def monthly_series(partner: Partner, *, months: int = 6, now: datetime | None = None) -> dict:
    """The IB's last `months` months (this one included): {"months": [date], "labels": ["2026-10"],
    "volume": [lots], "commissions": {currency: [amount]}}. Two queries."""
    from tenant_apps.commissions.models import CommissionAccrual

    now = (now or timezone.now()).astimezone(tenant_zone())
    last = date(now.year, now.month, 1)
    firsts = [_month_add(last, -i) for i in range(months - 1, -1, -1)]
    start, end = _local_start(firsts[0]), _local_start(_month_add(last, 1))
    lots = _volumes(start=start, end=end, partner_id=partner.pk, monthly=True)
    commissions: dict[str, dict[date, Decimal]] = {}
    for row in (CommissionAccrual.objects.filter(partner=partner, period__gte=firsts[0], period__lte=last)
                .values("period", "currency").annotate(total=Sum("amount")).order_by()):
        commissions.setdefault(row["currency"], {})[row["period"]] = row["total"]
    return {"months": firsts, "labels": [f"{m:%Y-%m}" for m in firsts],
            "volume": [lots.get((partner.pk, m), ZERO) for m in firsts],
            "commissions": {cur: [by_month.get(m, ZERO) for m in firsts]
                            for cur, by_month in sorted(commissions.items())}}


def series_rows(series: dict) -> list[dict]:
    """The same series as table rows (the accessible form of the charts): [{"label", "volume", "amounts"}]."""
    return [{"label": label, "volume": series["volume"][i],
             "amounts": [values[i] for values in series["commissions"].values()]}
            for i, label in enumerate(series["labels"])]


def chart_payload(series: dict) -> dict:
    """The series as JSON-safe strings for the page's Chart.js (json_script)."""
    return {"labels": series["labels"], "volume": [str(v) for v in series["volume"]],
            "commissions": {cur: [str(v) for v in values] for cur, values in series["commissions"].items()}}


def rebates_earned(partner: Partner) -> list[dict]:
    """The IB's commissions so far per currency: total (originals and adjustments) and how much was paid. One query."""
    from tenant_apps.commissions.models import AccrualStatus, CommissionAccrual

    return list(CommissionAccrual.objects.filter(partner=partner).values("currency")
                .annotate(total=Sum("amount"), paid=Sum("amount", filter=Q(status=AccrualStatus.PAID)))
                .order_by("currency"))


# --- the dispute view ------------------------------------------------------------------------------------------

def commission_effect_by_interval(client_id: int, assignments: list) -> list[dict]:
    """commissions.selectors.client_commission_effect (per period, IB, original/adjustment) with the client's IB
    intervals each period overlaps ("intervals": [position in `assignments`, 1-based]). One query."""
    from tenant_apps.commissions.selectors import client_commission_effect

    zone = tenant_zone()
    rows = client_commission_effect(client_id)
    for row in rows:
        start = datetime.combine(row["period"], time.min, tzinfo=zone)
        end = datetime.combine(_month_add(row["period"], 1), time.min, tzinfo=zone)
        row["intervals"] = [i for i, a in enumerate(assignments, start=1)
                            if a.valid_from < end and (a.valid_to is None or a.valid_to > start)]
        row["direct"] = any(assignments[i - 1].partner_id == row["partner_id"] for i in row["intervals"])
    return rows


# --- the IB performance report ---------------------------------------------------------------------------------

@dataclass
class PerformanceRow:
    partner: Partner
    registrations: int = 0
    kyc_approved: int = 0
    funded: int = 0
    active: int = 0
    volume: Decimal = ZERO
    commissions: dict = field(default_factory=dict)  # currency → amount
    flags: list = field(default_factory=list)

    @staticmethod
    def _rate(n: int, of: int) -> Decimal | None:
        return (Decimal(n) * HUNDRED / of).quantize(Decimal("0.1")) if of else None

    @property
    def kyc_rate(self):
        return self._rate(self.kyc_approved, self.registrations)

    @property
    def funding_rate(self):
        return self._rate(self.funded, self.registrations)

    @property
    def activation_rate(self):
        return self._rate(self.active, self.registrations)

    @property
    def commissions_text(self) -> str:
        return "; ".join(f"{amount} {cur}" for cur, amount in sorted(self.commissions.items()))


@dataclass
class PerformanceReport:
    start: date
    end: date  # inclusive
    rows: list[PerformanceRow]
    min_activation_rate: Decimal | None
    min_funding_rate: Decimal | None
    with_commissions: bool

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        header = ["IB", "Name", "Status", "Registrations", "KYC approved %", "Funded %", "Active %", "Volume (lots)"]
        writer.writerow(header + (["Commissions"] if self.with_commissions else []) + ["Flags"])
        for r in self.rows:
            values = [r.partner.code, r.partner.user.full_name or r.partner.user.email, r.partner.status,
                      r.registrations, _blank(r.kyc_rate), _blank(r.funding_rate), _blank(r.activation_rate),
                      r.volume]
            writer.writerow(values + ([r.commissions_text] if self.with_commissions else []) + ["; ".join(r.flags)])
        return out.getvalue()


def _blank(value):
    return "" if value is None else value


class ReportRangeError(ValueError):
    pass


def parse_range(raw_from: str, raw_to: str, *, today: date | None = None) -> tuple[date, date]:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD (both inclusive, brokerage dates); defaults: this month so far.
    Raises ReportRangeError with a message fit for the user."""
    today = today or timezone.now().astimezone(tenant_zone()).date()
    try:
        start = date.fromisoformat(raw_from.strip()) if (raw_from or "").strip() else today.replace(day=1)
        end = date.fromisoformat(raw_to.strip()) if (raw_to or "").strip() else today
    except ValueError:
        raise ReportRangeError("Dates are written YYYY-MM-DD, e.g. 2026-10-31.") from None
    if end < start:
        raise ReportRangeError("The end date is before the start date.")
    if (end - start).days > 3660:
        raise ReportRangeError("A report covers at most ten years.")
    return start, end


def performance_report(*, start: date, end: date, with_commissions: bool) -> PerformanceReport:
    """Per IB, for the clients newly referred to it between `start` and `end` (brokerage dates, inclusive):
    registrations and the share of them that reached KYC approval, were funded and are active now (CRM lifecycle);
    volume (lots) and commissions of the period from every client attributed to it at deal time. IBs below the
    brokerage's benchmarks (PartnerPolicy) are flagged. Five queries, whatever the number of IBs."""
    from tenant_apps.commissions.models import CommissionAccrual

    found = policy()
    lo, hi = _local_start(start), _local_start(end + timedelta(days=1))
    partners = list(Partner.objects.exclude(status__in=(Partner.Status.APPLIED, Partner.Status.REJECTED))
                    .select_related("user").order_by("code"))
    rows = {p.pk: PerformanceRow(partner=p) for p in partners}
    stage = "client__client_record__stage"
    # a registration is a client newly referred to the IB; a client moved to it by a reassignment is not one
    for r in (ClientAssignment.objects.filter(valid_from__gte=lo, valid_from__lt=hi)
              .exclude(source=ClientAssignment.Source.REASSIGNMENT).values("partner_id")
              .annotate(registrations=Count("client_id", distinct=True),
                        kyc=Count("client_id", distinct=True, filter=Q(**{f"{stage}__in": KYC_STAGES})),
                        funded=Count("client_id", distinct=True, filter=Q(**{f"{stage}__in": FUNDED_STAGES})),
                        active=Count("client_id", distinct=True, filter=Q(**{f"{stage}__in": ACTIVE_STAGES})))
              .order_by()):
        if r["partner_id"] in rows:
            row = rows[r["partner_id"]]
            row.registrations, row.kyc_approved, row.funded, row.active = (
                r["registrations"], r["kyc"], r["funded"], r["active"])
    for (pid, _), lots in _volumes(start=lo, end=hi).items():
        if pid in rows:
            rows[pid].volume = lots
    if with_commissions:
        for r in (CommissionAccrual.objects.filter(deal_time__gte=lo, deal_time__lt=hi)
                  .values("partner_id", "currency").annotate(total=Sum("amount")).order_by()):
            if r["partner_id"] in rows:
                rows[r["partner_id"]].commissions[r["currency"]] = r["total"]
    for row in rows.values():
        if row.registrations:
            # compared exactly (n / registrations < benchmark), not on the rounded percentage shown
            if (found.min_activation_rate is not None
                    and row.active * HUNDRED < found.min_activation_rate * row.registrations):
                row.flags.append(f"Activation {row.activation_rate}% below {found.min_activation_rate}%")
            if found.min_funding_rate is not None and row.funded * HUNDRED < found.min_funding_rate * row.registrations:
                row.flags.append(f"Funding {row.funding_rate}% below {found.min_funding_rate}%")
    return PerformanceReport(start=start, end=end, rows=list(rows.values()),
                             min_activation_rate=found.min_activation_rate, min_funding_rate=found.min_funding_rate,
                             with_commissions=with_commissions)
