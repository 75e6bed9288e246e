"""The bundled sandbox PSP (tenant_apps/payments/sandbox_psp, its own process) over its HTTP/JSON API.

It behaves like a card PSP with a hosted payment page: we create a payment, send the client to its page,
and hear the outcome as a webhook signed and shaped exactly like Stripe's (so verification and mapping are
the shared stripe_scheme). Unlike Stripe it takes a callback URL per payment (`notify_url`) and pays out to
cards and bank accounts directly. Settings: `base_url` (default SANDBOX_PSP_URL or http://127.0.0.1:8600),
`timeout_s`, `webhook_tolerance_s`.
"""
from __future__ import annotations

import csv
import io
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from django.conf import settings as django_settings

from tenant_apps.payments.adapters import stripe_scheme
from tenant_apps.payments.adapters.base import (
    Customer,
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

DEFAULT_URL = "http://127.0.0.1:8600"


def sandbox_base_url() -> str:
    return getattr(django_settings, "SANDBOX_PSP_URL", None) or os.environ.get("SANDBOX_PSP_URL") or DEFAULT_URL


class SandboxAdapter(PspAdapter):
    kind = "sandbox"

    @property
    def base_url(self) -> str:
        return (self.settings.get("base_url") or sandbox_base_url()).rstrip("/")

    def _request(self, method: str, path: str, body: Mapping | None = None, *, idempotency_key: str | None = None,
                 api_key: str | None = None, raw: bool = False):
        key = api_key or self.credentials.api_key
        if not key:
            raise PspNotConfigured("The sandbox PSP connection has no API key.")
        headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=float(self.settings.get("timeout_s", 10))) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            detail = self._error_detail(exc)
            if exc.code == 401:
                raise PspAuthFailed(detail.get("message", "Unauthorised."), code="psp_auth_failed") from exc
            if exc.code >= 500:
                raise PspUnavailable(detail.get("message", f"HTTP {exc.code}")) from exc
            raise PspRejected(detail.get("message", f"HTTP {exc.code}"),
                              code=f"sandbox_{detail.get('code', 'rejected')}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise PspUnavailable(f"The sandbox PSP at {self.base_url} is unreachable: {exc}") from exc
        return payload if raw else json.loads(payload or b"{}")

    @staticmethod
    def _error_detail(exc: urllib.error.HTTPError) -> dict:
        try:
            body = json.loads(exc.read() or b"{}")
            return body.get("error", body) if isinstance(body, dict) else {}
        except ValueError:
            return {}

    # --- connecting ------------------------------------------------------------------------------------

    def fetch_webhook_secret(self, *, api_key: str) -> str:
        """The signing secret of this merchant's callbacks (like copying it from a PSP dashboard)."""
        return self._request("GET", "/v1/webhook_secret", api_key=api_key)["secret"]

    # --- deposits --------------------------------------------------------------------------------------

    def create_payment(self, *, amount: Decimal, currency: str, reference: str, customer: Customer,
                       return_url: str, notify_url: str = "") -> PaymentSession:
        if not notify_url:
            raise PspNotConfigured("The sandbox PSP needs the URL to send this payment's callbacks to.")
        body = {
            "amount": to_minor(amount, currency), "currency": currency_code(currency).lower(),
            "reference": reference, "return_url": return_url, "notify_url": notify_url,
            "customer": {"id": customer.client_id, "email": customer.email, "name": customer.name,
                         "country": customer.country},
            "metadata": {"reference": reference, "client_id": customer.client_id},
        }
        payment = self._request("POST", "/v1/payments", body, idempotency_key=self.idempotency_key("payment", reference))
        return PaymentSession(provider_payment_id=payment["id"], hosted_url=payment["hosted_url"])

    def payment_status(self, provider_payment_id: str) -> dict:
        """The PSP's view of one payment (for a deposit whose callback never came)."""
        return self._request("GET", f"/v1/payments/{provider_payment_id}")

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
        if destination.kind == "original_payment":
            refund = self._request("POST", "/v1/refunds", {
                "payment": destination.original_payment_id, "amount": to_minor(amount, currency),
                "reference": reference, "notify_url": notify_url,
            }, idempotency_key=self.idempotency_key("payout", reference))
            return PayoutResult(provider_payout_id=refund["id"],
                                status="paid" if refund.get("status") == "succeeded" else "pending")
        payout = self._request("POST", "/v1/payouts", {
            "amount": to_minor(amount, currency), "currency": currency_code(currency).lower(),
            "reference": reference, "notify_url": notify_url,
            "destination": {"kind": destination.kind, "holder_name": destination.holder_name,
                            "account": destination.account, "bank_code": destination.bank_code,
                            "country": destination.country},
            "metadata": {"reference": reference},
        }, idempotency_key=self.idempotency_key("payout", reference))
        return PayoutResult(provider_payout_id=payout["id"], status=payout.get("status", "pending"))

    # --- reconciliation --------------------------------------------------------------------------------

    def fetch_settlement_report(self, *, day: date) -> list[SettlementLine]:
        """The CSV report (what a finance team downloads), parsed; amounts in minor units on the wire."""
        text = self._request("GET", f"/v1/settlements?date={day.isoformat()}&format=csv", raw=True).decode()
        lines = []
        for row in csv.DictReader(io.StringIO(text)):
            currency = currency_code(row["currency"])
            lines.append(SettlementLine(
                provider_line_id=row["id"], type=row["type"], provider_payment_id=row["payment_id"],
                reference=row["reference"], amount=from_minor(row["amount"], currency),
                fee=from_minor(row["fee"], currency), net=from_minor(row["net"], currency), currency=currency,
                settled_at=datetime.fromtimestamp(int(row["settled_at"]), tz=UTC) if row.get("settled_at") else None,
            ))
        return lines
