"""Operator console forms. They only shape input; provisioning.validation owns the rules."""
import zoneinfo

from django import forms
from django.conf import settings

from tenant_apps.brokerage.jurisdictions import preset_choices as jurisdiction_choices
from themes.presets import preset_choices as theme_choices


class ProvisionBrokerageForm(forms.Form):
    name = forms.CharField(label="Brokerage name", max_length=200, widget=forms.TextInput(attrs={"autofocus": True}))
    slug = forms.CharField(label="Slug", max_length=100, help_text=f"The portal address becomes <slug>.{settings.PLATFORM_DOMAIN}")
    admin_email = forms.CharField(label="First Super Admin e-mail", max_length=254)
    jurisdiction = forms.ChoiceField(label="Jurisdiction preset", choices=jurisdiction_choices, initial="fsa_sc")
    theme_preset = forms.ChoiceField(label="Theme preset", choices=theme_choices, initial="ocean")
    timezone = forms.ChoiceField(label="Time zone", initial="UTC",
                                 choices=lambda: [(z, z) for z in sorted(zoneinfo.available_timezones())])
    language = forms.ChoiceField(label="Default language", choices=settings.LANGUAGES, initial="en")
    custom_domains = forms.CharField(label="Custom domains (optional)", required=False,
                                     help_text="One per line, e.g. portal.acme-fx.com", widget=forms.Textarea(attrs={"rows": 2}))
    legal_entity_name = forms.CharField(label="Legal entity name (optional)", required=False, max_length=250)

    def cleaned_custom_domains(self) -> list[str]:
        raw = self.cleaned_data.get("custom_domains") or ""
        return [line.strip() for line in raw.replace(",", "\n").splitlines() if line.strip()]


class StatusChangeForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False, max_length=300)
