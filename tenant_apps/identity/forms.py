"""Forms of the staff, team, role and API-token pages. They shape input; the services decide and say why not."""
from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenant_apps.identity.permissions import all_permission_keys

NO_NULLS = [ProhibitNullCharactersValidator()]


def checkboxes() -> forms.CheckboxSelectMultiple:
    return forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})


def apply_service_errors(form: forms.Form, exc: ValidationError, *, aliases: dict[str, str] | None = None) -> None:
    """Put a service's field errors under the form's fields (unknown fields become form-wide errors)."""
    aliases = aliases or {}
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for field, messages in errors.items():
        field = aliases.get(field, field)
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


class RolesAndTeamForm(forms.Form):
    """Roles (checkboxes) and a team (select); the choices are the brokerage's, given by the view."""

    roles = forms.MultipleChoiceField(label=_("Roles"), widget=checkboxes(),
                                      error_messages={"required": _("Choose at least one role.")})
    team = forms.ChoiceField(label=_("Team"), required=False)
    reason = forms.CharField(label=_("Note (optional)"), required=False, max_length=500, validators=NO_NULLS)

    def __init__(self, *args, roles=(), teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = [(r.code, r.name) for r in roles]
        self.fields["team"].choices = [("", _("No team"))] + [(str(t.pk), t.name) for t in teams]


class StaffInviteForm(RolesAndTeamForm):
    email = forms.EmailField(label=_("E-mail"), max_length=254, validators=NO_NULLS)
    valid_for_hours = forms.IntegerField(label=_("Link valid for (hours)"), min_value=1, max_value=720, initial=72,
                                         help_text=_("Between 1 hour and 30 days."))
    field_order = ["email", "roles", "team", "valid_for_hours"]

    def __init__(self, *args, **kwargs):
        from tenant_apps.identity.invites import invite_valid_for_default

        super().__init__(*args, **kwargs)
        del self.fields["reason"]
        self.fields["valid_for_hours"].initial = int(invite_valid_for_default().total_seconds() // 3600)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, validators=NO_NULLS,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("Say why; the reason goes into the audit trail.")})


class InviteAcceptForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200, validators=NO_NULLS)
    password1 = forms.CharField(label=_("Password"), strip=False, max_length=4096,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Password (again)"), strip=False, max_length=4096,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80, validators=NO_NULLS)
    description = forms.CharField(label=_("Description"), required=False, max_length=300, validators=NO_NULLS)


class CustomRoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80, validators=NO_NULLS)
    description = forms.CharField(label=_("Description"), required=False, max_length=300, validators=NO_NULLS)
    permissions = forms.MultipleChoiceField(label=_("Permissions"), widget=checkboxes(),
                                            error_messages={"required": _("Choose at least one permission.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["permissions"].choices = [(key, key) for key in all_permission_keys()]


EXPIRY_CHOICES = [("", _("Never")), ("7", _("In 7 days")), ("30", _("In 30 days")), ("90", _("In 90 days")),
                  ("365", _("In a year"))]


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80, validators=NO_NULLS,
                           help_text=_("What will use it, e.g. 'CRM sync'."))
    scopes = forms.MultipleChoiceField(label=_("Scopes"), widget=checkboxes(),
                                       error_messages={"required": _("Choose at least one permission for this token.")})
    expires_in_days = forms.ChoiceField(label=_("Expires"), required=False, choices=EXPIRY_CHOICES)

    def __init__(self, *args, held=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(key, key) for key in all_permission_keys() if key in set(held)]

    def expires_at(self):
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=int(days)) if days else None
