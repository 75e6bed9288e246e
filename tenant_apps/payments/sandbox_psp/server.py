"""The sandbox PSP's HTTP face and its in-memory books: merchants (by API key), payments, refunds, payouts,
events; the hosted payment page; the control endpoint for faults. See the package docstring for the tour."""
from __future__ import annotations

import csv
import hashlib
import hmac
import html
import io
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from tenant_apps.payments.sandbox_psp.cards import CARDS, FAILING_PAYOUT_SUFFIX, card_outcome
from tenant_apps.payments.sandbox_psp.delivery import Deliverer, Delivery

log = logging.getLogger("sandbox_psp")

API_VERSION = "sandbox-2025-01"
DEFAULT_SIGNING_MASTER = "brokeros-sandbox-psp-development-master"
MAX_BODY = 1024 * 1024
FEE_PER_MILLE = 15  # 1.5 % of each payment, rounded half up, in minor units
ZERO_DECIMAL = {"jpy", "krw", "clp", "vnd", "isk", "xaf", "xof"}  # display only
FAULT_FIELDS = {"drop": bool, "delay_s": float, "duplicate": int, "reorder": bool}


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Merchant:
    api_key: str
    webhook_secret: str
    payments: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    payouts: dict[str, dict] = field(default_factory=dict)
    events: dict[str, dict] = field(default_factory=dict)      # id → {"event", "body", "notify_url", "payment_id"}
    idempotent: dict[tuple[str, str], tuple[int, dict]] = field(default_factory=dict)
    faults: dict = field(default_factory=dict)


class SandboxPSP:
    """The whole PSP. `start()` serves in a background thread (tests); `serve_forever()` blocks (the command)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 8600, public_url: str | None = None,
                 signing_master: str = DEFAULT_SIGNING_MASTER, retry_base_s: float = 1.0, retry_max_s: float = 60.0,
                 max_attempts: int = 8, payout_delay_s: float = 0.2):
        self.host, self.port = host, port
        self._public_url = public_url
        self.signing_master = signing_master
        self.payout_delay_s = payout_delay_s
        self.lock = threading.RLock()
        self.merchants: dict[str, Merchant] = {}
        self.deliverer = Deliverer(retry_base_s=retry_base_s, retry_max_s=retry_max_s, max_attempts=max_attempts)
        self.httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------------------

    def _bind(self) -> ThreadingHTTPServer:
        handler = type("BoundHandler", (Handler,), {"psp": self})
        self.httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        return self.httpd

    def start(self) -> SandboxPSP:
        httpd = self._bind()
        self._thread = threading.Thread(target=httpd.serve_forever, name="sandbox-psp-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        (self.httpd or self._bind()).serve_forever()

    def bind(self) -> SandboxPSP:
        """Take the port now (so `url` is final before serving)."""
        self._bind()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        self.deliverer.stop()

    @property
    def url(self) -> str:
        return (self._public_url or f"http://{self.host}:{self.port}").rstrip("/")

    # --- merchants --------------------------------------------------------------------------------------

    def webhook_secret(self, api_key: str) -> str:
        # Derived, not stored: a restarted sandbox signs with the same secret the broker already holds.
        return "whsec_" + hmac.new(self.signing_master.encode(), api_key.encode(), hashlib.sha256).hexdigest()[:40]

    def merchant(self, api_key: str | None) -> Merchant:
        if not api_key or not api_key.startswith("sk_sandbox_") or len(api_key) > 200:
            raise ApiError(401, "invalid_api_key", "Send 'Authorization: Bearer sk_sandbox_…'.")
        with self.lock:
            if api_key not in self.merchants:
                self.merchants[api_key] = Merchant(api_key=api_key, webhook_secret=self.webhook_secret(api_key))
            return self.merchants[api_key]

    def find_payment(self, payment_id: str) -> tuple[Merchant, dict]:
        with self.lock:
            for merchant in self.merchants.values():
                if payment_id in merchant.payments:
                    return merchant, merchant.payments[payment_id]
        raise ApiError(404, "resource_missing", f"No such payment: {payment_id}")

    # --- events and their delivery ------------------------------------------------------------------------

    def _event(self, merchant: Merchant, event_type: str, obj: dict, *, notify_url: str, payment_id: str,
               created: int | None = None) -> dict:
        event = {"id": _id("evt"), "object": "event", "api_version": API_VERSION,
                 "created": created or int(time.time()), "livemode": False, "pending_webhooks": 1,
                 "request": {"id": None, "idempotency_key": None}, "type": event_type,
                 "data": {"object": json.loads(json.dumps(obj))}}
        record = {"event": event, "body": json.dumps(event, separators=(",", ":")).encode(),
                  "notify_url": notify_url, "payment_id": payment_id}
        merchant.events[event["id"]] = record
        return record

    def _delivery(self, merchant: Merchant, record: dict, copy: int = 1) -> Delivery:
        event = record["event"]
        return Delivery(event_id=event["id"], event_type=event["type"], payment_id=record["payment_id"],
                        body=record["body"], url=record["notify_url"], secret=merchant.webhook_secret, copy=copy)

    def _send(self, merchant: Merchant, records: list[dict]) -> None:
        """Deliver records in this order, through the merchant's faults. A chain (reorder) goes out one after
        the other: the next is scheduled only once the previous one was delivered or given up."""
        faults = merchant.faults
        if not records or not records[0]["notify_url"]:
            return
        if faults.get("drop"):
            for record in records:
                self.deliverer.record(self._delivery(merchant, record), "dropped")
            return
        copies = max(1, int(faults.get("duplicate") or 1))
        chain: list[Delivery] = []
        for record in records:
            chain.append(self._delivery(merchant, record))
        for earlier, later in zip(chain, chain[1:], strict=False):
            earlier.then.append(later)
        delay = float(faults.get("delay_s") or 0)
        self.deliverer.schedule(chain[0], delay)
        for record in records:  # the extra copies of every event, independent of the chain
            for copy in range(2, copies + 1):
                self.deliverer.schedule(self._delivery(merchant, record, copy), delay)

    def redeliver(self, merchant: Merchant, event_id: str) -> None:
        record = merchant.events.get(event_id)
        if record is None:
            raise ApiError(404, "resource_missing", f"No such event: {event_id}")
        self.deliverer.schedule(self._delivery(merchant, record))

    # --- payments ---------------------------------------------------------------------------------------

    @staticmethod
    def _payment_view(payment: dict) -> dict:
        return {k: v for k, v in payment.items() if not k.startswith("_")}

    def create_payment(self, merchant: Merchant, body: dict) -> dict:
        amount, currency = body.get("amount"), str(body.get("currency") or "").lower()
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ApiError(400, "parameter_invalid_integer", "amount must be a positive integer in minor units.")
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise ApiError(400, "parameter_invalid", "currency must be a three-letter ISO code.")
        notify_url = str(body.get("notify_url") or "")
        if notify_url and urlsplit(notify_url).scheme not in ("http", "https"):
            raise ApiError(400, "parameter_invalid", "notify_url must be an http(s) URL.")
        payment_id = _id("pi")
        payment = {
            "id": payment_id, "object": "payment_intent", "amount": amount, "amount_received": 0,
            "amount_refunded": 0, "currency": currency, "status": "requires_payment_method",
            "description": str(body.get("reference") or ""), "created": int(time.time()),
            "metadata": {str(k): str(v) for k, v in (body.get("metadata") or {}).items()},
            "latest_charge": None, "last_payment_error": None, "receipt_email": (body.get("customer") or {}).get("email"),
            "hosted_url": f"{self.url}/pay/{payment_id}",
            "_return_url": str(body.get("return_url") or ""), "_notify_url": notify_url, "_settled_at": None,
        }
        merchant.payments[payment_id] = payment
        return self._payment_view(payment)

    def pay(self, merchant: Merchant, payment: dict, card_number: str, name: str) -> tuple[str, str]:
        """The client submitted the hosted page. Returns (outcome, message): ok | declined | invalid | paid."""
        card = card_outcome(card_number)
        if card is None:
            return "invalid", "That is not a valid card number."
        with self.lock:
            if payment["status"] == "succeeded":
                return "paid", "This payment has already been made."
            charge_id = _id("ch")
            now = int(time.time())
            if card.succeeds:
                payment.update(status="succeeded", amount_received=payment["amount"], latest_charge=charge_id,
                               last_payment_error=None, _settled_at=now)
                records = [self._event(merchant, "payment_intent.succeeded", self._payment_view(payment),
                                       notify_url=payment["_notify_url"], payment_id=payment["id"], created=now)]
                if merchant.faults.get("reorder"):
                    # A stale failure from an "earlier attempt", created before the success and sent after it.
                    stale = {**self._payment_view(payment), "status": "requires_payment_method", "amount_received": 0,
                             "latest_charge": _id("ch"), "last_payment_error": self._card_error(
                                 card_outcome("4000000000000002"), charge_id)}
                    records.append(self._event(merchant, "payment_intent.payment_failed", stale,
                                               notify_url=payment["_notify_url"], payment_id=payment["id"],
                                               created=now - 1))
                self._send(merchant, records)
                return "ok", "Payment successful."
            payment.update(status="requires_payment_method", latest_charge=charge_id,
                           last_payment_error=self._card_error(card, charge_id))
            record = self._event(merchant, "payment_intent.payment_failed", self._payment_view(payment),
                                 notify_url=payment["_notify_url"], payment_id=payment["id"], created=now)
            self._send(merchant, [record])
            return "declined", card.message

    @staticmethod
    def _card_error(card, charge_id: str) -> dict:
        # Stripe: declines carry code card_declined + decline_code; expired/processing carry the code itself.
        plain_codes = {"expired_card", "processing_error", "incorrect_cvc", "incorrect_number"}
        code = card.decline_code if card.decline_code in plain_codes else "card_declined"
        return {"type": "card_error", "code": code,
                "decline_code": None if code == card.decline_code else card.decline_code,
                "message": card.message, "charge": charge_id}

    def refund(self, merchant: Merchant, body: dict) -> dict:
        with self.lock:
            payment = merchant.payments.get(str(body.get("payment") or ""))
            if payment is None:
                raise ApiError(404, "resource_missing", "No such payment.")
            if payment["status"] != "succeeded":
                raise ApiError(400, "charge_not_refundable", "Only a successful payment can be refunded.")
            remaining = payment["amount_received"] - payment["amount_refunded"]
            amount = body.get("amount", remaining)
            if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= remaining:
                raise ApiError(400, "amount_too_large", f"Refund amount must be between 1 and {remaining}.")
            payment["amount_refunded"] += amount
            refund = {"id": _id("re"), "object": "refund", "amount": amount, "currency": payment["currency"],
                      "payment_intent": payment["id"], "status": "succeeded", "created": int(time.time()),
                      "metadata": {"reference": str(body.get("reference") or "")}}
            merchant.refunds[refund["id"]] = refund
            charge = {"id": payment["latest_charge"], "object": "charge", "amount": payment["amount_received"],
                      "amount_refunded": payment["amount_refunded"],
                      "refunded": payment["amount_refunded"] >= payment["amount_received"],
                      "payment_intent": payment["id"], "currency": payment["currency"],
                      "metadata": payment["metadata"]}
            notify_url = str(body.get("notify_url") or payment["_notify_url"])
            self._send(merchant, [self._event(merchant, "charge.refunded", charge, notify_url=notify_url,
                                              payment_id=payment["id"])])
            return refund

    # --- payouts ----------------------------------------------------------------------------------------

    def create_payout(self, merchant: Merchant, body: dict) -> dict:
        amount, currency = body.get("amount"), str(body.get("currency") or "").lower()
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ApiError(400, "parameter_invalid_integer", "amount must be a positive integer in minor units.")
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise ApiError(400, "parameter_invalid", "currency must be a three-letter ISO code.")
        destination = body.get("destination") or {}
        account = str(destination.get("account") or "")
        if not account:
            raise ApiError(400, "parameter_missing", "destination.account is required.")
        payout = {"id": _id("po"), "object": "payout", "amount": amount, "currency": currency, "status": "pending",
                  "created": int(time.time()), "arrival_date": None, "failure_code": None, "failure_message": None,
                  "destination": {"kind": destination.get("kind", ""), "last4": account[-4:]},
                  "metadata": {str(k): str(v) for k, v in (body.get("metadata") or {}).items()},
                  "_notify_url": str(body.get("notify_url") or ""), "_account": account, "_paid_at": None}
        with self.lock:
            merchant.payouts[payout["id"]] = payout
        self.deliverer.call_later(self.payout_delay_s, lambda: self._complete_payout(merchant, payout))
        return self._payment_view(payout)

    def _complete_payout(self, merchant: Merchant, payout: dict) -> None:
        with self.lock:
            now = int(time.time())
            if payout["_account"].endswith(FAILING_PAYOUT_SUFFIX):
                payout.update(status="failed", failure_code="account_closed",
                              failure_message="The beneficiary's bank account is closed.")
            else:
                payout.update(status="paid", arrival_date=now, _paid_at=now)
            record = self._event(merchant, f"payout.{payout['status']}", self._payment_view(payout),
                                 notify_url=payout["_notify_url"], payment_id=payout["id"], created=now)
            self._send(merchant, [record])

    # --- settlement -------------------------------------------------------------------------------------

    def settlement(self, merchant: Merchant, day: date) -> list[dict]:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        end = start + 86400

        def within(ts):
            return ts is not None and start <= ts < end

        lines = []
        with self.lock:
            for p in merchant.payments.values():
                if p["status"] == "succeeded" and within(p["_settled_at"]):
                    fee = (p["amount_received"] * FEE_PER_MILLE + 500) // 1000
                    lines.append({"id": p["latest_charge"], "type": "payment", "payment_id": p["id"],
                                  "reference": p["metadata"].get("reference", p["description"]),
                                  "amount": p["amount_received"], "fee": fee, "net": p["amount_received"] - fee,
                                  "currency": p["currency"], "settled_at": p["_settled_at"]})
            for r in merchant.refunds.values():
                if within(r["created"]):
                    lines.append({"id": r["id"], "type": "refund", "payment_id": r["payment_intent"],
                                  "reference": r["metadata"].get("reference", ""), "amount": -r["amount"], "fee": 0,
                                  "net": -r["amount"], "currency": r["currency"], "settled_at": r["created"]})
            for po in merchant.payouts.values():
                if po["status"] == "paid" and within(po["_paid_at"]):
                    lines.append({"id": po["id"], "type": "payout", "payment_id": po["id"],
                                  "reference": po["metadata"].get("reference", ""), "amount": -po["amount"], "fee": 0,
                                  "net": -po["amount"], "currency": po["currency"], "settled_at": po["_paid_at"]})
        return sorted(lines, key=lambda line: (line["settled_at"], line["id"]))


# --- HTTP ----------------------------------------------------------------------------------------------------

SETTLEMENT_COLUMNS = ["id", "type", "payment_id", "reference", "amount", "fee", "net", "currency", "settled_at"]


class Handler(BaseHTTPRequestHandler):
    psp: SandboxPSP
    protocol_version = "HTTP/1.1"
    server_version = "BrokerOS-SandboxPSP/1.0"

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        log.debug("%s %s", self.address_string(), format % args)

    # --- plumbing ---------------------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ApiError(413, "request_too_large", "Request body too large.")
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> dict:
        try:
            body = json.loads(self._body() or b"{}")
        except ValueError as exc:
            raise ApiError(400, "invalid_json", "The body is not JSON.") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_json", "The body must be a JSON object.")
        return body

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _html(self, status: int, page: str) -> None:
        self._send(status, page.encode(), "text/html; charset=utf-8")

    def _merchant(self) -> Merchant:
        auth = self.headers.get("Authorization", "")
        return self.psp.merchant(auth[7:].strip() if auth.lower().startswith("bearer ") else None)

    def _idempotent(self, merchant: Merchant, make) -> None:
        """Like Stripe: the same Idempotency-Key gets the first response again, whatever happened since."""
        key = self.headers.get("Idempotency-Key")
        if key:
            with self.psp.lock:
                stored = merchant.idempotent.get((self.path, key))
            if stored is not None:
                return self._json(*stored)
        result = (200, make())
        if key:
            with self.psp.lock:
                merchant.idempotent.setdefault((self.path, key), result)
                result = merchant.idempotent[(self.path, key)]
        self._json(*result)

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        try:
            for pattern, verb, handler_name in ROUTES:
                match = re.fullmatch(pattern, path)
                if match and verb == method:
                    return getattr(self, handler_name)(query, *match.groups())
            raise ApiError(404, "not_found", f"No route {method} {path}.")
        except ApiError as exc:
            self._json(exc.status, {"error": {"code": exc.code, "message": exc.message}})
        except Exception:  # noqa: BLE001 - a test peer answers 500 and keeps running
            log.exception("sandbox PSP error on %s %s", method, self.path)
            self._json(500, {"error": {"code": "api_error", "message": "Internal sandbox error."}})

    def do_GET(self):  # noqa: N802
        self._route("GET")

    def do_POST(self):  # noqa: N802
        self._route("POST")

    # --- the API ----------------------------------------------------------------------------------------

    def api_create_payment(self, query):
        merchant, body = self._merchant(), self._json_body()
        self._idempotent(merchant, lambda: self.psp.create_payment(merchant, body))

    def api_get_payment(self, query, payment_id):
        merchant = self._merchant()
        payment = merchant.payments.get(payment_id)
        if payment is None:
            raise ApiError(404, "resource_missing", f"No such payment: {payment_id}")
        self._json(200, self.psp._payment_view(payment))

    def api_refund(self, query):
        merchant, body = self._merchant(), self._json_body()
        self._idempotent(merchant, lambda: self.psp.refund(merchant, body))

    def api_payout(self, query):
        merchant, body = self._merchant(), self._json_body()
        self._idempotent(merchant, lambda: self.psp.create_payout(merchant, body))

    def api_get_payout(self, query, payout_id):
        payout = self._merchant().payouts.get(payout_id)
        if payout is None:
            raise ApiError(404, "resource_missing", f"No such payout: {payout_id}")
        self._json(200, self.psp._payment_view(payout))

    def api_webhook_secret(self, query):
        merchant = self._merchant()
        self._json(200, {"object": "webhook_secret", "secret": merchant.webhook_secret})

    def api_settlements(self, query):
        merchant = self._merchant()
        try:
            day = date.fromisoformat((query.get("date") or [""])[0])
        except ValueError as exc:
            raise ApiError(400, "parameter_invalid", "date must be YYYY-MM-DD.") from exc
        lines = self.psp.settlement(merchant, day)
        if (query.get("format") or ["json"])[0] == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=SETTLEMENT_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(lines)
            return self._send(200, out.getvalue().encode(), "text/csv; charset=utf-8",
                              {"Content-Disposition": f'attachment; filename="settlement-{day.isoformat()}.csv"'})
        self._json(200, {"object": "settlement_report", "date": day.isoformat(), "lines": lines})

    # --- control (the test's dashboard) ---------------------------------------------------------------

    def control_faults_get(self, query):
        self._json(200, self._merchant().faults)

    def control_faults_set(self, query):
        merchant, body = self._merchant(), self._json_body()
        unknown = set(body) - set(FAULT_FIELDS)
        if unknown:
            raise ApiError(400, "parameter_unknown", f"Unknown fault(s): {sorted(unknown)}; use {sorted(FAULT_FIELDS)}.")
        try:
            cleaned = {k: FAULT_FIELDS[k](v) for k, v in body.items()}
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "parameter_invalid", str(exc)) from exc
        with self.psp.lock:
            merchant.faults.update(cleaned)
            merchant.faults = {k: v for k, v in merchant.faults.items() if v}
        self._json(200, merchant.faults)

    def control_reset(self, query):
        merchant = self._merchant()
        with self.psp.lock:
            merchant.faults = {}
        self._json(200, {})

    def control_deliveries(self, query):
        merchant = self._merchant()
        payment_id = (query.get("payment_id") or [None])[0]
        own = set(merchant.events)
        rows = [row for row in list(self.psp.deliverer.log)
                if row["event_id"] in own and (payment_id is None or row["payment_id"] == payment_id)]
        self._json(200, {"deliveries": rows})

    def control_events(self, query):
        merchant = self._merchant()
        payment_id = (query.get("payment_id") or [None])[0]
        events = [r["event"] for r in list(merchant.events.values())
                  if payment_id is None or r["payment_id"] == payment_id]
        self._json(200, {"events": events})

    def control_redeliver(self, query, event_id):
        self.psp.redeliver(self._merchant(), event_id)
        self._json(202, {"scheduled": event_id})

    # --- pages ------------------------------------------------------------------------------------------

    def page_index(self, query):
        rows = "".join(f"<tr><td><code>{c.number}</code></td><td>{html.escape(c.label)}</td>"
                       f"<td><code>{c.decline_code or '—'}</code></td></tr>" for c in CARDS)
        self._html(200, _page("Sandbox PSP", f"""
          <h1>BrokerOS sandbox PSP</h1>
          <p>A card PSP for development and tests: hosted payment page, Stripe-style signed webhooks, faults on request.</p>
          <h2>Test cards</h2><table><tr><th>Number</th><th>Outcome</th><th>Decline code</th></tr>{rows}</table>
          <p>Any other valid card number succeeds. Payouts to an account ending in {FAILING_PAYOUT_SUFFIX} are returned.</p>
          <h2>Faults</h2><p><code>POST /_control/faults</code> with
          <code>{{"drop": true}}</code>, <code>{{"delay_s": 5}}</code>, <code>{{"duplicate": 3}}</code>,
          <code>{{"reorder": true}}</code> (a failure sent after the success); <code>POST /_control/reset</code>.</p>"""))

    def page_health(self, query):
        self._json(200, {"ok": True})

    def page_pay(self, query, payment_id):
        _, payment = self.psp.find_payment(payment_id)
        self._html(200, self._pay_form(payment))

    def page_pay_submit(self, query, payment_id):
        merchant, payment = self.psp.find_payment(payment_id)
        form = parse_qs(self._body().decode("utf-8", "replace"))
        outcome, message = self.psp.pay(merchant, payment, (form.get("card_number") or [""])[0],
                                        (form.get("name") or [""])[0])
        if outcome == "ok" and payment["_return_url"]:
            sep = "&" if "?" in payment["_return_url"] else "?"
            location = payment["_return_url"] + sep + urlencode({"payment_id": payment_id, "status": "succeeded"})
            return self._send(303, b"", "text/plain", {"Location": location})
        status = {"ok": 200, "paid": 409, "invalid": 400, "declined": 402}[outcome]
        self._html(status, self._pay_form(payment, outcome=outcome, message=message))

    def _pay_form(self, payment: dict, *, outcome: str = "", message: str = "") -> str:
        places = 0 if payment["currency"] in ZERO_DECIMAL else 2
        amount = Decimal(payment["amount"]).scaleb(-places)
        notice = f'<p class="{outcome}" role="alert">{html.escape(message)}</p>' if message else ""
        back = (f'<p><a href="{html.escape(payment["_return_url"])}">Back to the merchant</a></p>'
                if payment["_return_url"] else "")
        if payment["status"] == "succeeded":
            return _page("Paid", f"<h1>Payment complete</h1>{notice}{back}")
        return _page("Pay", f"""
          <h1>Pay {amount:,} {payment['currency'].upper()}</h1>
          <p>Reference <code>{html.escape(payment['description'])}</code></p>{notice}
          <form method="post" action="/pay/{payment['id']}">
            <label>Card number <input name="card_number" inputmode="numeric" autocomplete="cc-number" required></label>
            <label>Name on card <input name="name" autocomplete="cc-name" required></label>
            <label>Expiry <input name="expiry" placeholder="MM/YY" autocomplete="cc-exp"></label>
            <label>CVC <input name="cvc" inputmode="numeric" autocomplete="cc-csc"></label>
            <button type="submit">Pay</button>
          </form>{back}
          <p><small>Test cards: 4242 4242 4242 4242 succeeds; see <a href="/">the list</a>.</small></p>""")


def _page(title: str, body: str) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)} · Sandbox PSP</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}}
label{{display:block;margin:.6rem 0}}input{{display:block;width:100%;padding:.5rem;font-size:1rem}}
button{{padding:.6rem 1.2rem;font-size:1rem}}.declined,.invalid,.paid{{color:#a40000}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}}</style>
</head><body>{body}</body></html>"""


ROUTES = [
    (r"/", "GET", "page_index"),
    (r"/healthz", "GET", "page_health"),
    (r"/pay/(pi_[0-9a-f]+)", "GET", "page_pay"),
    (r"/pay/(pi_[0-9a-f]+)", "POST", "page_pay_submit"),
    (r"/v1/payments", "POST", "api_create_payment"),
    (r"/v1/payments/(pi_[0-9a-f]+)", "GET", "api_get_payment"),
    (r"/v1/refunds", "POST", "api_refund"),
    (r"/v1/payouts", "POST", "api_payout"),
    (r"/v1/payouts/(po_[0-9a-f]+)", "GET", "api_get_payout"),
    (r"/v1/webhook_secret", "GET", "api_webhook_secret"),
    (r"/v1/settlements", "GET", "api_settlements"),
    (r"/_control/faults", "GET", "control_faults_get"),
    (r"/_control/faults", "POST", "control_faults_set"),
    (r"/_control/reset", "POST", "control_reset"),
    (r"/_control/deliveries", "GET", "control_deliveries"),
    (r"/_control/events", "GET", "control_events"),
    (r"/_control/events/(evt_[0-9a-f]+)/redeliver", "POST", "control_redeliver"),
]
