"""One table of currency precision (ledger.currencies): the PSP wire amounts (payments.money) and the ledger's
booking precision agree for every currency, so a deposit the PSP reports can always be booked exactly."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tenant_apps.ledger.currencies import DECIMAL_PLACES, amount_validate
from tenant_apps.payments.money import AmountError, exponent, from_minor, to_minor

WIRE_CURRENCIES = sorted(code for code in DECIMAL_PLACES if len(code) == 3 and code.isalpha())


@pytest.mark.parametrize("currency", WIRE_CURRENCIES)
def test_a_psp_amount_converts_at_exactly_the_precision_the_ledger_books(currency):
    places = DECIMAL_PLACES[currency]
    assert exponent(currency.lower()) == places
    smallest = from_minor(1, currency)
    assert smallest == Decimal(1).scaleb(-places)
    assert amount_validate(smallest, currency=currency, decimal_places=places) == smallest
    assert to_minor(smallest, currency) == 1
    with pytest.raises(AmountError):
        to_minor(smallest / 10, currency)  # one digit finer than the currency: refused, never rounded


@pytest.mark.parametrize(("currency", "minor", "major"), [
    ("JPY", 1050, Decimal("1050")), ("KWD", 1050, Decimal("1.050")), ("USD", 1050, Decimal("10.50")),
    ("BIF", 700, Decimal("700")),  # not booked by the ledger: its ISO 4217 exponent still applies
    ("XYZ", 1050, Decimal("10.50")),
])
def test_iso_4217_exponents_apply_to_currencies_the_ledger_does_not_book_too(currency, minor, major):
    assert from_minor(minor, currency) == major and to_minor(major, currency) == minor
