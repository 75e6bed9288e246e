"""The slot for external KYC vendors: create an applicant, verify and parse a webhook, map a result to ours."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


class VendorError(Exception):
    code = "vendor_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidSignature(VendorError):
    code = "invalid_signature"


class InvalidPayload(VendorError):
    code = "invalid_payload"


class Outcome:
    """What a vendor's result means for our KYC case (actions of compliance.states.TRANSITIONS, or none)."""

    APPROVE = "approve"
    REQUEST_RESUBMISSION = "request_resubmission"
    REJECT = "reject"
    NONE = "none"  # informational (applicant created, pending, on hold)


@dataclass(frozen=True)
class VendorCredentials:
    app_token: str = ""
    app_secret: str = ""
    webhook_secret: str = ""


@dataclass(frozen=True)
class VendorEvent:
    type: str
    applicant_id: str
    external_user_id: str
    review_status: str = ""
    review_answer: str = ""        # GREEN / RED
    reject_type: str = ""          # FINAL / RETRY
    reject_labels: tuple[str, ...] = ()
    client_message: str = ""       # may be shown to the client
    internal_note: str = ""        # Compliance only
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MappedResult:
    outcome: str
    client_reason: str = ""
    note: str = ""


class KycVendorAdapter(ABC):
    code = ""

    def __init__(self, *, credentials: VendorCredentials, base_url: str = "", level_name: str = ""):
        self.credentials, self.base_url, self.level_name = credentials, base_url, level_name

    @abstractmethod
    def create_applicant(self, *, external_user_id: str, email: str = "", country: str = "") -> str:
        """Register the client with the vendor; returns the vendor's applicant id."""
        ...

    @abstractmethod
    def verify_webhook(self, *, raw_body: bytes, headers) -> VendorEvent:
        """Check the signature over the raw bytes, then parse. Raises InvalidSignature / InvalidPayload."""
        ...

    @abstractmethod
    def map_result(self, event: VendorEvent) -> MappedResult:
        ...
