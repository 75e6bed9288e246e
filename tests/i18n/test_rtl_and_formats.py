"""Arabic is laid out right to left with Bootstrap's RTL build; money, numbers and dates follow the reader's locale
(babel's CLDR data) in the brokerage's timezone, at the ledger's precision for the currency."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation
from django_tenants.utils import tenant_context

from themes import l10n


@pytest.fixture
def alpha(db, tenants):
    return tenants["alpha"]


@pytest.mark.parametrize("language, direction, stylesheet", [
    ("ar", "rtl", "bootstrap.rtl.min.css"), ("es", "ltr", "bootstrap.min.css"), ("en", "ltr", "bootstrap.min.css")])
def test_arabic_pages_are_right_to_left_with_the_rtl_stylesheet_and_the_others_are_not(
        alpha, tenant_client, language, direction, stylesheet):
    from tests.i18n.portal_data import portal_data_make

    with tenant_context(alpha):
        data = portal_data_make("alpha", language=language)
    for who, path in (("anonymous", "/accounts/login/"), ("client", "/money/"), ("client", "/verify/")):
        browser = tenant_client(alpha, data.client.email if who == "client" else None)
        browser.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        html = browser.get(path).content.decode()
        assert f'<html lang="{language}" dir="{direction}">' in html, path
        assert f"vendor/bootstrap/css/{stylesheet}" in html, path
        other = "bootstrap.min.css" if stylesheet != "bootstrap.min.css" else "bootstrap.rtl.min.css"
        assert f"vendor/bootstrap/css/{other}" not in html, path


def test_the_rtl_stylesheet_is_vendored():
    from pathlib import Path

    css = Path(settings.BASE_DIR) / "themes/static/vendor/bootstrap/css/bootstrap.rtl.min.css"
    ltr = css.with_name("bootstrap.min.css")
    assert css.exists() and css.read_bytes() != ltr.read_bytes()  # `make static` copies Bootstrap's dist/css


@pytest.mark.parametrize("language, expected", [
    ("en", "$1,234.50"), ("es", "1.234,50\xa0US$"), ("ar", "\u200f1,234.50\xa0US$")])
def test_money_is_written_as_babel_writes_it_for_the_locale(language, expected):
    from babel.numbers import format_currency

    assert format_currency(Decimal("1234.5"), "USD", locale=language) == expected  # babel's own output
    with translation.override(language):
        assert l10n.money(Decimal("1234.5"), "USD") == expected
        assert Template("{% load l10n_money %}{{ v|money:'USD' }}").render(Context({"v": Decimal("1234.5")})) \
            == expected


def test_money_precision_is_the_ledgers_for_the_currency_not_the_locales():
    with translation.override("es"):
        assert l10n.money(Decimal("0.12345678"), "BTC") == "0,12345678\xa0BTC"
        assert l10n.money(Decimal("1000"), "JPY") == "1.000\xa0JPY"
        assert l10n.money(Decimal("-12.5"), "KWD") == "-12,500\xa0KWD"
        assert l10n.money(None, "USD") == "" and l10n.money("not a number", "USD") == ""
    with translation.override("en"):
        assert l10n.money("1234567.891", "USD") == "$1,234,567.89"
        assert l10n.number(Decimal("1234.5"), 2) == "1,234.50"


def test_dates_are_in_the_brokerages_timezone_and_the_readers_words(alpha):
    moment = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)  # already 6 March in Nicosia (UTC+2)
    with tenant_context(alpha):
        with translation.override("en"):
            assert l10n.local_date(moment) == "Mar 6, 2026"
            assert l10n.local_datetime(moment) == "Mar 6, 2026, 1:30\u202fAM"
        with translation.override("es"):
            assert l10n.local_date(moment) == "6 mar 2026"
            assert l10n.local_datetime(moment) == "6 mar 2026, 1:30"
        with translation.override("ar"):
            from babel.dates import format_date

            assert l10n.local_date(moment) == format_date(date(2026, 3, 6), "medium", locale="ar")
            assert Template("{% load l10n_money %}{{ d|localdate }}").render(Context({"d": moment})) \
                == format_date(date(2026, 3, 6), "medium", locale="ar")


def test_portal_money_pages_show_amounts_in_the_readers_locale(alpha, tenant_client):
    from tests.i18n.portal_data import portal_data_make

    with tenant_context(alpha):
        data = portal_data_make("alpha", language="es")
    browser = tenant_client(alpha, data.client.email)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    assert "1.234,50\xa0US$" in browser.get("/money/").content.decode()
    assert "1.234,50\xa0US$" in browser.get(f"/money/deposit/{data.deposit.pk}/").content.decode()
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "$1,234.50" in browser.get("/money/").content.decode()
