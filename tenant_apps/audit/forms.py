"""The audit list's filters. Anything a user can type is validated here, so bad input is a field error."""
from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from tenant_apps.audit.services import is_id

OBJECT_TYPE_RE = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"


class AuditFilterForm(forms.Form):
    object_type = forms.CharField(
        label=_("Object type"), required=False, max_length=64,
        validators=[RegexValidator(OBJECT_TYPE_RE, _("Use the form app.model, e.g. identity.user."))],
        help_text=_("For example identity.user or themes.theme."),
    )
    action = forms.CharField(
        label=_("Action"), required=False, max_length=64,
        validators=[RegexValidator(r"^[a-z0-9_.]+$", _("Lower-case letters, digits, dots and underscores only."))],
        help_text=_("An action or its start, e.g. theme. for every branding change."),
    )
    actor = forms.CharField(label=_("Actor"), required=False, max_length=254,
                            help_text=_("A user id, or part of an e-mail or system name."))
    before = forms.IntegerField(label=_("Older than entry"), required=False, min_value=1,
                                max_value=2**63 - 1, widget=forms.HiddenInput)

    def clean_actor(self):
        actor = self.cleaned_data["actor"]
        if actor.isascii() and actor.isdigit() and not is_id(actor):
            raise forms.ValidationError(_("No user has an id that large."))
        return actor

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("object_type", "action", "actor"):
            self.fields[name].widget.attrs.setdefault("autocomplete", "off")
        self.fields["actor"].widget.attrs["maxlength"] = 254
