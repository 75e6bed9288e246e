"""Back-office forms: the segment builder (rows of field · operator · value, turned into a definition the segment
language validates) and a rule's editable parameters."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenant_apps.automation import segments
from tenant_apps.automation.errors import DefinitionError
from tenant_apps.automation.triggers import MESSAGE_KINDS

BUILDER_ROWS = 6

# How the builder reads the value box of each validator: list, number of days, yes/no, "1000 USD", date, text.
_VALUE_KIND = {segments._days: "days", segments._bool: "bool", segments._countries: "list", segments._money: "money",
               segments._iso_date: "date", segments._code: "text"}

_OP_LABELS = {
    "in": gettext_lazy("is one of"), "not_in": gettext_lazy("is not one of"), "is": gettext_lazy("is"),
    "days_ago_gte": gettext_lazy("at least N days ago"), "older_than_days": gettext_lazy("more than N days ago (or never)"),
    "within_days": gettext_lazy("within the last N days"), "gte": gettext_lazy("at least"), "lt": gettext_lazy("below"),
    "referred": gettext_lazy("referred by an IB (yes/no)"), "code": gettext_lazy("IB referral code is"),
    "before": gettext_lazy("before the date"), "after": gettext_lazy("on or after the date"),
}
_FIELD_LABELS = {
    "stage": gettext_lazy("Lifecycle stage"), "country": gettext_lazy("Country"), "kyc_status": gettext_lazy("KYC status"),
    "kyc_approved": gettext_lazy("KYC approved"), "deposited": gettext_lazy("Ever deposited"),
    "last_deposit": gettext_lazy("Last deposit"), "deposits_total": gettext_lazy("Total deposits"),
    "last_trade": gettext_lazy("Last trade"), "wallet_balance": gettext_lazy("Wallet balance"),
    "ib_source": gettext_lazy("IB source"), "last_login": gettext_lazy("Last login"),
}


def _value_kind(field: str, op: str) -> str:
    check = segments.FIELDS[field][op].check
    return _VALUE_KIND.get(check, "list")  # _choices(...) validators take a list


def condition_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(f"{field}.{op}", f"{_FIELD_LABELS.get(field, field)} — {_OP_LABELS.get(op, op)}")
                          for field, ops in segments.FIELDS.items() for op in ops]


def _parse_value(kind: str, text: str):
    text = text.strip()
    if kind == "days":
        return int(text) if text.lstrip("-").isdigit() else text
    if kind == "bool":
        lowered = text.lower()
        return True if lowered in ("yes", "true", "1", "sí", "si") else False if lowered in ("no", "false", "0") else text
    if kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == "money":
        parts = text.split()
        return {"amount": parts[0], "currency": parts[1]} if len(parts) == 2 else text
    return text


def value_text(kind: str, value) -> str:
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "list":
        return ", ".join(value)
    if kind == "money":
        return f"{value['amount']} {value['currency']}"
    return str(value)


class SegmentBuilderForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, required=False)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=300, required=False)
    match = forms.ChoiceField(label=gettext_lazy("Clients must match"), initial="all",
                              choices=[("all", gettext_lazy("all conditions")), ("any", gettext_lazy("any condition"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i in range(BUILDER_ROWS):
            self.fields[f"c{i}"] = forms.ChoiceField(label=gettext_lazy("Condition"), choices=condition_choices(),
                                                     required=False)
            self.fields[f"v{i}"] = forms.CharField(label=gettext_lazy("Value"), max_length=300, required=False)
        self.definition: dict | None = None

    def rows(self):
        return [(self[f"c{i}"], self[f"v{i}"]) for i in range(BUILDER_ROWS)]

    def clean(self):
        data = super().clean()
        conditions = []
        for i in range(BUILDER_ROWS):
            chosen = data.get(f"c{i}")
            if not chosen:
                continue
            field, op = chosen.split(".", 1)
            conditions.append({"field": field, "op": op,
                               "value": _parse_value(_value_kind(field, op), data.get(f"v{i}") or "")})
        if not conditions:
            raise forms.ValidationError(_("Add at least one condition."))
        try:
            self.definition = segments.definition_validate({"match": data.get("match") or "all",
                                                            "conditions": conditions})
        except DefinitionError as exc:
            for problem in exc.problems:
                self.add_error(None, problem)
        return data

    @staticmethod
    def initial_from(segment) -> dict:
        initial = {"name": segment.name, "description": segment.description,
                   "match": segment.definition.get("match", "all")}
        for i, condition in enumerate(segment.definition.get("conditions", [])[:BUILDER_ROWS]):
            initial[f"c{i}"] = f"{condition['field']}.{condition['op']}"
            initial[f"v{i}"] = value_text(_value_kind(condition["field"], condition["op"]), condition["value"])
        return initial


class RuleForm(forms.Form):
    """The editable parameters of a rule (the trigger and the actions are the rule's; parameters are not)."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    days = forms.IntegerField(label=gettext_lazy("Days"), min_value=0, max_value=3650, required=False)
    threshold_amount = forms.DecimalField(label=gettext_lazy("Threshold amount"), min_value=0, max_digits=14,
                                          decimal_places=2, required=False)
    threshold_currency = forms.CharField(label=gettext_lazy("Threshold currency"), max_length=3, required=False)
    task_title = forms.CharField(label=gettext_lazy("Task title"), max_length=200, required=False)
    task_due_days = forms.IntegerField(label=gettext_lazy("Task due in (days)"), min_value=0, max_value=365,
                                       required=False)
    message_kind = forms.ChoiceField(label=gettext_lazy("Message"), required=False,
                                     choices=[])
    segment = forms.ModelChoiceField(label=gettext_lazy("Only clients in segment"), queryset=None, required=False)

    def __init__(self, *args, rule=None, **kwargs):
        from tenant_apps.automation.models import Action, Segment
        from tenant_apps.automation.triggers import TRIGGERS

        super().__init__(*args, **kwargs)
        from tenant_apps.notifications.kinds import KINDS

        self.fields["segment"].queryset = Segment.objects.order_by("name")
        self.fields["message_kind"].choices = [("", "—")] + [(k, str(KINDS[k].title)) for k in MESSAGE_KINDS]
        keep = {"name", "segment"}
        if rule is not None:
            spec = TRIGGERS[rule.trigger]
            keep |= {"days"} if "days" in spec.params else {"threshold_amount", "threshold_currency"}
            if Action.TASK in rule.actions:
                keep |= {"task_title", "task_due_days"}
            if Action.NOTIFY in rule.actions:
                keep |= {"message_kind"}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]

    @staticmethod
    def initial_from(rule) -> dict:
        initial = {"name": rule.name, "segment": rule.segment_id, **{k: v for k, v in rule.params.items()
                                                                     if k != "threshold"}}
        if "threshold" in rule.params:
            initial["threshold_amount"] = rule.params["threshold"]["amount"]
            initial["threshold_currency"] = rule.params["threshold"]["currency"]
        return initial

    def service_params(self) -> dict:
        data, params = self.cleaned_data, {}
        for key in ("days", "task_title", "task_due_days", "message_kind"):
            if key in self.fields and data.get(key) not in (None, ""):
                params[key] = data[key]
        if "threshold_amount" in self.fields:
            params["threshold"] = {"amount": str(data.get("threshold_amount") or ""),
                                   "currency": (data.get("threshold_currency") or "").upper()}
        return params


WEEKDAYS = [(1, gettext_lazy("Monday")), (2, gettext_lazy("Tuesday")), (3, gettext_lazy("Wednesday")),
            (4, gettext_lazy("Thursday")), (5, gettext_lazy("Friday")), (6, gettext_lazy("Saturday")),
            (7, gettext_lazy("Sunday"))]


class WorkingHoursForm(forms.Form):
    start_hour = forms.IntegerField(label=gettext_lazy("From (hour)"), min_value=0, max_value=23)
    end_hour = forms.IntegerField(label=gettext_lazy("Until (hour)"), min_value=1, max_value=24)
    days = forms.TypedMultipleChoiceField(label=gettext_lazy("Working days"), choices=WEEKDAYS, coerce=int,
                                          widget=forms.CheckboxSelectMultiple)
