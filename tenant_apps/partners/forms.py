"""Forms of the partners pages: input shape only; the services decide."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenant_apps.partners.models import ReassignmentRequest, ReferralLink

MODE_CHOICES = [("", "— choose (required when back-dated) —"), *ReassignmentRequest.Mode.choices]


class ReassignmentForm(forms.Form):
    kind = forms.ChoiceField(choices=ReassignmentRequest.Kind.choices, initial="client")
    client = forms.CharField(required=False, max_length=254, help_text="Client e-mail or id (client → IB).")
    subject_partner = forms.CharField(required=False, max_length=32, help_text="Code of the IB to move (IB → parent).")
    to_partner = forms.CharField(max_length=32, help_text="Code of the new IB / new parent IB.")
    effective_local = forms.DateTimeField(input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
                                          widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                          help_text="In the brokerage's timezone.")
    mode = forms.ChoiceField(choices=MODE_CHOICES, required=False)
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("kind") == "client" and not data.get("client"):
            self.add_error("client", "Which client?")
        if data.get("kind") == "parent" and not data.get("subject_partner"):
            self.add_error("subject_partner", "Which IB?")
        return data


class ReferralLinkForm(forms.Form):
    campaign = forms.CharField(label=_("Campaign"), max_length=100, required=False)
    landing_path = forms.CharField(label=_("Landing path"), max_length=200, initial="/accounts/signup/")
    kind = forms.ChoiceField(label=_("Kind"), choices=ReferralLink.Kind.choices, initial="client")


class ApplicationForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=200, required=False)
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}),
                           label=_("Tell us about your audience"))
    sponsor_code = forms.CharField(max_length=32, required=False, label=_("Sub-IB invitation code (if you have one)"))


class PolicyForm(forms.Form):
    backdate_limit_days = forms.IntegerField(min_value=0, max_value=366)
    show_client_contacts = forms.BooleanField(required=False)
    applications_open = forms.BooleanField(required=False)
    min_activation_rate = forms.DecimalField(
        required=False, min_value=0, max_value=100, max_digits=5, decimal_places=2,
        label="Minimum activation rate (%)", help_text="IB performance report: flag IBs below this. Blank: none.")
    min_funding_rate = forms.DecimalField(
        required=False, min_value=0, max_value=100, max_digits=5, decimal_places=2,
        label="Minimum funding rate (%)", help_text="IB performance report: flag IBs below this. Blank: none.")


class MaterialForm(forms.Form):
    title = forms.CharField(max_length=120)
    description = forms.CharField(max_length=300, required=False)
    language = forms.ChoiceField(choices=[("", "Every language"), ("en", "English"), ("es", "Español"),
                                          ("ar", "العربية")], required=False)
    file = forms.FileField(help_text="A JPEG or PNG banner or logo, or a PDF presentation (up to 10 MB).",
                           widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}))
