"""The user's language preference: ONE place, identity.User.language (clients, IBs and staff alike).

Set when the user picks a language in the header switcher (/i18n/setlang/, wrapped here), applied at every
sign-in (the language cookie goes out on the sign-in response, so another device or a cleared browser gets it
back) and read by notifications.services.language_of for e-mails. crm.ClientRecord.language is the language
given at registration (what lead routing matched on); Client 360 shows the preference (User.language).
"""
from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponseRedirect
from django.utils import translation
from django.views.i18n import set_language
from django_tenants.utils import get_public_schema_name

from tenant_apps.audit.services import audit_record


def served_language(code: str | None) -> str:
    """`code` reduced to a language we serve ("es-MX" → "es"), or "" when we do not serve it."""
    code = (code or "").split("-")[0].lower()
    return code if code in dict(settings.LANGUAGES) else ""


def user_language_set(*, user, language: str, request=None) -> bool:
    """Store `language` as the user's preference (audited); False when it is not served or already stored."""
    language = served_language(language)
    if not language or user.language == language:
        return False
    with transaction.atomic():
        before = user.language
        user.language = language
        user.save(update_fields=["language"])
        audit_record(action="identity.language_set", obj=user, subject=user, actor=user, request=request,
                     changes={"language": [before or None, language]})
    return True


def language_set_view(request):
    """Django's set_language (cookie + redirect), then the signed-in user's stored preference follows it."""
    response = set_language(request)
    user = getattr(request, "user", None)
    if (request.method == "POST" and isinstance(response, HttpResponseRedirect) and user is not None
            and user.is_authenticated and connection.schema_name != get_public_schema_name()):
        user_language_set(user=user, language=request.POST.get("language", ""), request=request)
    return response


def on_user_logged_in(sender, request, user, response=None, **kwargs) -> None:
    """allauth's `user_logged_in`: the stored preference becomes this browser's language from now on."""
    if connection.schema_name == get_public_schema_name():
        return
    language = served_language(getattr(user, "language", ""))
    if not language:
        return
    translation.activate(language)
    if response is not None:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                            path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
                            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                            samesite=settings.LANGUAGE_COOKIE_SAMESITE)
