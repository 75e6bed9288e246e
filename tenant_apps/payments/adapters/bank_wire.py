"""Manual bank wire: the client is shown the brokerage's bank details and a unique reference to quote; finance
matches incoming wires by that reference (statement import / manual entry, in the deposits workflow).

Non-secret settings: `beneficiary`, `iban`, `bic`, `bank_name`, `bank_address`, `processing_days`.
There is nobody to call: no webhooks, no API payouts (finance sends them), no settlement feed.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

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


class BankWireAdapter(PspAdapter):
    kind = "bank_wire"

    def create_payment(self, *, amount: Decimal, currency: str, reference: str, customer: Customer,
                       return_url: str, notify_url: str = "") -> PaymentSession:
        missing = [f for f in ("beneficiary", "iban") if not self.settings.get(f)]
        if missing:
            raise PspNotConfigured(f"The bank wire connection lacks: {', '.join(missing)}.")
        to_minor(amount, currency)  # refuses amounts the currency cannot express
        instructions = {f: str(self.settings[f]) for f in BANK_FIELDS if self.settings.get(f)}
        instructions.update(amount=str(amount), currency=currency_code(currency), reference=reference)
        # Our reference is the only thing that ties an incoming wire to this deposit.
        return PaymentSession(provider_payment_id=reference, instructions=instructions)

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
