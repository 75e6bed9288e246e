"""Amounts on the PSP wire: ISO 4217 minor units (1050 = 10.50 USD) ↔ Decimal in major units, never floats. The
precision of each currency comes from ledger.currencies (the one table)."""
from __future__ import annotations

from decimal import Decimal

from tenant_apps.ledger.currencies import currency_minor_units


class AmountError(ValueError):
    """An amount has more precision than its currency allows, is not finite, or the currency is malformed."""


def currency_code(currency: str) -> str:
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise AmountError(f"{currency!r} is not an ISO 4217 currency code.")
    return code


def exponent(currency: str) -> int:
    """Minor units of the currency: the one precision table (ledger.currencies), so what the PSP reports and what
    the ledger books never disagree."""
    return currency_minor_units(currency_code(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """10.50 USD → 1050. Refuses amounts the currency cannot express exactly (10.505 USD) instead of rounding."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise AmountError(f"{amount!r} is not a finite Decimal.")
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise AmountError(f"{amount} has more decimal places than {currency_code(currency)} allows.")
    return int(scaled)


def from_minor(minor: int | str, currency: str) -> Decimal:
    """1050 USD → Decimal('10.50'); the result carries exactly the currency's number of decimal places."""
    places = exponent(currency)
    try:
        value = int(minor)
    except (TypeError, ValueError) as exc:
        raise AmountError(f"{minor!r} is not an amount in minor units.") from exc
    return Decimal(value).scaleb(-places).quantize(Decimal(1).scaleb(-places))
