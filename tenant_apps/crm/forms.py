"""Back-office form for a routing rule (validation of shape here; business checks in services)."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenant_apps.crm.models import RoutingRule
from tenant_apps.identity.models import Team

LANGUAGE_CHOICES = [("", "Any language"), ("en", "English"), ("es", "Español"), ("ar", "العربية")]


class RoutingRuleForm(forms.Form):
    name = forms.CharField(label="Name", max_length=80)
    priority = forms.IntegerField(label="Priority (lower is tried first)", min_value=0, max_value=100000, initial=100)
    countries = forms.CharField(label="Countries (ISO codes, comma-separated; empty = any)", required=False,
                                max_length=1000)
    language = forms.ChoiceField(label="Language", choices=LANGUAGE_CHOICES, required=False)
    source = forms.ChoiceField(label="Source", choices=RoutingRule.Source.choices, required=False)
    source_value = forms.CharField(label="utm_source value", max_length=100, required=False)
    campaign = forms.CharField(label="Campaign (utm_campaign; empty = any)", max_length=100, required=False)
    team = forms.ModelChoiceField(label="Team", queryset=Team.objects.none())
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)
    is_default = forms.BooleanField(label="Default rule (used when no other rule matches)", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(is_active=True).order_by("name")

    def clean_countries(self):
        from tenant_apps.crm.phones import country_choices

        known = {code for code, _ in country_choices("en")}
        codes = [c.strip().upper() for c in self.cleaned_data["countries"].replace(";", ",").split(",") if c.strip()]
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise forms.ValidationError(f"Unknown country code(s): {', '.join(unknown[:10])}.")
        return codes

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["team_id"] = data.pop("team").pk
        return data

    @classmethod
    def initial_from(cls, rule: RoutingRule) -> dict:
        return {"name": rule.name, "priority": rule.priority, "countries": ", ".join(rule.countries),
                "language": rule.language, "source": rule.source, "source_value": rule.source_value,
                "campaign": rule.campaign, "team": rule.team_id, "enabled": rule.enabled, "is_default": rule.is_default}


# --- tasks, notes, lead import, working hours (issue 8, item 3) -----------------------------------------------


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200)
    due_at = forms.DateTimeField(label=_("Due"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reminder_at = forms.DateTimeField(label=_("Remind me at"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=Team.objects.none(), required=False,
                                   empty_label=_("The client's owner"))
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                            max_length=4000)

    def __init__(self, *args, **kwargs):
        from tenant_apps.identity.models import User, UserKind

        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(kind=UserKind.STAFF, is_active=True).order_by("email")

    def clean(self):
        data = super().clean()
        due, remind = data.get("due_at"), data.get("reminder_at")
        if due and remind and remind > due:
            self.add_error("reminder_at", _("The reminder must come before the due time."))
        return data


class NoteForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("note", _("Note")), ("call", _("Call")), ("email", _("E-mail"))])
    body = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    outcome = forms.CharField(label=_("Outcome (calls and e-mails)"), max_length=100, required=False)


class LeadImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file (columns: email, phone, name, country, language, source, campaign)"))


WEEKDAYS = [(0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")), (6, _("Sun"))]


class WorkingHoursForm(forms.Form):
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none())
    timezone = forms.CharField(label=_("Timezone (e.g. Europe/Madrid)"), max_length=64, initial="UTC")
    weekdays = forms.TypedMultipleChoiceField(label=_("Days"), choices=WEEKDAYS, coerce=int,
                                              widget=forms.CheckboxSelectMultiple)
    start = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(is_active=True).order_by("name")

    def clean_timezone(self):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        name = self.cleaned_data["timezone"].strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(_("Unknown timezone %(name)s.") % {"name": name[:64]}) from None
        return name

    def clean(self):
        data = super().clean()
        if data.get("start") is not None and data.get("start") == data.get("end"):
            self.add_error("end", _("The window must not start and end at the same time."))
        return data
