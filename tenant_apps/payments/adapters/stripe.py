"""Stripe through its official SDK: Checkout Sessions for deposits, refunds as payouts to the original card,
balance transactions as the settlement report, and the shared Stripe webhook scheme.

Every call that creates something carries an idempotency key derived from our reference (the SDK's
`idempotency_key` option), so a retry after a timeout returns the first result instead of charging twice.
Settings (non-secret, PaymentProviderConfig.settings): `statement_label`, `webhook_tolerance_s`, `api_base`
(only to point the SDK at a local stub in tests).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import stripe

from tenant_apps.payments.adapters import stripe_scheme
from tenant_apps.payments.adapters.base import (
    Customer,
    NotSupported,
    PaymentSession,
    PayoutDestination,
    PayoutResult,
    PspAdapter,
    PspAuthFailed,
    PspNotConfigured,
    PspRejected,
    PspUnavailable,
    SettlementLine,
    VerifiedEvent,
)
from tenant_apps.payments.money import currency_code, from_minor, to_minor

_SETTLEMENT_TYPES = {"charge": "payment", "payment": "payment", "refund": "refund", "payment_refund": "refund",
                     "payout": "payout", "adjustment": "adjustment", "stripe_fee": "fee"}


def _timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int) else None


class StripeAdapter(PspAdapter):
    kind = "stripe"

    def _client(self) -> stripe.StripeClient:
        if not self.credentials.api_key:
            raise PspNotConfigured("The Stripe connection has no secret API key.")
        options: dict = {"max_network_retries": 2}
        if self.settings.get("api_base"):
            options["base_addresses"] = {"api": self.settings["api_base"]}
        return stripe.StripeClient(self.credentials.api_key, **options)

    @staticmethod
    def _call(method: Callable, params: Mapping, *, idempotency_key: str | None = None):
        options = {"idempotency_key": idempotency_key} if idempotency_key else None
        try:
            return method(params=dict(params), options=options)  # a StripeObject (not a dict: use .to_dict())
        except stripe.AuthenticationError as exc:
            raise PspAuthFailed(exc.user_message or str(exc)) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise PspUnavailable(exc.user_message or str(exc)) from exc
        except (stripe.InvalidRequestError, stripe.CardError, stripe.IdempotencyError,
                stripe.PermissionError) as exc:
            raise PspRejected(exc.user_message or str(exc), code=f"stripe_{exc.code or 'rejected'}") from exc
        except stripe.StripeError as exc:
            # APIError and friends: Stripe's side failed; the same idempotency key makes the retry safe.
            status = getattr(exc, "http_status", None) or 0
            raise PspUnavailable(exc.user_message or str(exc), retryable=status >= 500 or status == 0) from exc

    # --- deposits --------------------------------------------------------------------------------------

    def create_payment(self, *, amount: Decimal, currency: str, reference: str, customer: Customer,
                       return_url: str, notify_url: str = "") -> PaymentSession:
        # notify_url is not per payment at Stripe: its webhook endpoint is configured in the Dashboard.
        metadata = {"reference": reference, "client_id": customer.client_id}
        params = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": currency_code(currency).lower(),
                "unit_amount": to_minor(amount, currency),
                "product_data": {"name": self.settings.get("statement_label") or "Account deposit"},
            }}],
            "success_url": return_url,
            "cancel_url": return_url,
            "client_reference_id": reference,
            "customer_email": customer.email,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
        session = self._call(self._client().v1.checkout.sessions.create, params,
                             idempotency_key=self.idempotency_key("payment", reference)).to_dict()
        # The PaymentIntent exists once the client pays (recent API versions): until then the session id
        # stands for the payment. Webhooks carry our reference in metadata either way.
        return PaymentSession(provider_payment_id=session.get("payment_intent") or session["id"],
                              hosted_url=session.get("url"), expires_at=_timestamp(session.get("expires_at")))

    # --- webhooks --------------------------------------------------------------------------------------

    def verify_webhook(self, *, raw_body: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
        event = stripe_scheme.verify(
            raw_body, stripe_scheme.header_value(headers, stripe_scheme.SIGNATURE_HEADER),
            self.credentials.webhook_secrets,
            tolerance=int(self.settings.get("webhook_tolerance_s", stripe_scheme.DEFAULT_TOLERANCE_S)),
        )
        return stripe_scheme.to_verified_event(event)

    def parse_event(self, raw_body: bytes) -> VerifiedEvent:
        return stripe_scheme.parse(raw_body)

    # --- withdrawals -----------------------------------------------------------------------------------

    def create_payout(self, *, amount: Decimal, currency: str, reference: str, destination: PayoutDestination,
                      notify_url: str = "") -> PayoutResult:
        """Card money goes back to the card it came from: a refund of the original deposit."""
        if destination.kind != "original_payment" or not destination.original_payment_id:
            raise NotSupported("Stripe pays clients back only as a refund of an earlier card deposit.")
        refund = self._call(self._client().v1.refunds.create, {
            "payment_intent": destination.original_payment_id,
            "amount": to_minor(amount, currency),
            "metadata": {"reference": reference},
        }, idempotency_key=self.idempotency_key("payout", reference)).to_dict()
        status = {"succeeded": "paid", "failed": "failed", "canceled": "failed"}.get(refund.get("status"), "pending")
        return PayoutResult(provider_payout_id=refund["id"], status=status)

    # --- reconciliation --------------------------------------------------------------------------------

    def fetch_settlement_report(self, *, day: date) -> list[SettlementLine]:
        start = datetime.combine(day, time.min, tzinfo=UTC)
        page = self._call(self._client().v1.balance_transactions.list, {
            "created": {"gte": int(start.timestamp()), "lt": int((start + timedelta(days=1)).timestamp())},
            "limit": 100, "expand": ["data.source"],
        })
        lines = []
        try:
            for item in page.auto_paging_iter():
                txn = item.to_dict()
                source = txn.get("source") if isinstance(txn.get("source"), Mapping) else {}
                currency = currency_code(txn["currency"])
                lines.append(SettlementLine(
                    provider_line_id=txn["id"], type=_SETTLEMENT_TYPES.get(txn.get("type"), txn.get("type") or ""),
                    provider_payment_id=str(source.get("payment_intent") or source.get("id") or ""),
                    reference=str((source.get("metadata") or {}).get("reference", "")),
                    amount=from_minor(txn["amount"], currency), fee=from_minor(txn.get("fee") or 0, currency),
                    net=from_minor(txn["net"], currency), currency=currency,
                    settled_at=_timestamp(txn.get("available_on")),
                ))
        except stripe.StripeError as exc:
            raise PspUnavailable(exc.user_message or str(exc)) from exc
        return lines
