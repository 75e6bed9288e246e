"""Trader's Room registration: allauth's sign-up plus country, language, phone (E.164) and the two acceptances.
The CRM record, consents and routing are written by crm.services.client_register in the same transaction."""
from __future__ import annotations

from allauth.account.forms import SignupForm
from django import forms
from django.db import transaction
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from tenant_apps.crm.phones import calling_codes, country_choices, phone_e164

LANGUAGES = [("en", "English"), ("es", "Español"), ("ar", "العربية")]


class PhoneInput(forms.TextInput):
    """A tel input with a type-ahead list of country calling codes (a native <datalist>: no script needed)."""

    input_type = "tel"

    def render(self, name, value, attrs=None, renderer=None):
        from django.utils.html import format_html, format_html_join

        html = super().render(name, value, attrs, renderer)
        options = format_html_join("", '<option value="{} ">{}</option>', ((code, region) for region, code in calling_codes()))
        return html + format_html('<datalist id="calling-codes">{}</datalist>', options)


class ClientSignupForm(SignupForm):
    field_order = ["email", "password1", "password2", "country", "language", "phone", "accept_terms",
                   "accept_risk"]

    country = forms.ChoiceField(label=_("Country of residence"), choices=())
    language = forms.ChoiceField(label=_("Preferred language"), choices=LANGUAGES)
    phone = forms.CharField(label=_("Phone number (with country code)"), max_length=32,
                            help_text=_("For example +357 22 123456."),
                            widget=PhoneInput(attrs={"autocomplete": "tel", "inputmode": "tel",
                                                     "list": "calling-codes"}))
    accept_terms = forms.BooleanField(label=_("I accept the terms and conditions"),
                                      error_messages={"required": _("You must accept the terms and conditions.")})
    accept_risk = forms.BooleanField(label=_("I have read the risk disclosure: CFDs are complex instruments "
                                             "and carry a high risk of losing money"),
                                     error_messages={"required": _("You must acknowledge the risk disclosure.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        language = (get_language() or "en")[:2]
        self.fields["country"].choices = [("", _("Choose your country"))] + list(country_choices(language))
        self.fields["language"].initial = language if language in dict(LANGUAGES) else "en"
        if "password1" in self.fields:
            self.fields["password1"].help_text = ""  # the validators still run; the long list crowds a phone screen
        for name in self.field_order:
            if name in self.fields:
                self.fields[name].widget.attrs.setdefault("autocomplete", {"country": "country"}.get(name, "on"))
        self.order_fields(self.field_order)

    def clean_country(self):
        from tenant_apps.crm.phones import country_name
        from tenant_apps.crm.services import country_is_restricted

        code = self.cleaned_data["country"].upper()
        if country_is_restricted(code):
            raise forms.ValidationError(
                _("We cannot open accounts for residents of %(country)s under our licence's rules."),
                code="restricted_country", params={"country": country_name(code)})
        return code

    def clean(self):
        cleaned = super().clean()
        raw = cleaned.get("phone")
        if raw:
            try:
                cleaned["phone"] = phone_e164(raw, country=cleaned.get("country"))
            except forms.ValidationError as exc:
                self.add_error("phone", exc)
        return cleaned

    def validate_unique_email(self, value):
        """An imported / API lead's address is not "taken": signing up with it takes the lead over (the lead has no
        password and no verified address; the verification e-mail still proves the person owns it)."""
        from tenant_apps.crm.selectors import lead_awaiting_signup

        self.lead_user = lead_awaiting_signup(value)
        if self.lead_user is not None:
            self.account_already_exists = False
            return value
        return super().validate_unique_email(value)

    def try_save(self, request):
        lead = getattr(self, "lead_user", None)
        if lead is not None:
            from allauth.account.adapter import get_adapter
            from allauth.account.models import EmailAddress
            from allauth.account.utils import setup_user_email

            from tenant_apps.identity.models import User

            with transaction.atomic():
                user = User.objects.select_for_update().get(pk=lead.pk)
                if not user.has_usable_password():
                    user = get_adapter(request).save_user(request, user, self) or user  # the password they chose
                    self.custom_signup(request, user)
                    EmailAddress.objects.filter(user=user).delete()  # the lead's unverified address, set up afresh
                    setup_user_email(request, user, [EmailAddress(email=self.cleaned_data["email"])])
                    return user, None
            # taken over a moment ago by a parallel sign-up: an existing account now, answered as such
            self.lead_user, self.account_already_exists = None, True
        return super().try_save(request)

    def save(self, request):
        with transaction.atomic():
            return super().save(request)

    def signup(self, request, user):
        """Called by allauth right after the user row is saved (inside save()'s transaction)."""
        from allauth.account.adapter import get_adapter

        from tenant_apps.crm.attribution import attribution_read
        from tenant_apps.crm.services import client_register

        if getattr(self, "lead_user", None) is not None:
            from tenant_apps.crm.services import lead_signup_complete

            lead_signup_complete(user=user, country=self.cleaned_data["country"],
                                 language=self.cleaned_data["language"], phone=self.cleaned_data["phone"],
                                 ip=get_adapter(request).get_client_ip(request) or "", request=request)
            return
        client_register(user=user, country=self.cleaned_data["country"], language=self.cleaned_data["language"],
                        phone=self.cleaned_data["phone"], attribution=attribution_read(request),
                        ip=get_adapter(request).get_client_ip(request) or "", request=request)
