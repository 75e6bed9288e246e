"""The currencies the ledger books and the precision each is booked at (minor units), as one table.

The ledger stores every amount as numeric(20, 8); a currency's precision is copied onto each account when it
is opened and enforced from there by CHECK constraints, so changing a row here never reinterprets history.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from tenant_apps.ledger.errors import InvalidAmount, UnknownCurrency

# ISO 4217 minor units for fiat; crypto at the precision brokers book it (the column holds at most 8).
DECIMAL_PLACES: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "AUD": 2, "CAD": 2, "NZD": 2, "SGD": 2, "HKD": 2, "SEK": 2,
    "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "ZAR": 2, "MXN": 2, "TRY": 2, "AED": 2, "SAR": 2, "INR": 2,
    "CNY": 2, "THB": 2, "MYR": 2, "BRL": 2,
    "JPY": 0, "KRW": 0, "HUF": 2, "IDR": 2, "VND": 0, "CLP": 0,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3,
    "BTC": 8, "ETH": 8, "USDT": 6, "USDC": 6,
}
MAX_DECIMAL_PLACES = 8
# numeric(20, 8): twelve integer digits.
MAX_ABS_AMOUNT = Decimal("1e12")


def currency_decimal_places(currency: str) -> int:
    try:
        return DECIMAL_PLACES[currency]
    except (KeyError, TypeError):
        raise UnknownCurrency(f"The ledger does not book {currency!r}.", currency=currency) from None


def currency_quantum(decimal_places: int) -> Decimal:
    return Decimal(1).scaleb(-decimal_places)


def amount_validate(amount, *, currency: str, decimal_places: int, positive: bool = False) -> Decimal:
    """The amount quantized to the currency's precision, or InvalidAmount.

    Only Decimal is accepted (a float has already lost cents; an int hides a unit mistake less often than it
    causes one), it must be finite, non-zero, within numeric(20, 8), and carry no digits below the
    currency's minor unit: 10.005 USD is refused, never rounded.
    """
    if not isinstance(amount, Decimal):
        raise InvalidAmount(f"Amounts are Decimal, not {type(amount).__name__}.", amount=amount, currency=currency)
    if not amount.is_finite():
        raise InvalidAmount("The amount is not a finite number.", amount=amount, currency=currency)
    if amount.is_zero():
        raise InvalidAmount("The amount is zero.", amount=amount, currency=currency)
    if positive and amount < 0:
        raise InvalidAmount("The amount must be positive.", amount=amount, currency=currency)
    if abs(amount) >= MAX_ABS_AMOUNT:
        raise InvalidAmount("The amount is larger than the ledger holds.", amount=amount, currency=currency)
    quantum = currency_quantum(decimal_places)
    try:
        quantized = amount.quantize(quantum)
    except InvalidOperation:
        raise InvalidAmount("The amount cannot be represented.", amount=amount, currency=currency) from None
    if quantized != amount:
        raise InvalidAmount(
            f"{currency} is booked to {decimal_places} decimal places; {amount} has more.",
            amount=amount, currency=currency,
        )
    return quantized
