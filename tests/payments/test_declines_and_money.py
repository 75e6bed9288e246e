"""What a client is told when a card is declined (PROTOCOLS §2 decline guidance), and amounts on the PSP wire."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tenant_apps.payments.adapters.base import decline_reason
from tenant_apps.payments.money import AmountError, from_minor, to_minor

# PSP code → (our reason, words the client must read, words of the next step)
DECLINES = {
    "insufficient_funds": ("insufficient_funds", "insufficient funds", "another card or payment method"),
    "do_not_honor": ("issuer_declined", "declined by the issuer", "Contact your card issuer"),
    "generic_decline": ("issuer_declined", "declined by the issuer", "Contact your card issuer"),
    "card_velocity_exceeded": ("limit_exceeded", "exceeded your card's daily limit", "raise the limit"),
    "geographic_restriction": ("geographic_restriction", "geographic restriction", "allow international payments"),
    "expired_card": ("card_expired", "expired", "still valid"),
    "incorrect_cvc": ("incorrect_details", "not accepted", "Check the card number"),
    "processing_error": ("processing_error", "temporary problem", "try again"),
}


@pytest.mark.parametrize(("code", "expected"), DECLINES.items(), ids=DECLINES.keys())
def test_each_decline_code_shows_its_specific_reason_and_a_next_step(code, expected):
    reason, says, next_step = expected
    shown = decline_reason(code)
    assert shown.reason == reason
    assert says in str(shown.message)
    assert next_step in str(shown.next_step)
    assert shown.disclosed


@pytest.mark.parametrize("code", ["fraudulent", "lost_card", "stolen_card", "pickup_card", "restricted_card"])
def test_fraud_lost_and_stolen_are_shown_exactly_like_a_generic_decline(code):
    shown, generic = decline_reason(code), decline_reason("generic_decline")
    assert (shown.reason, str(shown.message), str(shown.next_step)) == (
        generic.reason, str(generic.message), str(generic.next_step))
    assert not shown.disclosed  # staff screens know not to echo the code


@pytest.mark.parametrize("code", ["", None, "something_new_from_the_psp", "INSUFFICIENT_FUNDS "])
def test_unknown_codes_read_as_a_generic_decline_and_codes_are_normalised(code):
    expected = "insufficient_funds" if code == "INSUFFICIENT_FUNDS " else "issuer_declined"
    assert decline_reason(code).reason == expected


@pytest.mark.parametrize(("amount", "currency", "minor"), [
    (Decimal("10.50"), "USD", 1050), (Decimal("10.5"), "eur", 1050), (Decimal("1050"), "JPY", 1050),
    (Decimal("1.050"), "KWD", 1050), (Decimal("0.01"), "USD", 1),
])
def test_amounts_go_to_minor_units_and_back_exactly(amount, currency, minor):
    assert to_minor(amount, currency) == minor
    assert from_minor(minor, currency) == amount


@pytest.mark.parametrize(("amount", "currency"), [(Decimal("10.505"), "USD"), (Decimal("1.5"), "JPY"),
                                                  (Decimal("NaN"), "USD"), (10.5, "USD"), (Decimal("1"), "US")])
def test_amounts_a_currency_cannot_express_are_refused_not_rounded(amount, currency):
    with pytest.raises(AmountError):
        to_minor(amount, currency)
