"""Money, numbers and dates as the reader's language writes them (CLDR data through babel), in the brokerage's zone.

One place for it so portal pages, statements and e-mails agree: `money(Decimal("1234.5"), "USD")` is "$1,234.50"
in English, "1.234,50 US$" in Spanish and "‏1,234.50 US$" in Arabic. The number of decimals is the ledger's
booking precision for the currency (ledger.currencies), never the locale's guess (BTC shows 8, JPY 0).
"""
from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format
from babel.numbers import format_decimal
from django.conf import settings
from django.utils import timezone, translation

from tenancy.context import current_brokerage
from tenant_apps.ledger.currencies import currency_minor_units


@lru_cache(maxsize=32)
def _locale(code: str) -> Locale:
    try:
        return Locale.parse((code or settings.LANGUAGE_CODE).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(settings.LANGUAGE_CODE)


def active_locale(language: str | None = None) -> Locale:
    return _locale(language or translation.get_language() or settings.LANGUAGE_CODE)


def tenant_zone() -> ZoneInfo:
    brokerage = current_brokerage()
    try:
        return ZoneInfo(getattr(brokerage, "timezone", "") or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def money(amount, currency: str, *, language: str | None = None) -> str:
    """`amount` in `currency` with the locale's symbol, grouping and sign, at the currency's booking precision."""
    value = _decimal(amount)
    if value is None:
        return ""
    currency = (currency or "").upper()
    locale = active_locale(language)
    pattern = copy.copy(locale.currency_formats["standard"])
    places = currency_minor_units(currency) if currency else 2
    pattern.frac_prec = (places, places)
    return pattern.apply(value, locale, currency=currency or None, currency_digits=False)


def number(value, places: int | None = None, *, language: str | None = None) -> str:
    """A plain number in the locale's grouping and decimal signs; `places` fixes the decimals."""
    value = _decimal(value)
    if value is None:
        return ""
    locale = active_locale(language)
    if places is None:
        return format_decimal(value, locale=locale, decimal_quantization=False)
    pattern = copy.copy(locale.decimal_formats[None])
    pattern.frac_prec = (places, places)
    return pattern.apply(value, locale)


def _local(value):
    if isinstance(value, datetime) and timezone.is_aware(value):
        return value.astimezone(tenant_zone())
    return value


def local_date(value, *, language: str | None = None, length: str = "medium") -> str:
    """A date (or a moment, shown on its day in the brokerage's zone) in the locale's words: "5 mar 2026"."""
    if not isinstance(value, date):
        return "" if value is None else str(value)
    value = _local(value)
    return format_date(value.date() if isinstance(value, datetime) else value, length, locale=active_locale(language))


def local_datetime(value, *, language: str | None = None) -> str:
    """A moment in the brokerage's zone: the locale's medium date and short time ("5 mar 2026, 14:30")."""
    if not isinstance(value, datetime):
        return local_date(value, language=language)
    value = _local(value)
    locale = active_locale(language)
    return get_datetime_format("medium", locale=locale).replace("'", "").format(
        format_time(value, "short", locale=locale), format_date(value.date(), "medium", locale=locale))
