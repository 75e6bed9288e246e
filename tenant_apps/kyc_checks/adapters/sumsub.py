"""Sumsub: webhook digests (X-Payload-Digest, HMAC of the raw body, SHA1/SHA256/SHA512 hex), applicant creation
with signed API requests, and reviewResult → our outcomes."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request

from tenant_apps.kyc_checks.adapters.base import (
    InvalidPayload,
    InvalidSignature,
    KycVendorAdapter,
    MappedResult,
    Outcome,
    VendorError,
    VendorEvent,
)

DIGEST_ALGORITHMS = {
    "HMAC_SHA1_HEX": hashlib.sha1,
    "HMAC_SHA256_HEX": hashlib.sha256,
    "HMAC_SHA512_HEX": hashlib.sha512,
}
DEFAULT_ALG = "HMAC_SHA256_HEX"


def _header(headers, name: str) -> str:
    value = headers.get(name) if hasattr(headers, "get") else None
    if value is None and hasattr(headers, "items"):
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return (value or "").strip()


def payload_digest(secret: str, raw_body: bytes, alg: str = DEFAULT_ALG) -> str:
    """What Sumsub sends in X-Payload-Digest (tests sign with it too)."""
    return hmac.new(secret.encode(), raw_body, DIGEST_ALGORITHMS[alg]).hexdigest()


class SumsubAdapter(KycVendorAdapter):
    code = "sumsub"

    def verify_webhook(self, *, raw_body: bytes, headers) -> VendorEvent:
        secret = self.credentials.webhook_secret
        if not secret:
            raise InvalidSignature("No webhook secret is configured for Sumsub.")
        alg = _header(headers, "X-Payload-Digest-Alg")
        digest = _header(headers, "X-Payload-Digest").lower()
        if alg not in DIGEST_ALGORITHMS:
            raise InvalidSignature(f"Unknown digest algorithm {alg[:40]!r}.")
        if not digest:
            raise InvalidSignature("X-Payload-Digest is missing.")
        expected = payload_digest(secret, raw_body, alg)
        if not hmac.compare_digest(expected.encode(), digest.encode()):
            raise InvalidSignature("The payload digest does not match.")
        return self.parse_event(raw_body)

    def parse_event(self, raw_body: bytes) -> VendorEvent:
        try:
            body = json.loads(raw_body)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise InvalidPayload("The body is not JSON.") from exc
        if not isinstance(body, dict) or not body.get("type"):
            raise InvalidPayload("The body has no event type.")
        result = body.get("reviewResult") or {}
        if not isinstance(result, dict):
            raise InvalidPayload("reviewResult is not an object.")
        return VendorEvent(
            type=str(body["type"])[:64], applicant_id=str(body.get("applicantId") or "")[:100],
            external_user_id=str(body.get("externalUserId") or "")[:100],
            review_status=str(body.get("reviewStatus") or ""), review_answer=str(result.get("reviewAnswer") or ""),
            reject_type=str(result.get("reviewRejectType") or ""),
            reject_labels=tuple(str(x) for x in result.get("rejectLabels") or ()),
            client_message=str(result.get("moderationComment") or "").strip(),
            internal_note=str(result.get("clientComment") or "").strip(), raw=body)

    def map_result(self, event: VendorEvent) -> MappedResult:
        if event.type != "applicantReviewed" or event.review_status not in ("completed", ""):
            return MappedResult(Outcome.NONE)
        labels = ", ".join(event.reject_labels)
        note = "; ".join(x for x in (f"Sumsub {event.review_answer} {event.reject_type}".strip(),
                                     f"labels: {labels}" if labels else "", event.internal_note) if x)
        if event.review_answer == "GREEN":
            return MappedResult(Outcome.APPROVE, note=note)
        if event.review_answer == "RED" and event.reject_type == "RETRY":
            return MappedResult(Outcome.REQUEST_RESUBMISSION, note=note, client_reason=event.client_message or
                                "Some of your documents could not be accepted. Please upload them again.")
        if event.review_answer == "RED" and event.reject_type == "FINAL":
            return MappedResult(Outcome.REJECT, note=note, client_reason=event.client_message or
                                "We could not verify your identity.")
        return MappedResult(Outcome.NONE, note=note)

    # --- API (signed requests: X-App-Token, X-App-Access-Ts, X-App-Access-Sig = HMAC-SHA256(ts+method+path+body))

    def _signed_request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else b""
        ts = str(int(time.time()))
        signature = hmac.new(self.credentials.app_secret.encode(), ts.encode() + method.encode() + path.encode()
                             + data, hashlib.sha256).hexdigest()
        request = urllib.request.Request(self.base_url.rstrip("/") + path, data=data or None, method=method, headers={
            "X-App-Token": self.credentials.app_token, "X-App-Access-Ts": ts, "X-App-Access-Sig": signature,
            "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - configured https URL
                return json.loads(response.read() or b"{}")
        except (OSError, ValueError) as exc:
            raise VendorError(f"Sumsub {method} {path} failed: {exc}") from exc

    def create_applicant(self, *, external_user_id: str, email: str = "", country: str = "") -> str:
        path = "/resources/applicants?" + urllib.parse.urlencode({"levelName": self.level_name})
        payload = {"externalUserId": external_user_id}
        if email:
            payload["email"] = email
        answer = self._signed_request("POST", path, payload)
        if not answer.get("id"):
            raise VendorError("Sumsub did not return an applicant id.")
        return str(answer["id"])
