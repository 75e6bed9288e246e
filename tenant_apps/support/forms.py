"""Forms of the support pages (Trader's Room and back office). They check shape only; services decide."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenant_apps.compliance.documents import ACCEPT_ATTRIBUTE
from tenant_apps.support import states
from tenant_apps.support.services import BODY_MAX, SUBJECT_MAX

_ATTACHMENT_HELP = _("Optional: a JPEG or PNG photo, or a PDF, up to 10 MB.")


def _attachment():
    return forms.FileField(label=_("Attachment"), required=False, help_text=_ATTACHMENT_HELP,
                           widget=forms.ClearableFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}))


class TicketOpenForm(forms.Form):
    category = forms.ChoiceField(label=_("What is it about?"), choices=[("", "—")] + states.CATEGORY_CHOICES)
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX,
                              widget=forms.TextInput(attrs={"autocomplete": "off"}))
    body = forms.CharField(label=_("Message"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 6}))
    attachment = _attachment()


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Your reply"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 4}))
    attachment = _attachment()


class StaffReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 5}))
    internal = forms.BooleanField(label=_("Internal note (staff only, never shown to the client)"), required=False)
    status = forms.ChoiceField(label=_("Then set the status to"), required=False,
                               choices=[("", _("(automatic)"))] + states.STATUS_CHOICES)
    attachment = _attachment()


class ArticleForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=[])
    slug = forms.SlugField(label=_("Address (slug)"), max_length=80,
                           help_text=_("The same address in every language: translations share it."))
    title = forms.CharField(label=_("Title"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=states.CATEGORY_CHOICES)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 14}),
                           help_text=_("Plain text with # headings, - lists, **bold** and [links](https://…)."))
    published = forms.BooleanField(label=_("Published"), required=False)

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        super().__init__(*args, **kwargs)
        self.fields["language"].choices = list(settings.LANGUAGES)
