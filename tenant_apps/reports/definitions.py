"""The report builder's vocabulary (datasets × dimensions × measures × filters) and the strict validation of a
definition. A definition is plain JSON, stored on SavedReport and ReportJob:

    {"dataset": "deposits", "dimensions": ["country", "method"], "measures": ["count", "sum_amount"],
     "filters": {"date_from": "2026-10-01", "date_to": "2026-10-31", "country": ["CY"], "method": ["card"],
                 "status": ["credited"]}}

Anything not in the tables below is refused with a DefinitionError naming the field; nothing is guessed. Money
measures are always grouped by currency as well (amounts of different currencies are never added together).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext_lazy as _

from tenant_apps.reports.errors import DefinitionError

MAX_DIMENSIONS = 3
MAX_RANGE_DAYS = 3660
MAX_FILTER_VALUES = 50
TIME_DIMENSIONS = ("day", "week", "month")


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    money: bool = False  # an amount: needs clients.finance and is grouped by currency


@dataclass(frozen=True)
class Dataset:
    code: str
    label: str
    dimensions: dict[str, str]
    measures: dict[str, Measure]
    filters: tuple[str, ...]
    statuses: tuple[str, ...] = ()
    default_statuses: tuple[str, ...] = ()
    money: bool = False  # has a currency column
    notes: str = ""
    _extra: dict = field(default_factory=dict)


def _m(code, label, money=False):
    return Measure(code, label, money)


_MONEY_DIMS = {
    "day": _("Day"), "week": _("Week"), "month": _("Month"), "method": _("Payment method"),
    "country": _("Country"), "entity": _("Legal entity"), "currency": _("Currency"), "ib": _("IB"),
    "source": _("Source (utm_source)"), "status": _("Status"),
}

DATASETS: dict[str, Dataset] = {
    "deposits": Dataset(
        code="deposits", label=_("Deposits"), dimensions=_MONEY_DIMS, money=True,
        measures={m.code: m for m in (
            _m("count", _("Number of deposits")),
            _m("sum_amount", _("Amount paid (gross)"), money=True),
            _m("sum_net", _("Credited to wallets (net of fees)"), money=True),
            _m("sum_fee", _("Fees"), money=True),
            _m("avg_amount", _("Average amount"), money=True),
        )},
        filters=("date_from", "date_to", "country", "method", "status", "currency"),
        statuses=("initiated", "pending_psp", "succeeded", "under_review", "credited", "reconciled", "failed",
                  "rejected"),
        default_statuses=("credited", "reconciled"),
        notes=_("Dated when credited (the creation time for deposits never credited)."),
    ),
    "withdrawals": Dataset(
        code="withdrawals", label=_("Withdrawals"), dimensions=_MONEY_DIMS, money=True,
        measures={m.code: m for m in (
            _m("count", _("Number of withdrawals")),
            _m("sum_amount", _("Amount"), money=True),
            _m("avg_amount", _("Average amount"), money=True),
        )},
        filters=("date_from", "date_to", "country", "method", "status", "currency"),
        statuses=("requested", "under_review", "approved", "sent", "received", "rejected", "returned", "cancelled"),
        default_statuses=("sent", "received"),
        notes=_("Dated when sent (the request time for withdrawals never sent)."),
    ),
    "trading_volume": Dataset(
        code="trading_volume", label=_("Trading volume"),
        dimensions={"day": _("Day"), "week": _("Week"), "month": _("Month"), "symbol": _("Symbol"),
                    "country": _("Country"), "entity": _("Legal entity"), "ib": _("IB"), "source": _("Source (utm_source)")},
        measures={m.code: m for m in (
            _m("count", _("Number of closing deals")),
            _m("sum_volume", _("Volume (lots)")),
            _m("avg_volume", _("Average deal size (lots)")),
        )},
        filters=("date_from", "date_to", "country", "symbol"),
        notes=_("Closing deals of live accounts; IB = the IB the client had at the deal's time."),
    ),
    "clients": Dataset(
        code="clients", label=_("Clients"),
        dimensions={"day": _("Day"), "week": _("Week"), "month": _("Month"), "country": _("Country"),
                    "source": _("Source (utm_source)"), "ib": _("IB"), "stage": _("Lifecycle stage")},
        measures={"count": _m("count", _("Number of clients"))},
        filters=("date_from", "date_to", "country", "stage"),
        notes=_("Dated when the client registered."),
    ),
}

STAGES = ("lead", "registered", "kyc_pending", "kyc_approved", "funded", "active", "dormant")
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3,5}$")


@dataclass(frozen=True)
class Definition:
    """A validated definition: safe to turn into a query."""

    dataset: Dataset
    dimensions: tuple[str, ...]  # as chosen, plus "currency" when a money measure needs it
    measures: tuple[str, ...]
    date_from: date
    date_to: date  # inclusive, brokerage dates
    filters: dict[str, tuple[str, ...]]

    @property
    def has_money(self) -> bool:
        return any(self.dataset.measures[m].money for m in self.measures)

    def as_json(self) -> dict:
        chosen = [d for d in self.dimensions]
        return {"dataset": self.dataset.code, "dimensions": chosen, "measures": list(self.measures),
                "filters": {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat(),
                            **{k: list(v) for k, v in self.filters.items()}}}


def _list(value, name: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise DefinitionError(_("“%(name)s” must be a list of codes.") % {"name": name}, code="invalid_value", field=name)
    return [v.strip() for v in value if v.strip()]


def _date(value, name: str) -> date:
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(_("Choose a start and an end date."), code="date_required", field=name)
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise DefinitionError(_("Dates are written YYYY-MM-DD, e.g. 2026-10-31."), code="invalid_date",
                              field=name) from None


def definition_validate(raw) -> Definition:
    """The definition, checked strictly, or DefinitionError (code, message, field) naming what is wrong."""
    if not isinstance(raw, dict):
        raise DefinitionError(_("A report definition is a JSON object."), code="invalid_definition")
    unknown_keys = set(raw) - {"dataset", "dimensions", "measures", "filters"}
    if unknown_keys:
        raise DefinitionError(_("Unknown part of the definition: %(keys)s.") % {"keys": ", ".join(sorted(unknown_keys))},
                              code="unknown_key", field=sorted(unknown_keys)[0])
    dataset = DATASETS.get(raw.get("dataset")) if isinstance(raw.get("dataset"), str) else None
    if dataset is None:
        raise DefinitionError(_("Unknown dataset “%(value)s”. Choose one of: %(choices)s.")
                              % {"value": raw.get("dataset"), "choices": ", ".join(DATASETS)},
                              code="unknown_dataset", field="dataset")
    dimensions = _list(raw.get("dimensions"), "dimensions")
    for d in dimensions:
        if d not in dataset.dimensions:
            raise DefinitionError(_("Unknown dimension “%(value)s” for %(dataset)s. Choose from: %(choices)s.")
                                  % {"value": d, "dataset": dataset.label, "choices": ", ".join(dataset.dimensions)},
                                  code="unknown_dimension", field="dimensions")
    if len(set(dimensions)) != len(dimensions):
        raise DefinitionError(_("A dimension is chosen twice."), code="duplicate_dimension", field="dimensions")
    if len([d for d in dimensions if d in TIME_DIMENSIONS]) > 1:
        raise DefinitionError(_("Choose one of day, week or month, not several."), code="several_periods",
                              field="dimensions")
    if len(dimensions) > MAX_DIMENSIONS:
        raise DefinitionError(_("Choose at most %(n)s dimensions.") % {"n": MAX_DIMENSIONS}, code="too_many_dimensions",
                              field="dimensions")
    measures = _list(raw.get("measures"), "measures")
    if not measures:
        raise DefinitionError(_("Choose at least one measure."), code="measure_required", field="measures")
    for m in measures:
        if m not in dataset.measures:
            raise DefinitionError(_("Unknown measure “%(value)s” for %(dataset)s. Choose from: %(choices)s.")
                                  % {"value": m, "dataset": dataset.label, "choices": ", ".join(dataset.measures)},
                                  code="unknown_measure", field="measures")
    if len(set(measures)) != len(measures):
        raise DefinitionError(_("A measure is chosen twice."), code="duplicate_measure", field="measures")
    filters_raw = raw.get("filters") or {}
    if not isinstance(filters_raw, dict):
        raise DefinitionError(_("Filters are a JSON object."), code="invalid_value", field="filters")
    for key in filters_raw:
        if key not in dataset.filters:
            raise DefinitionError(_("Unknown filter “%(value)s” for %(dataset)s. Choose from: %(choices)s.")
                                  % {"value": key, "dataset": dataset.label, "choices": ", ".join(dataset.filters)},
                                  code="unknown_filter", field=str(key))
    date_from = _date(filters_raw.get("date_from"), "date_from")
    date_to = _date(filters_raw.get("date_to"), "date_to")
    if date_to < date_from:
        raise DefinitionError(_("The end date is before the start date."), code="invalid_range", field="date_to")
    if (date_to - date_from).days > MAX_RANGE_DAYS:
        raise DefinitionError(_("A report covers at most ten years."), code="invalid_range", field="date_to")
    filters: dict[str, tuple[str, ...]] = {}
    for key in dataset.filters:
        if key in ("date_from", "date_to"):
            continue
        values = _list(filters_raw.get(key), key)
        if len(values) > MAX_FILTER_VALUES:
            raise DefinitionError(_("At most %(n)s values per filter.") % {"n": MAX_FILTER_VALUES},
                                  code="too_many_values", field=key)
        for v in values:
            ok = {"country": _COUNTRY.match(v), "currency": _CURRENCY.match(v),
                  "status": v in dataset.statuses, "stage": v in STAGES}.get(key, _CODE.match(v))
            if not ok:
                raise DefinitionError(_("“%(value)s” is not a valid %(name)s.") % {"value": v, "name": key},
                                      code="invalid_value", field=key)
        if values:
            filters[key] = tuple(dict.fromkeys(values))
    if "status" in dataset.filters and "status" not in filters:
        filters["status"] = dataset.default_statuses
    dims = tuple(dimensions)
    if dataset.money and any(dataset.measures[m].money for m in measures) and "currency" not in dims:
        dims = dims + ("currency",)  # amounts of different currencies are never added together
    return Definition(dataset=dataset, dimensions=dims, measures=tuple(measures), date_from=date_from,
                      date_to=date_to, filters=filters)
