"""Test card numbers of the sandbox PSP and the outcome each one forces (Stripe's test numbers where Stripe
has one; geographic restriction is the sandbox's own)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxCard:
    number: str
    label: str
    decline_code: str = ""         # "" = the payment succeeds
    message: str = ""              # what the PSP itself says (its hosted page, last_payment_error.message)

    @property
    def succeeds(self) -> bool:
        return not self.decline_code


CARDS = [
    SandboxCard("4242424242424242", "Success"),
    SandboxCard("4000000000000002", "Declined by the issuer", "generic_decline", "Your card was declined."),
    SandboxCard("4000000000009995", "Insufficient funds", "insufficient_funds", "Your card has insufficient funds."),
    SandboxCard("4000000000006975", "Limit exceeded", "card_velocity_exceeded",
             "Your card was declined for making repeated attempts too frequently or exceeding its amount limit."),
    SandboxCard("4000000000007601", "Geographic restriction", "geographic_restriction",
             "Your card cannot be used in this merchant's country."),
    SandboxCard("4100000000000019", "Fraudulent (shown as a generic decline)", "fraudulent", "Your card was declined."),
    SandboxCard("4000000000009987", "Lost card (shown as a generic decline)", "lost_card", "Your card was declined."),
    SandboxCard("4000000000009979", "Stolen card (shown as a generic decline)", "stolen_card", "Your card was declined."),
    SandboxCard("4000000000000069", "Expired card", "expired_card", "Your card has expired."),
    SandboxCard("4000000000000119", "Processing error", "processing_error",
             "An error occurred while processing your card. Try again in a little bit."),
]
BY_NUMBER = {card.number: card for card in CARDS}
SUCCESS = CARDS[0]
# Payouts to an account number ending like this are returned by the beneficiary's bank.
FAILING_PAYOUT_SUFFIX = "0002"


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, digit in enumerate(int(d) for d in reversed(number)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_outcome(number: str) -> SandboxCard | None:
    """The forced outcome of a card number; any other valid number succeeds; None: not a card number."""
    number = "".join(ch for ch in number if ch.isdigit())
    if not luhn_valid(number):
        return None
    return BY_NUMBER.get(number, SUCCESS)
