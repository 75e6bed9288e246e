"""The currencies the ledger books and the precision each is booked at (minor units), as one table.

The ledger stores every amount as numeric(20, 8); a currency's precision is copied onto each account when it
is opened and enforced from there by CHECK constraints, so changing a row here never reinterprets history.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from tenant_apps.ledger.errors import InvalidAmount, UnknownCurrency

# ISO 4217 exponents that are not 2 (Stripe calls the 0-exponent ones "zero-decimal currencies"). The one table of
# currency precision in BrokerOS: the ledger books at it and payments converts PSP wire amounts (minor units) with
# it (payments.money).
ISO_4217_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
                     "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}


def iso_exponent(currency: str) -> int:
    """ISO 4217 minor units of a fiat currency code (2 unless the table above says otherwise)."""
    return ISO_4217_EXPONENTS.get(currency, 2)


_FIAT_BOOKED = (
    "USD", "EUR", "GBP", "CHF", "AUD", "CAD", "NZD", "SGD", "HKD", "SEK", "NOK", "DKK", "PLN", "CZK", "ZAR", "MXN",
    "TRY", "AED", "SAR", "INR", "CNY", "THB", "MYR", "BRL", "JPY", "KRW", "HUF", "IDR", "VND", "CLP",
    "KWD", "BHD", "OMR", "JOD",
)
# The currencies the ledger books: fiat at its ISO 4217 minor units; crypto at the precision brokers book it (the
# column holds at most 8).
DECIMAL_PLACES: dict[str, int] = {
    **{code: iso_exponent(code) for code in _FIAT_BOOKED},
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


def currency_minor_units(currency: str) -> int:
    """Decimal places of an amount in `currency`: the ledger's booking precision when it books the currency, else
    its ISO 4217 exponent (a PSP may report a currency we do not book; its amounts still parse exactly)."""
    return DECIMAL_PLACES.get(currency, iso_exponent(currency))


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
