"""Countries (ISO 3166-1 alpha-2, names from libphonenumber's locale data, CLDR's through babel in es/ar) and phone validation to E.164."""
from __future__ import annotations

from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumbers.geodata.locale import LOCALE_DATA


def _name(code: str, language: str) -> str:
    if language and not language.startswith("en"):
        cldr = _cldr_territories(language).get(code)  # babel's CLDR names: complete for es and ar (libphonenumber's
        if cldr:                                       # locale data lacks most non-English names)
            return cldr
    names = LOCALE_DATA.get(code) or {}
    name = names.get(language) or names.get("en") or names.get("aa") or code
    while name.startswith("*"):  # libphonenumber's "same as language X" pointer
        name = names.get(name[1:]) or code
    return name


@lru_cache(maxsize=8)
def _cldr_territories(language: str) -> dict:
    from babel import Locale, UnknownLocaleError

    try:
        return dict(Locale.parse(language.replace("-", "_")).territories)
    except (UnknownLocaleError, ValueError):
        return {}


@lru_cache(maxsize=8)
def country_choices(language: str = "en") -> tuple[tuple[str, str], ...]:
    """Every region libphonenumber knows (≈245), sorted by name in `language`."""
    codes = [c for c in phonenumbers.SUPPORTED_REGIONS if c in LOCALE_DATA]
    return tuple(sorted(((c, _name(c, language)) for c in codes), key=lambda pair: pair[1]))


def country_name(code: str, language: str = "en") -> str:
    return _name(code, language)


def phone_e164(raw: str, *, country: str | None) -> str:
    """Parse `raw` ("+357 22 000000", or a national number read in `country`) into E.164, or raise
    ValidationError with a message the client can act on."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Enter your phone number with its country code.", code="required")
    if len(text) > 32:
        raise ValidationError("That phone number is too long.", code="too_long")
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else (country or None))
    except phonenumbers.NumberParseException:
        raise ValidationError("Enter a phone number with its country code, e.g. +357 22 123456.",
                              code="invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This is not a valid phone number for its country code.", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def calling_codes() -> list[tuple[str, str]]:
    """(region, "+code") pairs for the phone field's type-ahead list."""
    return [(c, f"+{phonenumbers.country_code_for_region(c)}") for c, _ in country_choices("en")]
