"""Manual bank wire: the client is shown the brokerage's bank details and a unique reference to quote; finance
matches incoming wires by that reference (statement import / manual entry: services/wires.py).

Non-secret settings: `beneficiary`, `iban`, `bic`, `bank_name`, `bank_address`, `processing_days`, and
optionally `accounts`: {"EUR": {"iban": …, "bic": …, "bank_name": …}, …} — one receiving account per currency,
whose fields override the top-level ones for deposits in that currency.
There is nobody to call: no webhooks, no API payouts (finance sends them), no settlement feed.

The reference ("BW-7Q4X-92K"): "BW", six characters and one ISO 7064 MOD 37-2 check character (python-stdnum),
drawn from an alphabet without 0/O, 1/I/L so it can be read over the phone and typed from a banking app. The
check character catches every single wrong character and swapped neighbours before anything is looked up (a pure
system: the hybrid MOD 37,36 misses some swaps of neighbours; draws whose check character is "*" or confusable are redrawn).
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from stdnum.iso7064 import mod_37_2

from tenant_apps.payments.adapters.base import (
    Customer,
    NotSupported,
    PaymentSession,
    PayoutDestination,
    PayoutResult,
    PspAdapter,
    PspNotConfigured,
    SettlementLine,
    VerifiedEvent,
)
from tenant_apps.payments.money import currency_code, to_minor

BANK_FIELDS = ("beneficiary", "iban", "bic", "bank_name", "bank_address")

REFERENCE_PREFIX = "BW"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: nothing to confuse when typing
_REFERENCE_BODY = 6
_AMBIGUOUS = frozenset("01OIL*")  # "*" is MOD 37-2's 37th check character: not typable in a bank form
# A candidate inside free text once spaces, dashes and dots are gone: "BW" and seven more characters.
_CANDIDATE = re.compile(rf"(?={REFERENCE_PREFIX}([0-9A-Z]{{{_REFERENCE_BODY + 1}}}))")


def wire_reference_new() -> str:
    """A fresh reference, e.g. "BW-7Q4X-92K" (uniqueness is the Deposit.reference constraint's job)."""
    while True:
        body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(_REFERENCE_BODY))
        check = mod_37_2.calc_check_digit(REFERENCE_PREFIX + body)
        if check not in _AMBIGUOUS:  # about 1 in 6 draws: keep the whole reference unambiguous
            full = body + check
            return f"{REFERENCE_PREFIX}-{full[:4]}-{full[4:]}"


def wire_reference_compact(text: str) -> str:
    """Upper case without spaces, dashes, dots, slashes or underscores: how references are compared."""
    return re.sub(r"[\s\-./_]+", "", (text or "").upper())


def wire_reference_format(compact: str) -> str:
    full = compact[len(REFERENCE_PREFIX):]
    return f"{REFERENCE_PREFIX}-{full[:4]}-{full[4:]}"


def wire_reference_valid(text: str) -> bool:
    compact = wire_reference_compact(text)
    return (len(compact) == len(REFERENCE_PREFIX) + _REFERENCE_BODY + 1 and compact.startswith(REFERENCE_PREFIX)
            and mod_37_2.is_valid(compact))


def wire_reference_find(*texts: str) -> tuple[str, str]:
    """Read our reference out of a wire's remittance text: (the formatted reference, "") when one with a valid
    check character is found, else ("", what went wrong) — a reference-shaped string that fails its check
    character is reported (a typo the client made), not guessed at."""
    invalid = ""
    for text in texts:
        compact = wire_reference_compact(text)
        for match in _CANDIDATE.finditer(compact):
            candidate = REFERENCE_PREFIX + match.group(1)
            if mod_37_2.is_valid(candidate):
                return wire_reference_format(candidate), ""
            invalid = invalid or wire_reference_format(candidate)
    if invalid:
        return "", f"reference {invalid} fails its check character (mistyped by the payer?)"
    return "", "no deposit reference in the payment details"


class BankWireAdapter(PspAdapter):
    kind = "bank_wire"

    def bank_details(self, currency: str) -> dict[str, str]:
        """The receiving account for deposits in `currency`: the per-currency account over the defaults."""
        code = currency_code(currency)
        accounts = self.settings.get("accounts") or {}
        merged = {**{f: self.settings.get(f) for f in BANK_FIELDS}, **(accounts.get(code) or {})}
        if accounts and code not in accounts and not self.settings.get("iban"):
            raise PspNotConfigured(f"The bank wire connection has no receiving account for {code}.")
        missing = [f for f in ("beneficiary", "iban") if not merged.get(f)]
        if missing:
            raise PspNotConfigured(f"The bank wire connection lacks: {', '.join(missing)}.")
        return {f: str(merged[f]) for f in BANK_FIELDS if merged.get(f)}

    def instructions(self, *, amount: Decimal, currency: str, reference: str) -> dict[str, str]:
        instructions = self.bank_details(currency)
        instructions.update(amount=str(amount), currency=currency_code(currency), reference=reference)
        if self.settings.get("processing_days"):
            instructions["processing_days"] = str(self.settings["processing_days"])
        return instructions

    def create_payment(self, *, amount: Decimal, currency: str, reference: str, customer: Customer,
                       return_url: str, notify_url: str = "") -> PaymentSession:
        to_minor(amount, currency)  # refuses amounts the currency cannot express
        # Our reference is the only thing that ties an incoming wire to this deposit.
        return PaymentSession(provider_payment_id=reference,
                              instructions=self.instructions(amount=amount, currency=currency, reference=reference))

    def verify_webhook(self, *, raw_body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        raise NotSupported("Bank wires have no webhooks.")

    def parse_event(self, raw_body: bytes) -> VerifiedEvent:
        raise NotSupported("Bank wires have no webhooks.")

    def create_payout(self, *, amount: Decimal, currency: str, reference: str, destination: PayoutDestination,
                      notify_url: str = "") -> PayoutResult:
        if not destination.account:
            raise PspNotConfigured("A bank wire payout needs the client's account number (IBAN).")
        return PayoutResult(provider_payout_id=reference, status="manual", instructions={
            "beneficiary": destination.holder_name, "iban": destination.account, "bic": destination.bank_code,
            "amount": str(amount), "currency": currency_code(currency), "reference": reference,
        })

    def fetch_settlement_report(self, *, day: date) -> list[SettlementLine]:
        raise NotSupported("Bank wires are reconciled from imported bank statements.")
