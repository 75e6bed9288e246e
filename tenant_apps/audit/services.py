"""Writing the audit trail: `audit_record` appends one hash-chained entry; `diff_fields` says what changed.

Call `audit_record` inside the same transaction as the change it describes, as its last write: if the
change rolls back so does its entry, and if the entry can't be written the change doesn't happen. The
append takes a per-brokerage advisory lock until the transaction ends, so keep the transaction short.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from uuid import UUID

from django.db import connection, models, transaction
from django.db.models.fields.files import FieldFile

from tenancy.context import require_tenant
from tenant_apps.audit.chain import GENESIS, entry_hash
from tenant_apps.audit.models import ActorType, AuditEntry

__all__ = ["audit_record", "diff_fields", "json_safe", "audit_snapshot", "audit_request_origin", "client_ip"]

ACTION_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
# Advisory-lock key: this constant in the high 32 bits, the audit table's OID (unique per schema) in the
# low 32, so brokerages never wait on each other and nothing else in the database shares the key.
LOCK_CLASS = 0x41554454  # "AUDT"
USER_AGENT_MAX = 512
USER_OBJECT_TYPE = "identity.user"


# --- values -----------------------------------------------------------------------------------

def _clean_text(value: str) -> str:
    return value.replace("\x00", "\ufffd")  # PostgreSQL text and jsonb cannot hold NUL


def json_safe(value):
    """A JSON value that survives jsonb unchanged and hashes the same everywhere: no floats, no Decimals,
    timestamps as ISO strings, files as their stored names, model instances as their primary key."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, Decimal | float):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value.total_seconds()).removesuffix(".0")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or None
    if isinstance(value, models.Model):
        return json_safe(value.pk)
    if isinstance(value, Mapping):
        return {_clean_text(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((json_safe(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"  # never binary content in the trail
    return _clean_text(str(value))


def is_id(text: str) -> bool:
    """ASCII digits that fit a bigint ("²".isdigit() is True too, and int() of it fails)."""
    return text.isascii() and text.isdigit() and 0 < len(text) <= 18


def _value_of(source, field: str):
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(field)
    return getattr(source, field)


def audit_snapshot(obj, fields: Iterable[str]) -> dict:
    """The JSON-safe values of `fields` now: take it before changing an object, diff it afterwards.
    (A snapshot, not a reference: a FileField's value object is mutated in place when a file is saved.)"""
    return {f: json_safe(_value_of(obj, f)) for f in fields}


def diff_fields(before, after, fields: Iterable[str]) -> dict[str, list]:
    """{field: [old, new]} for each field whose value differs. `before`/`after` are model instances, dicts
    (e.g. from `audit_snapshot`) or None (nothing before a creation, nothing after a deletion)."""
    changes = {}
    for field in fields:
        old, new = json_safe(_value_of(before, field)), json_safe(_value_of(after, field))
        if old != new:
            changes[field] = [old, new]
    return changes


# --- who and from where -------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestOrigin:
    schema_name: str
    ip: str
    user_agent: str


_origin: ContextVar[RequestOrigin | None] = ContextVar("audit_request_origin", default=None)


def client_ip(request) -> str:
    """The peer address as the server saw it. Forwarded-for headers are not trusted here: behind a proxy,
    have the proxy set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips) rather than believe any client."""
    raw = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(raw))[:45]
    except ValueError:
        return ""


def _origin_of(request) -> RequestOrigin:
    agent = _clean_text(request.META.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX]
    return RequestOrigin(schema_name=connection.schema_name, ip=client_ip(request), user_agent=agent)


@contextmanager
def audit_request_origin(request):
    """Entries recorded inside (by any service) carry this request's IP and user agent.
    `tenant_apps.audit.middleware.AuditOriginMiddleware` wraps every request in it."""
    token = _origin.set(_origin_of(request))
    try:
        yield
    finally:
        _origin.reset(token)


def _actor_fields(actor, actor_type: str | None) -> tuple[str, int | None, str, list[str]]:
    """(actor_type, actor_id, actor_label, actor_roles) for a user, a system name, or nobody."""
    from tenant_apps.identity.models import UserKind

    if isinstance(actor, str):
        kind = str(actor_type or ActorType.SYSTEM)
        return kind, None, f"{kind}:{actor}"[:254], []
    if actor is None or not getattr(actor, "is_authenticated", False) or getattr(actor, "pk", None) is None:
        kind = str(actor_type or (ActorType.USER if actor is not None else ActorType.SYSTEM))
        return kind, None, ("anonymous" if kind == ActorType.USER else f"{kind}:platform"), []
    if getattr(actor, "kind", None) == UserKind.OPERATOR:
        # A platform operator's id belongs to the public schema: here it would name some other person.
        return str(actor_type or ActorType.SYSTEM), None, f"system:operator:{actor.email}"[:254], []
    roles = sorted({role.code for role in actor.roles.all()})  # uses a prefetch when the caller made one
    return str(actor_type or ActorType.USER), actor.pk, actor.email, roles


# --- the append ---------------------------------------------------------------------------------

def audit_lock() -> None:
    """Take this brokerage's audit-append lock now (held until the transaction ends; re-entrant).

    Code that will lock other rows AND write audit entries in one transaction calls this FIRST, so every such
    transaction takes the locks in the same order (audit, then rows) and two of them can never deadlock.
    """
    if not connection.in_atomic_block:
        return  # autocommit: the lock would end with the statement; audit_record takes it itself
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock((%s::bigint << 32) | %s::regclass::oid::bigint)",
                       [LOCK_CLASS, AuditEntry._meta.db_table])


def audit_record(*, action: str, obj=None, object_type: str | None = None, object_id=None,
                 changes: Mapping | None = None, reason: str = "", actor=None, request=None,
                 actor_type: str | None = None, subject=None) -> AuditEntry:
    """Append one entry to the current brokerage's chain and return it.

    actor: the acting User; a string names a non-human actor ("kyc-expiry" → "system:kyc-expiry", or
    "worker:…"/"webhook:…" with actor_type); None means the platform itself (or request.user, if a request
    is given). obj: the changed model instance (or give object_type/object_id). subject: the user (or user
    id) this entry concerns when the object is not the user itself — a client's deposit, KYC case, ... — so
    the client's full history includes it.
    """
    require_tenant()
    if not isinstance(action, str) or len(action) > 64 or not ACTION_RE.match(action):
        raise ValueError(f"Audit action {action!r} must look like 'noun.verb' (lower case, at most 64 characters).")
    if actor_type is not None and actor_type not in ActorType.values:
        raise ValueError(f"Unknown actor type {actor_type!r}; one of {', '.join(ActorType.values)}.")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
    if not object_type or len(object_type) > 64:
        raise ValueError("An audit entry needs an object_type of at most 64 characters (or an obj).")
    object_id = "" if object_id is None else _clean_text(str(object_id))
    if len(object_id) > 64:
        raise ValueError("An audit entry's object_id is at most 64 characters.")

    if actor is None and request is not None and getattr(getattr(request, "user", None), "is_authenticated", False):
        actor = request.user
    kind, actor_id, label, roles = _actor_fields(actor, actor_type)
    ip = agent = ""
    if kind == ActorType.USER:
        origin = _origin_of(request) if request is not None else _origin.get()
        if origin is not None and origin.schema_name == connection.schema_name:
            ip, agent = origin.ip, origin.user_agent
    if subject is None and object_type == USER_OBJECT_TYPE and is_id(object_id):
        subject = object_id
    subject = getattr(subject, "pk", subject)
    if subject is not None and not is_id(str(subject)):
        raise ValueError(f"An audit entry's subject is a user or a user id, not {subject!r}.")
    # An int, as it will be read back: the hash must come out the same when verified.
    subject_id = None if subject is None else int(subject)

    entry = AuditEntry(
        actor_type=kind, actor_id=actor_id, actor_label=_clean_text(label), actor_roles=roles, ip=ip,
        user_agent=agent, object_type=object_type, object_id=object_id, subject_id=subject_id, action=action,
        changes=json_safe(dict(changes or {})), reason=_clean_text(reason or ""),
    )
    table = AuditEntry._meta.db_table
    # No savepoint: if the entry can't be written, the caller's whole change must fail with it.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Serialise appends in this brokerage until commit. The head is read by a *second* statement: under
        # READ COMMITTED each statement takes a fresh snapshot, so it sees the entry the previous lock holder
        # committed. (Under REPEATABLE READ it would not: the seq primary key then refuses the duplicate,
        # so the chain still cannot fork.)
        cursor.execute("SELECT pg_advisory_xact_lock((%s::bigint << 32) | %s::regclass::oid::bigint)",
                       [LOCK_CLASS, table])
        cursor.execute(
            f"SELECT clock_timestamp(), head.seq, head.hash FROM (SELECT 1) AS one "
            f"LEFT JOIN LATERAL (SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1) AS head ON true"
        )
        entry.at, last_seq, last_hash = cursor.fetchone()
        entry.seq = (last_seq or 0) + 1
        entry.prev_hash = last_hash or GENESIS
        entry.hash = entry_hash(entry, prev_hash=entry.prev_hash)
        entry.save()
    return entry
