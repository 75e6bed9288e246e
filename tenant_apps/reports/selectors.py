"""Report reads: the report builder's one grouped query per definition, and the standard reports (money,
trading volume, funnel, dormancy, KYC SLA). Every figure is aggregated in SQL (values().annotate()); the number
of queries never depends on the number of rows. Dates are the brokerage's (tenant timezone); amounts are never
added across currencies."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Extract, TruncDay, TruncMonth, TruncWeek
from django.utils.translation import gettext as _t

from tenancy.context import require_tenant
from tenant_apps.partners.reports import ACTIVE_STAGES, FUNDED_STAGES, KYC_STAGES
from tenant_apps.partners.selectors import tenant_zone
from tenant_apps.reports.definitions import DATASETS, Definition, definition_validate
from tenant_apps.reports.errors import ReportForbidden

ROW_LIMIT = 10_000
ZERO = Decimal(0)
HUNDRED = Decimal(100)
MONEY_FIELD = DecimalField(max_digits=20, decimal_places=8)


def local_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tenant_zone())


def local_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, day after end 00:00) in the brokerage's timezone, as aware datetimes."""
    return local_start(start), local_start(end + timedelta(days=1))


def may_see_money(user) -> bool:
    from tenant_apps.identity.permissions import has_perm

    return user is None or has_perm(user, "clients.finance", "view")


# --- the report builder ----------------------------------------------------------------------------------------

@dataclass
class Column:
    key: str
    label: str
    kind: str  # "dimension" | "measure"
    money: bool = False


@dataclass
class ReportResult:
    definition: Definition
    columns: list[Column]
    rows: list[dict]
    truncated: bool = False

    def table(self) -> list[list]:
        return [[row[c.key] for c in self.columns] for row in self.rows]

    def chart(self) -> dict:
        """Chart.js data: labels from the dimensions (currency last), one dataset per measure (and currency)."""
        dims = [c.key for c in self.columns if c.kind == "dimension" and c.key != "currency"]
        measures = [c for c in self.columns if c.kind == "measure"]
        labels: list[str] = []
        series: dict[str, dict[str, float]] = {}
        for row in self.rows:
            label = " · ".join(_text(row[d]) for d in dims) or _t("All")
            if label not in labels:
                labels.append(label)
            for m in measures:
                name = f"{m.label} ({row['currency']})" if m.money and "currency" in row else str(m.label)
                series.setdefault(name, {})[label] = float(row[m.key] or 0)
        return {"labels": labels, "datasets": [{"label": name, "data": [values.get(lb, 0) for lb in labels]}
                                               for name, values in series.items()]}


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value)


def _current_ib(client_ref: str):
    from tenant_apps.partners.models import ClientAssignment

    return Subquery(ClientAssignment.objects.filter(client_id=OuterRef(client_ref), valid_to__isnull=True)
                    .values("partner__code")[:1])


def _money_base(dataset: str):
    """Deposits or withdrawals with `booked_at`: when the money moved (credited / sent), else when created."""
    from tenant_apps.payments.models import Deposit, MoneyEvent, Withdrawal

    if dataset == "deposits":
        model, booked_status, subject = Deposit, "credited", "deposit"
    else:
        model, booked_status, subject = Withdrawal, "sent", "withdrawal"
    booked = Subquery(MoneyEvent.objects.filter(**{subject: OuterRef("pk")}, to_status=booked_status)
                      .order_by("at").values("at")[:1], output_field=DateTimeField())
    return model.objects.annotate(booked_at=Coalesce(booked, F("created_at")))


def _queryset(d: Definition):
    """(queryset, time field, {dimension: expression}, {measure: aggregate})."""
    zone = tenant_zone()
    code = d.dataset.code
    if code in ("deposits", "withdrawals"):
        qs = _money_base(code)
        when = "booked_at"
        dims = {"method": F("method__code"), "country": F("client__client_record__country"),
                "entity": F("method__provider__legal_entity__name"), "currency": F("currency"),
                "ib": _current_ib("client_id"), "source": F("client__client_record__utm_source"),
                "status": F("status")}
        measures = {"count": Count("id"), "sum_amount": Sum("amount"), "avg_amount": Avg("amount")}
        if code == "deposits":
            measures["sum_fee"] = Sum("fee")
            measures["sum_net"] = Sum(ExpressionWrapper(F("amount") - F("fee"), output_field=MONEY_FIELD))
        filters = {"country": "client__client_record__country__in", "method": "method__code__in",
                   "status": "status__in", "currency": "currency__in"}
    elif code == "trading_volume":
        from tenant_apps.commissions.engine import CLOSING_ACTIONS, CLOSING_ENTRIES
        from tenant_apps.partners.models import ClientAssignment
        from tenant_apps.trading.models import Deal, TradingAccount

        account = TradingAccount.objects.filter(server_id=OuterRef("server_id"), login=OuterRef("login"), is_demo=False)
        qs = (Deal.objects.filter(action__in=CLOSING_ACTIONS, entry__in=CLOSING_ENTRIES)
              .filter(Exists(account))
              .annotate(client_id=Subquery(account.values("client_id")[:1]),
                        client_country=Subquery(account.values("client__client_record__country")[:1]),
                        client_source=Subquery(account.values("client__client_record__utm_source")[:1])))
        ib_at_deal = Subquery(ClientAssignment.objects.filter(client_id=OuterRef("client_id"),
                                                              valid_from__lte=OuterRef("time"))
                              .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=OuterRef("time")))
                              .values("partner__code")[:1])
        when = "time"
        dims = {"symbol": F("symbol"), "country": F("client_country"), "entity": F("server__legal_entity__name"),
                "ib": ib_at_deal, "source": F("client_source")}
        measures = {"count": Count("id"), "sum_volume": Sum("volume_lots"), "avg_volume": Avg("volume_lots")}
        filters = {"country": "client_country__in", "symbol": "symbol__in"}
    else:  # clients
        from tenant_apps.crm.models import ClientRecord
        from tenant_apps.identity.models import UserKind

        qs = ClientRecord.objects.filter(user__kind=UserKind.CLIENT)
        when = "user__date_joined"
        dims = {"country": F("country"), "source": F("utm_source"), "ib": _current_ib("user_id"), "stage": F("stage")}
        measures = {"count": Count("id")}
        filters = {"country": "country__in", "stage": "stage__in"}
    dims.update({"day": TruncDay(when, tzinfo=zone), "week": TruncWeek(when, tzinfo=zone),
                 "month": TruncMonth(when, tzinfo=zone)})
    lo, hi = local_bounds(d.date_from, d.date_to)
    qs = qs.filter(**{f"{when}__gte": lo, f"{when}__lt": hi})
    for key, values in d.filters.items():
        qs = qs.filter(**{filters[key]: list(values)})
    return qs, dims, measures


def builder_run(*, definition, user=None, limit: int = ROW_LIMIT) -> ReportResult:
    """Run a report builder definition (raw JSON or validated) as ONE grouped SQL query.

    Raises DefinitionError for a bad definition and ReportForbidden when it asks for amounts the user may not see
    (clients.finance)."""
    require_tenant()
    d = definition if isinstance(definition, Definition) else definition_validate(definition)
    if d.has_money and not may_see_money(user):
        raise ReportForbidden(_t("Amounts need the “client money figures” permission; choose counts only."),
                              field="measures")
    qs, dim_exprs, measure_exprs = _queryset(d)
    # dimension names are prefixed: an annotation may not shadow a model field ("country", "currency", "status")
    aliases = {dim: f"dim_{dim}" for dim in d.dimensions}
    qs = qs.annotate(**{aliases[dim]: dim_exprs[dim] for dim in d.dimensions})
    grouped = qs.values(*aliases.values()).annotate(**{f"m_{m}": measure_exprs[m] for m in d.measures})
    grouped = grouped.order_by(*aliases.values()) if aliases else grouped.order_by()
    raw = list(grouped[: limit + 1])
    rows = []
    for r in raw[:limit]:
        row = {}
        for dim in d.dimensions:
            value = r[aliases[dim]]
            if dim in ("day", "week", "month") and isinstance(value, datetime):
                value = value.astimezone(tenant_zone()).date()
                if dim == "month":
                    value = value.strftime("%Y-%m")
            row[dim] = "" if value is None else value
        for m in d.measures:
            value = r[f"m_{m}"]
            if d.dataset.measures[m].money and value is not None:
                value = _money_round(value, row.get("currency", ""), average=m.startswith("avg"))
            elif m.startswith("avg") and value is not None:
                value = Decimal(value).quantize(Decimal("0.0001"))
            row[m] = value
        rows.append(row)
    columns = [Column(dim, str(d.dataset.dimensions[dim]), "dimension") for dim in d.dimensions]
    columns += [Column(m, str(d.dataset.measures[m].label), "measure", d.dataset.measures[m].money) for m in d.measures]
    return ReportResult(definition=d, columns=columns, rows=rows, truncated=len(raw) > limit)


def _money_round(value: Decimal, currency: str, *, average: bool) -> Decimal:
    """Sums are exact already (each amount is booked at the currency's precision); an average is rounded to it.
    The precision is the ledger's (ledger.currencies — the one table)."""
    from tenant_apps.ledger.currencies import currency_minor_units

    places = currency_minor_units(currency) if currency else 2
    quantum = Decimal(1).scaleb(-places)
    return value.quantize(quantum) if average or value == value.quantize(quantum) else value


# --- standard reports ----------------------------------------------------------------------------------------

MONEY_GROUPS = ("day", "method", "country", "entity")


@dataclass
class MoneyReport:
    start: date
    end: date
    group: str
    # {(group value, currency): {"deposits": amount, "deposit_count": n, "withdrawals": ..., "net": ...}}
    rows: list[dict] = field(default_factory=list)
    totals: dict[str, dict] = field(default_factory=dict)  # {currency: {...}}

    def chart(self) -> dict:
        labels = sorted({_text(r["group"]) for r in self.rows})
        datasets = []
        for currency in sorted(self.totals):
            for key, label in (("deposits", _t("Deposits")), ("withdrawals", _t("Withdrawals"))):
                values = {_text(r["group"]): float(r[key]) for r in self.rows if r["currency"] == currency}
                datasets.append({"label": f"{label} ({currency})", "data": [values.get(lb, 0) for lb in labels]})
        return {"labels": labels, "datasets": datasets}


def money_report(*, start: date, end: date, group: str = "day", user=None) -> MoneyReport:
    """Deposits (credited, gross), withdrawals (sent) and net per `group` and currency. Two queries."""
    if group not in MONEY_GROUPS:
        group = "day"
    filters = {"date_from": start.isoformat(), "date_to": end.isoformat()}
    dep = builder_run(definition={"dataset": "deposits", "dimensions": [group], "measures": ["count", "sum_amount"],
                                  "filters": filters}, user=user)
    wd = builder_run(definition={"dataset": "withdrawals", "dimensions": [group], "measures": ["count", "sum_amount"],
                                 "filters": filters}, user=user)
    merged: dict[tuple, dict] = {}
    for source, prefix in ((dep, "deposit"), (wd, "withdrawal")):
        for r in source.rows:
            row = merged.setdefault((r[group], r["currency"]), {
                "group": r[group], "currency": r["currency"], "deposits": ZERO, "deposit_count": 0,
                "withdrawals": ZERO, "withdrawal_count": 0})
            row[f"{prefix}s"] = r["sum_amount"] or ZERO
            row[f"{prefix}_count"] = r["count"]
    report = MoneyReport(start=start, end=end, group=group)
    for key in sorted(merged, key=lambda k: (str(k[0]), k[1])):
        row = merged[key]
        row["net"] = row["deposits"] - row["withdrawals"]
        report.rows.append(row)
        total = report.totals.setdefault(row["currency"], {"deposits": ZERO, "withdrawals": ZERO, "net": ZERO,
                                                           "deposit_count": 0, "withdrawal_count": 0})
        for k in ("deposits", "withdrawals", "net", "deposit_count", "withdrawal_count"):
            total[k] += row[k]
    return report


@dataclass
class FunnelRow:
    group: str
    registered: int = 0
    kyc_approved: int = 0
    funded: int = 0
    active: int = 0

    def _rate(self, n: int):
        return (Decimal(n) * HUNDRED / self.registered).quantize(Decimal("0.1")) if self.registered else None

    @property
    def kyc_rate(self):
        return self._rate(self.kyc_approved)

    @property
    def funded_rate(self):
        return self._rate(self.funded)

    @property
    def active_rate(self):
        return self._rate(self.active)


FUNNEL_GROUPS = ("source", "ib", "country")


def funnel_report(*, start: date, end: date, group: str = "source") -> tuple[list[FunnelRow], FunnelRow]:
    """Clients registered in [start, end] per source (utm_source), IB or country, and how many of them reached
    KYC approval, were funded and are active now (CRM lifecycle stage; the stage sets are the IB performance
    report's, partners.reports). Counts only — nothing here is an amount. One query."""
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import UserKind

    require_tenant()
    if group not in FUNNEL_GROUPS:
        group = "source"
    lo, hi = local_bounds(start, end)
    expr = {"source": F("utm_source"), "country": F("country"), "ib": _current_ib("user_id")}[group]
    rows_qs = (ClientRecord.objects.filter(user__kind=UserKind.CLIENT, user__date_joined__gte=lo,
                                           user__date_joined__lt=hi)
               .annotate(g=expr).values("g")
               .annotate(registered=Count("id"), kyc=Count("id", filter=Q(stage__in=KYC_STAGES)),
                         funded=Count("id", filter=Q(stage__in=FUNDED_STAGES)),
                         active=Count("id", filter=Q(stage__in=ACTIVE_STAGES)))
               .order_by("-registered", "g"))
    rows, total = [], FunnelRow(group=_t("All"))
    for r in rows_qs:
        row = FunnelRow(group=r["g"] or "", registered=r["registered"], kyc_approved=r["kyc"], funded=r["funded"],
                        active=r["active"])
        rows.append(row)
        for k in ("registered", "kyc_approved", "funded", "active"):
            setattr(total, k, getattr(total, k) + getattr(row, k))
    return rows, total


def dormancy_report(*, start: date, end: date) -> dict:
    """Churn and dormancy: per month, clients who went dormant and who came back (dormant → active/funded), from
    the lifecycle's StageTransition rows; and the funded base now by stage. Two queries."""
    from tenant_apps.crm.models import ClientRecord, StageTransition

    require_tenant()
    zone = tenant_zone()
    lo, hi = local_bounds(start, end)
    months: dict[str, dict] = {}
    for r in (StageTransition.objects.filter(at__gte=lo, at__lt=hi)
              .filter(Q(to_stage="dormant") | Q(from_stage="dormant"))
              .annotate(month=TruncMonth("at", tzinfo=zone)).values("month")
              .annotate(went_dormant=Count("client_id", filter=Q(to_stage="dormant"), distinct=True),
                        reactivated=Count("client_id", filter=Q(from_stage="dormant") & ~Q(to_stage="dormant"),
                                          distinct=True))
              .order_by("month")):
        months[r["month"].astimezone(zone).strftime("%Y-%m")] = {"went_dormant": r["went_dormant"],
                                                                "reactivated": r["reactivated"]}
    base = dict(ClientRecord.objects.filter(stage__in=FUNDED_STAGES).values_list("stage").annotate(n=Count("id"))
                .order_by())
    funded_total = sum(base.values())
    dormant = base.get("dormant", 0)
    return {"months": months, "by_stage": {s: base.get(s, 0) for s in FUNDED_STAGES}, "funded_total": funded_total,
            "dormancy_rate": (Decimal(dormant) * HUNDRED / funded_total).quantize(Decimal("0.1")) if funded_total else None,
            "chart": {"labels": list(months), "datasets": [
                {"label": _t("Went dormant"), "data": [m["went_dormant"] for m in months.values()]},
                {"label": _t("Reactivated"), "data": [m["reactivated"] for m in months.values()]}]}}


class Percentile(Aggregate):
    """PostgreSQL percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


KYC_SLA_HOURS = 24


def kyc_sla_report(*, start: date, end: date) -> dict:
    """Time from KYC submission to decision for cases decided in [start, end], per decision month: count, mean,
    median and 90th percentile in hours, share decided within KYC_SLA_HOURS; plus cases waiting now past it.
    Two queries."""
    from django.utils import timezone

    from tenant_apps.compliance.models import KycCase

    require_tenant()
    zone = tenant_zone()
    lo, hi = local_bounds(start, end)
    hours = ExpressionWrapper(Extract(F("decided_at") - F("submitted_at"), "epoch") / Value(3600.0),
                              output_field=FloatField())
    rows = []
    for r in (KycCase.objects.filter(decided_at__gte=lo, decided_at__lt=hi, submitted_at__isnull=False)
              .annotate(month=TruncMonth("decided_at", tzinfo=zone), hours=hours).values("month")
              .annotate(decided=Count("id"), approved=Count("id", filter=Q(state="approved")),
                        mean=Avg("hours"), median=Percentile("hours", 0.5), p90=Percentile("hours", 0.9),
                        within=Count("id", filter=Q(hours__lte=KYC_SLA_HOURS)))
              .order_by("month")):
        rows.append({"month": r["month"].astimezone(zone).strftime("%Y-%m"), "decided": r["decided"],
                     "approved": r["approved"], "mean": _hours(r["mean"]), "median": _hours(r["median"]),
                     "p90": _hours(r["p90"]),
                     "within_rate": (Decimal(r["within"]) * HUNDRED / r["decided"]).quantize(Decimal("0.1"))})
    waiting_late = KycCase.objects.filter(state="pending_review", submitted_at__lt=timezone.now()
                                          - timedelta(hours=KYC_SLA_HOURS)).count()
    return {"rows": rows, "sla_hours": KYC_SLA_HOURS, "waiting_late": waiting_late,
            "chart": {"labels": [r["month"] for r in rows], "datasets": [
                {"label": _t("Median hours"), "data": [float(r["median"] or 0) for r in rows]},
                {"label": _t("90th percentile hours"), "data": [float(r["p90"] or 0) for r in rows]}]}}


def _hours(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))


# --- saved reports and jobs ----------------------------------------------------------------------------------

def saved_reports_for(*, user):
    from tenant_apps.reports.models import SavedReport

    require_tenant()
    return list(SavedReport.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner").order_by("name", "id"))


def saved_report_get(*, user, pk: int):
    from tenant_apps.reports.models import SavedReport

    return SavedReport.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner").filter(pk=pk).first()


def jobs_for(*, user, limit: int = 20):
    from tenant_apps.reports.models import ReportJob

    return list(ReportJob.objects.filter(requested_by=user).defer("content").order_by("-created_at", "-id")[:limit])


def job_get(*, user, pk: int, with_content: bool = False):
    from tenant_apps.reports.models import ReportJob

    qs = ReportJob.objects.filter(requested_by=user, pk=pk)
    return (qs if with_content else qs.defer("content")).first()


def dataset_choices() -> dict:
    return DATASETS
