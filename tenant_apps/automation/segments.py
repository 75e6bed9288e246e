"""The segment language: which client facts a segment may filter on, with which operators and values, how a
definition is validated, and how each condition becomes SQL (Exists/subqueries over ClientRecord — no loops).

A definition: {"match": "all" | "any", "conditions": [{"field": "stage", "op": "in", "value": ["funded"]}, …]}.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import CharField, DecimalField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _

from tenant_apps.automation.errors import DefinitionError

MAX_CONDITIONS = 20
MAX_DAYS = 3650
BOOKED_DEPOSIT = ("credited", "reconciled")
KYC_STATES = ("not_started", "pending_review", "resubmission_needed", "approved", "rejected")


def _stages() -> tuple[str, ...]:
    from tenant_apps.crm.models import LIFECYCLE_STAGES

    return LIFECYCLE_STAGES


# --- value validators: return the normalised value or raise ValueError with a message for the manager -------

def _days(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise ValueError(_("a whole number of days between 0 and %(max)s") % {"max": MAX_DAYS})
    return value


def _bool(value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(_("true or false"))
    return value


def _choices(allowed: Callable[[], tuple[str, ...]]):
    def check(value) -> list[str]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise ValueError(_("a non-empty list of: %(allowed)s") % {"allowed": ", ".join(allowed())})
        unknown = [v for v in value if v not in allowed()]
        if unknown:
            raise ValueError(_("unknown value(s) %(unknown)s; allowed: %(allowed)s")
                             % {"unknown": ", ".join(unknown), "allowed": ", ".join(allowed())})
        return sorted(set(value))
    return check


def _countries(value) -> list[str]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and len(v.strip()) == 2 and v.strip().isalpha() for v in value)):
        raise ValueError(_("a non-empty list of two-letter country codes, e.g. [\"CY\", \"DE\"]"))
    return sorted({v.strip().upper() for v in value})


def _money(value) -> dict:
    if not isinstance(value, dict) or set(value) != {"amount", "currency"}:
        raise ValueError(_("{\"amount\": \"1000\", \"currency\": \"USD\"}"))
    currency = value["currency"]
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise ValueError(_("a three-letter currency code"))
    try:
        amount = Decimal(str(value["amount"]))
    except (InvalidOperation, ValueError):
        raise ValueError(_("an amount such as \"1000\" or \"250.50\"")) from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("1e12"):
        raise ValueError(_("an amount between 0 and 1,000,000,000,000"))
    return {"amount": str(amount), "currency": currency.upper()}


def _iso_date(value) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise ValueError(_("a date as YYYY-MM-DD")) from None


def _code(value) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 32:
        raise ValueError(_("an IB referral code"))
    return value.strip()


# --- SQL for each (field, op): fn(value, now) -> Q, over ClientRecord ------------------------------------------

def _cutoff(now: datetime, days: int) -> datetime:
    """"Within N days" is after this moment; "more than N days ago" is at or before it."""
    return now - timedelta(days=days)


def _booked_deposits():
    from tenant_apps.payments.models import Deposit

    return Deposit.objects.filter(client_id=OuterRef("user_id"), status__in=BOOKED_DEPOSIT)


def _credits_since(since: datetime):
    from tenant_apps.payments.models import MoneyEvent

    return Exists(MoneyEvent.objects.filter(deposit__client_id=OuterRef("user_id"), to_status="credited",
                                            at__gt=since))


def _trades_since(since: datetime):
    from tenant_apps.trading.models import Deal, TradingAccount

    live_account = TradingAccount.objects.filter(client_id=OuterRef(OuterRef("user_id")), is_demo=False,
                                                 server_id=OuterRef("server_id"), login=OuterRef("login"))
    return Exists(Deal.objects.filter(time__gt=since).filter(Exists(live_account)))


def _wallet(money: dict):
    from tenant_apps.ledger.models import AccountKind, LedgerAccount, OwnerType

    return LedgerAccount.objects.filter(kind=AccountKind.CLIENT_WALLET, owner_type=OwnerType.CLIENT,
                                        owner_id=Cast(OuterRef("user_id"), CharField()), currency=money["currency"])


def _deposit_total(money: dict):
    total = (_booked_deposits().filter(currency=money["currency"]).order_by().values("client_id")
             .annotate(total=Sum("amount")).values("total"))
    return Coalesce(Subquery(total, output_field=DecimalField(max_digits=20, decimal_places=2)),
                    Value(Decimal("0")), output_field=DecimalField(max_digits=20, decimal_places=2))


def _kyc(**filters):
    from tenant_apps.compliance.models import KycCase

    return Exists(KycCase.objects.filter(client_id=OuterRef("user_id"), **filters))


def _ib_current(**filters):
    from tenant_apps.partners.models import ClientAssignment

    return Exists(ClientAssignment.objects.filter(client_id=OuterRef("user_id"), valid_to__isnull=True, **filters))


def _kyc_status(value, now):
    if "not_started" in value:  # no case at all is "not started" too
        return ~_kyc(state__in=[s for s in KYC_STATES if s not in value])
    return _kyc(state__in=value)


def _day_start(iso: str, now: datetime) -> datetime:
    """Midnight of the date in the brokerage's time zone (what its staff mean by "before 1 November")."""
    from zoneinfo import ZoneInfo

    from tenancy.context import require_tenant

    try:
        zone = ZoneInfo(require_tenant().timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(date.fromisoformat(iso), datetime.min.time(), tzinfo=zone)


@dataclass(frozen=True)
class Op:
    check: Callable
    sql: Callable  # (value, now) -> Q | (Q, {alias: expression})
    help: str = ""


FIELDS: dict[str, dict[str, Op]] = {
    "stage": {"in": Op(_choices(_stages), lambda v, now: Q(stage__in=v))},
    "country": {"in": Op(_countries, lambda v, now: Q(country__in=v)),
                "not_in": Op(_countries, lambda v, now: ~Q(country__in=v))},
    "kyc_status": {"in": Op(_choices(lambda: KYC_STATES), _kyc_status)},
    "kyc_approved": {"days_ago_gte": Op(_days, lambda v, now: _kyc(state="approved",
                                                                    approved_at__lte=_cutoff(now, v)))},
    "deposited": {"is": Op(_bool, lambda v, now: Exists(_booked_deposits()) if v else ~Exists(_booked_deposits()))},
    "last_deposit": {"older_than_days": Op(_days, lambda v, now: ~_credits_since(_cutoff(now, v))),
                     "within_days": Op(_days, lambda v, now: _credits_since(_cutoff(now, v)))},
    "deposits_total": {"gte": Op(_money, lambda v, now: (Q(**{"{alias}__gte": Decimal(v["amount"])}),
                                                          _deposit_total(v))),
                       "lt": Op(_money, lambda v, now: (Q(**{"{alias}__lt": Decimal(v["amount"])}),
                                                         _deposit_total(v)))},
    "last_trade": {"older_than_days": Op(_days, lambda v, now: ~_trades_since(_cutoff(now, v))),
                   "within_days": Op(_days, lambda v, now: _trades_since(_cutoff(now, v)))},
    "wallet_balance": {"lt": Op(_money, lambda v, now: Exists(_wallet(v).filter(balance__lt=Decimal(v["amount"])))),
                       "gte": Op(_money, lambda v, now: Exists(_wallet(v).filter(balance__gte=Decimal(v["amount"]))))},
    "ib_source": {"referred": Op(_bool, lambda v, now: (_ib_current() | ~Q(ref_code="")) if v
                                 else (~_ib_current() & Q(ref_code=""))),
                  "code": Op(_code, lambda v, now: _ib_current(partner__code__iexact=v) | Q(ref_code__iexact=v))},
    "last_login": {"before": Op(_iso_date, lambda v, now: Q(user__last_login__lt=_day_start(v, now))
                                | Q(user__last_login__isnull=True)),
                   "after": Op(_iso_date, lambda v, now: Q(user__last_login__gte=_day_start(v, now))),
                   "older_than_days": Op(_days, lambda v, now: Q(user__last_login__lt=_cutoff(now, v))
                                         | Q(user__last_login__isnull=True)),
                   "within_days": Op(_days, lambda v, now: Q(user__last_login__gte=_cutoff(now, v)))},
}


def definition_validate(definition) -> dict:
    """The definition, normalised; DefinitionError listing every problem (unknown field or operator, bad value)."""
    problems: list[str] = []
    if not isinstance(definition, dict):
        raise DefinitionError([_("A segment definition is an object with \"match\" and \"conditions\".")])
    unknown_keys = sorted(set(definition) - {"match", "conditions"})
    if unknown_keys:
        problems.append(_("Unknown key(s) %(keys)s: a definition has only \"match\" and \"conditions\".")
                        % {"keys": ", ".join(unknown_keys)})
    match = definition.get("match", "all")
    if match not in ("all", "any"):
        problems.append(_("\"match\" is \"all\" or \"any\", not %(value)r.") % {"value": match})
    conditions = definition.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        problems.append(_("\"conditions\" is a non-empty list."))
        raise DefinitionError(problems)
    if len(conditions) > MAX_CONDITIONS:
        problems.append(_("At most %(max)s conditions.") % {"max": MAX_CONDITIONS})
    normalised = []
    for number, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict) or set(condition) != {"field", "op", "value"}:
            problems.append(_("Condition %(n)s: give exactly \"field\", \"op\" and \"value\".") % {"n": number})
            continue
        field, op = condition["field"], condition["op"]
        if field not in FIELDS:
            problems.append(_("Condition %(n)s: unknown field %(field)r; known fields: %(known)s.")
                            % {"n": number, "field": field, "known": ", ".join(FIELDS)})
            continue
        if op not in FIELDS[field]:
            problems.append(_("Condition %(n)s: field %(field)s has no operator %(op)r; use one of: %(known)s.")
                            % {"n": number, "field": field, "op": op, "known": ", ".join(FIELDS[field])})
            continue
        try:
            value = FIELDS[field][op].check(condition["value"])
        except ValueError as exc:
            problems.append(_("Condition %(n)s (%(field)s %(op)s): the value must be %(expected)s.")
                            % {"n": number, "field": field, "op": op, "expected": exc})
            continue
        normalised.append({"field": field, "op": op, "value": value})
    if problems:
        raise DefinitionError(problems)
    return {"match": match, "conditions": normalised}


def definition_filter(definition: dict, *, now: datetime, prefix: str = "seg") -> tuple[Q, dict]:
    """(Q over ClientRecord, aliases the Q needs) for a VALIDATED definition."""
    combined, aliases = None, {}
    for number, condition in enumerate(definition["conditions"]):
        built = FIELDS[condition["field"]][condition["op"]].sql(condition["value"], now)
        if isinstance(built, tuple):
            template, expression = built
            alias = f"{prefix}_{number}"
            aliases[alias] = expression
            (key, value), = template.children
            built = Q(**{key.format(alias=alias): value})
        elif not isinstance(built, Q):
            built = Q(built)
        if combined is None:
            combined = built
        else:
            combined = (combined | built) if definition["match"] == "any" else (combined & built)
    return combined, aliases
