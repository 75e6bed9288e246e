"""Reading the audit trail: an object's timeline, one person's history, the filtered list. One query each
(entries have no foreign keys to follow), served by the indexes on the table."""
from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Q, QuerySet
from django_tenants.utils import schema_context

from tenancy.context import current_schema, require_tenant
from tenant_apps.audit.models import AuditEntry
from tenant_apps.audit.services import USER_OBJECT_TYPE, is_id


def audit_timeline(object_type: str, object_id) -> QuerySet[AuditEntry]:
    """Everything recorded about one object, newest first."""
    require_tenant()
    return AuditEntry.objects.filter(object_type=object_type, object_id=str(object_id)).order_by("-seq")


def audit_for_user(user_id: int) -> QuerySet[AuditEntry]:
    """One person's full history, oldest first: what they did, what was done to their user record, and
    what was recorded about things of theirs (entries whose subject they are)."""
    require_tenant()
    user_id = int(user_id)
    return AuditEntry.objects.filter(
        Q(actor_id=user_id) | Q(subject_id=user_id) | Q(object_type=USER_OBJECT_TYPE, object_id=str(user_id))
    ).order_by("seq")


def audit_entries(*, object_type: str = "", action: str = "", actor: str = "",
                  before_seq: int | None = None) -> QuerySet[AuditEntry]:
    """The back office's list, newest first. `action` matches a prefix ("theme." → every theme action);
    `actor` is a user id or part of the actor's label (e-mail or system name)."""
    require_tenant()
    entries = AuditEntry.objects.order_by("-seq")
    if object_type:
        entries = entries.filter(object_type=object_type)
    if action:
        entries = entries.filter(action__startswith=action)
    if actor:
        entries = entries.filter(actor_id=int(actor)) if is_id(actor) else entries.filter(actor_label__icontains=actor)
    if before_seq is not None:
        entries = entries.filter(seq__lt=before_seq)
    return entries


def audit_page(entries: QuerySet[AuditEntry], *, size: int = 50) -> tuple[list[AuditEntry], int | None]:
    """One page by keyset (seq < the last one shown), never a COUNT over the whole trail: returns the page
    and the seq to continue before, or None at the oldest entry."""
    rows = list(entries[: size + 1])
    if len(rows) > size:
        return rows[:size], rows[size - 1].seq
    return rows, None


def audit_stream(entries: QuerySet[AuditEntry], *, chunk_size: int = 1000) -> Iterator[AuditEntry]:
    """Iterate a (seq-ordered, ascending) queryset in keyset chunks, each read in the brokerage it was
    made in — so a streaming response can be consumed after the view returned, whatever the connection
    has been pointed at in between."""
    require_tenant()
    schema = current_schema()  # now, not when the consumer first asks (a generator body runs late)

    def chunks() -> Iterator[AuditEntry]:
        last = 0
        while True:
            with schema_context(schema):
                chunk = list(entries.filter(seq__gt=last).order_by("seq")[:chunk_size])
            yield from chunk
            if len(chunk) < chunk_size:
                return
            last = chunk[-1].seq

    return chunks()
