"""Back-office form for a routing rule (validation of shape here; business checks in services)."""
from __future__ import annotations

from django import forms

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
