"""The client's language is theirs, not the browser's: chosen in the header switcher it is stored (identity.User
.language, audited), given back at every sign-in — another device, a cleared browser — and used for their e-mails."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django_tenants.utils import tenant_context

from tests.conftest import host_of, sign_in
from tests.i18n.portal_data import _client


@pytest.fixture
def alpha_client(db, tenants):
    alpha = tenants["alpha"]
    with tenant_context(alpha):
        user = _client("maria.lopez@alpha.test", full_name="María López", language="en")
    return alpha, user


def _browser(brokerage) -> Client:
    return Client(HTTP_HOST=host_of(brokerage))


def test_switch_to_spanish_sign_out_sign_in_elsewhere_and_the_portal_is_spanish(alpha_client):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.identity.models import User

    alpha, user = alpha_client
    phone = _browser(alpha)
    assert sign_in(phone, alpha, user.email).status_code == 302
    assert '<html lang="en"' in phone.get("/money/").content.decode()

    switched = phone.post("/i18n/setlang/", {"language": "es", "next": "/money/"})
    assert switched.status_code == 302 and switched["Location"] == "/money/"
    assert '<html lang="es"' in phone.get("/money/").content.decode()
    with tenant_context(alpha):
        assert User.objects.get(pk=user.pk).language == "es"
        entry = AuditEntry.objects.filter(action="identity.language_set", object_id=str(user.pk)).get()
        assert entry.changes == {"language": ["en", "es"]}

    phone.post("/accounts/logout/")
    laptop = _browser(alpha)  # no cookie of any kind: a new device
    assert '<html lang="en"' in laptop.get("/accounts/login/").content.decode()
    signed_in = sign_in(laptop, alpha, user.email)
    assert signed_in.status_code == 302
    assert signed_in.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    page = laptop.get("/money/").content.decode()
    assert '<html lang="es"' in page and 'dir="ltr"' in page


def test_a_notification_email_to_that_client_is_written_in_their_language(alpha_client, settings):
    from decimal import Decimal

    from tenant_apps.identity.models import User
    from tenant_apps.notifications.services import notification_email_deliver, notify

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alpha, user = alpha_client
    browser = _browser(alpha)
    sign_in(browser, alpha, user.email)
    browser.post("/i18n/setlang/", {"language": "es", "next": "/"})
    with tenant_context(alpha):
        notification = notify(User.objects.get(pk=user.pk), "deposit.credited", link="/money/",
                              dedupe_key="i18n-mail", context={"reference": "DEP-7Q4X", "amount": Decimal("1234.50"),
                                                               "credited": Decimal("1234.50"), "currency": "USD"})
        assert notification.language == "es"
        mail.outbox.clear()
        assert notification_email_deliver(notification_id=notification.pk)
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.extra_headers["Content-Language"] == "es"
    assert "abonados en su billetera" in message.subject
    assert "El depósito DEP-7Q4X" in message.body
    assert "credited to your wallet" not in message.subject + message.body


def test_an_unknown_language_changes_nothing_and_anonymous_switching_stores_nothing(alpha_client):
    from tenant_apps.identity.models import User

    alpha, user = alpha_client
    browser = _browser(alpha)
    sign_in(browser, alpha, user.email)
    response = browser.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert response.status_code == 302
    with tenant_context(alpha):
        assert User.objects.get(pk=user.pk).language == "en"

    stranger = _browser(alpha)
    assert stranger.post("/i18n/setlang/", {"language": "ar", "next": "/"}).status_code == 302
    assert 'dir="rtl"' in stranger.get("/accounts/login/").content.decode()
    with tenant_context(alpha):
        assert User.objects.get(pk=user.pk).language == "en"


def test_staff_see_the_clients_language_on_client_360(alpha_client, tenants):
    alpha, user = alpha_client
    browser = _browser(alpha)
    sign_in(browser, alpha, user.email)
    browser.post("/i18n/setlang/", {"language": "ar", "next": "/"})
    staff = _browser(alpha)
    assert sign_in(staff, alpha, "admin@alpha.test").status_code == 302
    page = staff.get(f"/backoffice/clients/{user.pk}/").content.decode()
    assert '<dd class="col-8" data-role="language">Arabic (ar)</dd>' in page
