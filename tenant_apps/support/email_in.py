"""Support e-mail in: a raw RFC 822 message (from the management command or the signed endpoint) becomes a reply
on an existing ticket ("[T-000123]" in the subject, or In-Reply-To/References naming a message we stored), a new
ticket for a known client, or a new ticket flagged UNVERIFIED for an address no client has (staff triage it; we
send nothing to unknown addresses). Anything unreadable is refused with a clear error and creates nothing.

A reply is appended only when it comes from the ticket's own client: a stranger quoting a ticket number opens
their own (unverified) ticket instead of writing into someone else's thread."""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.utils import getaddresses

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection
from django.utils.html import strip_tags

from tenancy.context import require_tenant
from tenant_apps.identity.models import User, UserKind
from tenant_apps.support.errors import InboundEmailError, SupportError
from tenant_apps.support.models import Ticket, TicketMessage, TicketSource

MAX_RAW_BYTES = 30 * 1024 * 1024
SIGNATURE_TOLERANCE_S = 300
_SUBJECT_NUMBER = re.compile(r"\[\s*T-?(\d{1,12})\s*\]", re.IGNORECASE)
_HEADER_NUMBER = re.compile(r"<support-T-?(\d{1,12})[.@]", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|rv|tr)\s*:\s*)+", re.IGNORECASE)
_QUOTE_START = re.compile(r"^(On .{1,200} wrote:|-{2,} ?Original Message ?-{2,}|El .{1,200} escribió:)\s*$",
                          re.IGNORECASE)


@dataclass
class ParsedEmail:
    sender: str
    subject: str
    body: str
    message_id: str
    thread_ids: list[str]
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(frozen=True)
class Ingested:
    result: str  # "reply", "new", "unverified" or "duplicate"
    ticket: Ticket
    message: TicketMessage


def _body_of(msg) -> str:
    part = msg.get_body(preferencelist=("plain",))
    if part is not None:
        return part.get_content()
    part = msg.get_body(preferencelist=("html",))
    if part is not None:
        return strip_tags(part.get_content())
    return ""


def _without_quote(text: str) -> str:
    """The new text of a reply: stop at the quoted earlier message, drop '>' lines."""
    kept = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _QUOTE_START.match(line.strip()):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def email_parse(raw: bytes) -> ParsedEmail:
    """The parts of a raw e-mail we use, or InboundEmailError saying what is wrong with it."""
    if not raw or not raw.strip():
        raise InboundEmailError("The e-mail is empty.", code="email_empty")
    if len(raw) > MAX_RAW_BYTES:
        raise InboundEmailError("The e-mail is larger than 30 MB.", code="email_too_large")
    try:
        msg = message_from_bytes(raw, policy=policy.default)
        from_header = str(msg.get("From") or "")
        subject = str(msg.get("Subject") or "")
        message_id = str(msg.get("Message-ID") or "").strip()
        thread = " ".join(str(msg.get(h) or "") for h in ("In-Reply-To", "References"))
    except Exception as exc:  # noqa: BLE001 - a header the parser chokes on means "garbled" to the sender
        raise InboundEmailError(f"The e-mail's headers cannot be read ({exc.__class__.__name__}).",
                                code="email_garbled") from None
    addresses = [addr for _name, addr in getaddresses([from_header]) if "@" in addr]
    if not addresses:
        raise InboundEmailError("The e-mail has no valid From address (is this an RFC 822 message?).",
                                code="email_no_sender")
    try:
        body = _without_quote(_body_of(msg))
        attachments = []
        for part in msg.iter_attachments():
            payload = part.get_payload(decode=True)
            if payload:
                attachments.append((part.get_filename() or "attachment", payload))
    except Exception as exc:  # noqa: BLE001
        raise InboundEmailError(f"The e-mail's body cannot be decoded ({exc.__class__.__name__}).",
                                code="email_garbled") from None
    if not body and not attachments:
        raise InboundEmailError("The e-mail has no text and no attachment.", code="email_no_body")
    return ParsedEmail(sender=addresses[0].strip().lower(), subject=" ".join(subject.split())[:500],
                       body=body or "(attachment only)", message_id=message_id[:300],
                       thread_ids=re.findall(r"<[^<>\s]{1,300}>", thread), attachments=attachments)


def _ticket_named(parsed: ParsedEmail) -> Ticket | None:
    match = _SUBJECT_NUMBER.search(parsed.subject)
    if match:
        return Ticket.objects.select_related("client").filter(pk=int(match.group(1))).first()
    for ref in parsed.thread_ids:
        number = _HEADER_NUMBER.match(ref)
        if number:
            return Ticket.objects.select_related("client").filter(pk=int(number.group(1))).first()
    if parsed.thread_ids:
        earlier = (TicketMessage.objects.select_related("ticket__client")
                   .filter(email_message_id__in=parsed.thread_ids).order_by("-pk").first())
        if earlier is not None:
            return earlier.ticket
    return None


def email_ingest(raw: bytes) -> Ingested:
    """Turn one raw e-mail into a ticket message (see the module docstring). Idempotent by Message-ID: the same
    e-mail delivered twice is stored once."""
    from tenant_apps.support import services

    require_tenant()
    parsed = email_parse(raw)
    if parsed.message_id:
        seen = TicketMessage.objects.select_related("ticket").filter(email_message_id=parsed.message_id).first()
        if seen is not None:
            return Ingested("duplicate", seen.ticket, seen)
    uploads = [_named_file(data, name) for name, data in parsed.attachments]
    client = User.objects.filter(kind=UserKind.CLIENT, is_active=True, email__iexact=parsed.sender).first()
    ticket = _ticket_named(parsed)
    try:
        if ticket is not None and client is not None and ticket.client_id == client.pk:
            message = services.client_reply(ticket=ticket, client=client, body=parsed.body, uploads=uploads,
                                            via_email=True, email_message_id=parsed.message_id)
            return Ingested("reply", message.ticket, message)
        subject = _SUBJECT_NUMBER.sub("", _REPLY_PREFIX.sub("", parsed.subject)).strip() or "(no subject)"
        ticket = services.ticket_open(client=client, from_email=parsed.sender, subject=subject[:200],
                                      body=parsed.body, uploads=uploads, source=TicketSource.EMAIL,
                                      email_message_id=parsed.message_id)
    except ValidationError as exc:
        raise InboundEmailError("The e-mail was refused: " + " ".join(exc.messages), code="email_refused") from None
    except SupportError as exc:
        raise InboundEmailError(exc.message, code=exc.code) from None
    return Ingested("new" if client else "unverified", ticket, ticket.messages.first())


def _named_file(data: bytes, name: str) -> ContentFile:
    return ContentFile(data, name=(name or "attachment")[:100])


# --- the signed endpoint's secret -------------------------------------------------------------------------

def inbound_secret(schema_name: str | None = None) -> str:
    """This brokerage's shared secret for POST /support/inbound-email/: SUPPORT_INBOUND_SECRETS[schema] when the
    deployment sets one, else derived from SECRET_KEY and the schema (stable, different per brokerage)."""
    schema = schema_name or connection.schema_name
    configured = (getattr(settings, "SUPPORT_INBOUND_SECRETS", None) or {}).get(schema)
    if configured:
        return configured
    return hmac.new(settings.SECRET_KEY.encode(), f"support-inbound-email:{schema}".encode(),
                    hashlib.sha256).hexdigest()


def inbound_signature(body: bytes, *, secret: str, timestamp: int | None = None) -> str:
    """The X-Support-Signature header value for `body`: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t.body)>"."""
    stamp = int(time.time() if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def inbound_signature_valid(body: bytes, header: str, *, secret: str, now: float | None = None) -> bool:
    parts = dict(p.split("=", 1) for p in (header or "").split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) < 12) or not given:
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > SIGNATURE_TOLERANCE_S:
        return False  # a replay of an old delivery
    expected = inbound_signature(body, secret=secret, timestamp=int(stamp)).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)
