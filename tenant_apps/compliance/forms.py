"""Forms of the Trader's Room verification pages and the review queue (validation only; services write)."""
from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from tenant_apps.compliance.documents import ACCEPT_ATTRIBUTE, MAX_DOCUMENT_BYTES
from tenant_apps.compliance.models import ClientProfile, DocumentType
from tenant_apps.compliance.profile import PROFILE_FIELDS, questions_for
from tenant_apps.compliance.reasons import REASON_CHOICES

COUNTRY_FIELDS = ("country", "nationality", "tax_residence")


class ProfileForm(forms.ModelForm):
    class Meta:
        model = ClientProfile
        fields = list(PROFILE_FIELDS)
        labels = PROFILE_FIELDS
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"})}
        help_texts = {name: _("Two-letter country code, e.g. CY, DE, AE.") for name in COUNTRY_FIELDS}

    def __init__(self, *args, jurisdiction: str = "", with_questions: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        for name in PROFILE_FIELDS:
            self.fields[name].required = True
        for name in COUNTRY_FIELDS:
            # One clear message ("two-letter country code") instead of Django's generic length error.
            self.fields[name].max_length, self.fields[name].validators = None, []
            self.fields[name].widget.attrs.update({"maxlength": 2, "autocapitalize": "characters"})
        self.questions = questions_for(jurisdiction) if with_questions else ()
        answers = (self.instance.appropriateness_answers or {}) if self.instance and self.instance.pk else {}
        for q in self.questions:
            self.fields[f"q_{q.code}"] = forms.ChoiceField(label=q.text, choices=q.options, widget=forms.RadioSelect,
                                                          initial=answers.get(q.code))

    def clean_date_of_birth(self):
        dob = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if dob > today:
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
        if age < 18:
            raise forms.ValidationError(_("You must be at least 18 years old to open an account."))
        if dob.year < 1900:
            raise forms.ValidationError(_("Enter your real date of birth."))
        return dob

    def _country(self, name):
        value = (self.cleaned_data.get(name) or "").strip().upper()
        if len(value) != 2 or not value.isalpha():
            raise forms.ValidationError(_("Enter the two-letter country code, e.g. CY."))
        return value

    def clean_country(self):
        return self._country("country")

    def clean_nationality(self):
        return self._country("nationality")

    def clean_tax_residence(self):
        return self._country("tax_residence")

    def service_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in PROFILE_FIELDS}
        if self.questions:
            data["appropriateness_answers"] = {q.code: self.cleaned_data[f"q_{q.code}"] for q in self.questions}
        return data


class DocumentUploadForm(forms.Form):
    doc_type = forms.ChoiceField(label=_("Document"), choices=DocumentType.CHOICES)
    file = forms.FileField(label=_("Photo or PDF of the document"), allow_empty_file=True,
                           help_text=format_lazy(_("JPEG, PNG or PDF, up to {mb} MB."), mb=MAX_DOCUMENT_BYTES // 1024 // 1024),
                           widget=forms.ClearableFileInput(attrs={"accept": ACCEPT_ATTRIBUTE,
                                                                  "capture": "environment"}))
    issue_date = forms.DateField(label=_("Issue date"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text=_("Required for a proof of address (the date on the bill or statement)."))
    expiry_date = forms.DateField(label=_("Expiry date"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text=_("Required for a passport, ID card or driving licence."))


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label="Outcome", choices=[("approve", "Approve"), ("reject", "Reject"),
                                                          ("request_resubmission", "Request resubmission")])
    reason_code = forms.ChoiceField(label="Reason", required=False, choices=[("", "—")] + REASON_CHOICES)
    note = forms.CharField(label="Note (staff only)", required=False, max_length=1000,
                           widget=forms.Textarea(attrs={"rows": 2}))
    document_ids = forms.TypedMultipleChoiceField(label="Documents concerned", required=False, coerce=int,
                                                  widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document_ids"].choices = [(d.pk, f"{d.get_doc_type_display()} #{d.pk}") for d in documents]

    def clean(self):
        data = super().clean()
        outcome = data.get("outcome")
        if outcome in ("reject", "request_resubmission") and not data.get("reason_code"):
            self.add_error("reason_code", "Choose a reason from the list.")
        if outcome == "reject" and not (data.get("note") or "").strip():
            self.add_error("note", "A note is required to reject a case.")
        return data
