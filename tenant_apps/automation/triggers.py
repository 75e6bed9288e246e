"""The "when X" of a rule: each trigger is segment conditions (evaluated in SQL over ClientRecord) plus a trigger key
naming the fact that fired it — the KYC approval, the last deposit, the last trade — so the same fact never fires
the same rule twice for a client, and a NEW fact (a new deposit, then N quiet days) fires it again. Also the presets
a manager can enable and the validation of a rule's parameters and actions."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenant_apps.automation.errors import DefinitionError
from tenant_apps.automation.models import Action, Trigger
from tenant_apps.automation.segments import _days, _money

MESSAGE_KINDS = ("automation.fund_account", "automation.reactivation", "automation.we_miss_you")


def _text(sub) -> Coalesce:
    return Coalesce(Cast(Subquery(sub[:1]), CharField()), Value("0"))


def _kyc_key(params):
    from tenant_apps.compliance.models import KycCase

    return Concat(Value("kyc:"), _text(KycCase.objects.filter(client_id=OuterRef("user_id")).values("approved_at")),
                  output_field=CharField())


def _last_deposit():
    from tenant_apps.payments.models import MoneyEvent

    return _text(MoneyEvent.objects.filter(deposit__client_id=OuterRef("user_id"), to_status="credited")
                 .order_by("-at", "-id").values("deposit_id"))


def _deposit_key(params):
    return Concat(Value("deposit:"), _last_deposit(), output_field=CharField())


def _activity_key(params):
    from django.db.models import Exists

    from tenant_apps.trading.models import Deal, TradingAccount

    live = TradingAccount.objects.filter(client_id=OuterRef(OuterRef("user_id")), is_demo=False,
                                         server_id=OuterRef("server_id"), login=OuterRef("login"))
    last_deal = Deal.objects.filter(Exists(live)).order_by("-time", "-id").values("id")
    return Concat(Value("deal:"), _text(last_deal), Value(":deposit:"), _last_deposit(), output_field=CharField())


def _wallet_key(params):
    from tenant_apps.ledger.models import AccountKind, JournalLine, OwnerType

    currency = params["threshold"]["currency"]
    last_credit = (JournalLine.objects.filter(account__kind=AccountKind.CLIENT_WALLET, account__owner_type=OwnerType.CLIENT,
                                              account__owner_id=Cast(OuterRef("user_id"), CharField()),
                                              account__currency=currency, amount__gt=0)
                   .order_by("-id").values("id"))
    return Concat(Value(f"wallet:{currency}:"), _text(last_credit), output_field=CharField())


@dataclass(frozen=True)
class TriggerSpec:
    params: dict[str, Callable]  # parameter → validator
    conditions: Callable[[dict], list[dict]]
    key: Callable[[dict], object]
    describe: object = ""  # a lazy translation with %(param)s placeholders


TRIGGERS: dict[str, TriggerSpec] = {
    Trigger.KYC_APPROVED_UNFUNDED: TriggerSpec(
        {"days": _days},
        lambda p: [{"field": "kyc_approved", "op": "days_ago_gte", "value": p["days"]},
                   {"field": "deposited", "op": "is", "value": False}],
        _kyc_key, gettext_lazy("KYC approved at least %(days)s days ago and no deposit since")),
    Trigger.NO_DEPOSIT: TriggerSpec(
        {"days": _days},
        lambda p: [{"field": "deposited", "op": "is", "value": True},
                   {"field": "last_deposit", "op": "older_than_days", "value": p["days"]}],
        _deposit_key, gettext_lazy("Funded, but no deposit in the last %(days)s days")),
    Trigger.NO_TRADE: TriggerSpec(
        {"days": _days},
        lambda p: [{"field": "stage", "op": "in", "value": ["active", "funded"]},
                   {"field": "last_trade", "op": "older_than_days", "value": p["days"]},
                   {"field": "last_deposit", "op": "older_than_days", "value": p["days"]}],
        _activity_key, gettext_lazy("Funded, but no trade (nor deposit) in the last %(days)s days")),
    Trigger.BALANCE_BELOW: TriggerSpec(
        {"threshold": _money},
        lambda p: [{"field": "wallet_balance", "op": "lt", "value": p["threshold"]}],
        _wallet_key, gettext_lazy("Wallet balance below %(threshold)s")),
}

# Action parameters a rule may carry, with their validators.
ACTION_PARAMS: dict[str, dict[str, Callable]] = {
    Action.TASK: {"task_title": None, "task_due_days": _days},
    Action.NOTIFY: {"message_kind": None},
    Action.MARK_DORMANT: {},
}
REACHES_PEOPLE = frozenset({Action.TASK, Action.NOTIFY})


def rule_validate(*, trigger: str, params: dict, actions: list) -> tuple[dict, list[str]]:
    """(params, actions) normalised, or DefinitionError listing every problem."""
    problems: list[str] = []
    if trigger not in TRIGGERS:
        raise DefinitionError([_("Unknown trigger %(t)r; one of: %(known)s.")
                               % {"t": trigger, "known": ", ".join(TRIGGERS)}])
    if not isinstance(params, dict):
        raise DefinitionError([_("Parameters are an object, e.g. {\"days\": 30}.")])
    if not isinstance(actions, list) or not actions:
        raise DefinitionError([_("Choose at least one action.")])
    unknown_actions = [a for a in actions if a not in Action.values]
    if unknown_actions:
        problems.append(_("Unknown action(s) %(a)s; one of: %(known)s.")
                        % {"a": ", ".join(map(str, unknown_actions)), "known": ", ".join(Action.values)})
    actions = [a for a in Action.values if a in actions]  # fixed order, no duplicates
    spec = TRIGGERS[trigger]
    allowed = set(spec.params) | {p for a in actions for p in ACTION_PARAMS[a]}
    for extra in sorted(set(params) - allowed):
        problems.append(_("Unknown parameter %(p)r for this trigger and these actions.") % {"p": extra})
    clean: dict = {}
    for name, check in spec.params.items():
        if name not in params:
            problems.append(_("Parameter %(p)r is required.") % {"p": name})
            continue
        try:
            clean[name] = check(params[name])
        except ValueError as exc:
            problems.append(_("Parameter %(p)r must be %(expected)s.") % {"p": name, "expected": exc})
    if Action.TASK in actions:
        title = params.get("task_title", "")
        if not isinstance(title, str) or not title.strip() or len(title) > 200:
            problems.append(_("A task needs a title (at most 200 characters)."))
        else:
            clean["task_title"] = title.strip()
        try:
            clean["task_due_days"] = _days(params.get("task_due_days", 1))
        except ValueError as exc:
            problems.append(_("Parameter 'task_due_days' must be %(expected)s.") % {"expected": exc})
    if Action.NOTIFY in actions:
        kind = params.get("message_kind")
        if kind not in MESSAGE_KINDS:
            problems.append(_("Choose the message to send: one of %(known)s.") % {"known": ", ".join(MESSAGE_KINDS)})
        else:
            clean["message_kind"] = kind
    if problems:
        raise DefinitionError(problems)
    return clean, actions


def trigger_conditions(rule) -> list[dict]:
    return TRIGGERS[rule.trigger].conditions(rule.params)


def trigger_key(rule):
    return TRIGGERS[rule.trigger].key(rule.params)


def trigger_describe(rule) -> str:
    values = {k: (f"{v['amount']} {v['currency']}" if isinstance(v, dict) else v) for k, v in rule.params.items()}
    try:
        return str(TRIGGERS[rule.trigger].describe) % values
    except (KeyError, TypeError):
        return rule.get_trigger_display()


@dataclass(frozen=True)
class Preset:
    code: str
    name: object
    trigger: str
    params: dict
    actions: list


PRESETS: tuple[Preset, ...] = (
    Preset("kyc_unfunded_3d", gettext_lazy("KYC approved but unfunded for 3 days"), Trigger.KYC_APPROVED_UNFUNDED,
           {"days": 3, "task_title": "Call: KYC approved, no deposit yet", "task_due_days": 1,
            "message_kind": "automation.fund_account"}, [Action.TASK, Action.NOTIFY]),
    Preset("no_deposit_30d", gettext_lazy("No deposit in 30 days: reactivation e-mail"), Trigger.NO_DEPOSIT,
           {"days": 30, "message_kind": "automation.reactivation"}, [Action.NOTIFY]),
    Preset("no_trade_60d", gettext_lazy("No trade in 60 days: mark dormant"), Trigger.NO_TRADE,
           {"days": 60}, [Action.MARK_DORMANT]),
    Preset("low_balance", gettext_lazy("Wallet balance below 50 USD: task for the owner"), Trigger.BALANCE_BELOW,
           {"threshold": {"amount": "50", "currency": "USD"}, "task_title": "Low wallet balance: offer a top-up",
            "task_due_days": 2}, [Action.TASK]),
)
PRESETS_BY_CODE = {p.code: p for p in PRESETS}

