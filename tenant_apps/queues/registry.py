"""The registry of back-office work queues: one declarative spec per queue, one design for all of them.

A queue is data, not a view: what items it holds (a queryset of items needing attention), who may see it (a matrix
permission), when an item started waiting (its SLA clock), which filters it offers, which columns its rows show
(money columns are hidden from staff without clients.finance:view) and which SAFE bulk actions it allows (claim,
assign, release — never a decision: decisions are taken on the item's own detail page, which each row links to).

Register a queue from your app's AppConfig.ready():

    from django.urls import reverse
    from django.utils.translation import gettext_lazy as _
    from tenant_apps.queues.registry import Column, QueueSpec, register

    def ready(self):
        from tenant_apps.support.models import Ticket

        register(QueueSpec(
            code="tickets", label=_("Support tickets"), permission=("support", "view"),
            queryset=lambda: Ticket.objects.filter(status__in=["new", "open"]),
            since="created_at",                      # a field name or an expression (e.g. Coalesce(...))
            detail_url=lambda t: reverse("backoffice_ticket", args=[t.pk]),
            columns=(Column(_("Subject"), lambda t: t.subject),),
            client_path="client",                    # ORM path to the client: country filter and Sales' scope
            risk_path=None,                          # ORM path to a risk level, if the item has one
            sla_minutes=240,                         # the default; managers override it per brokerage
            select_related=("client",),
        ))

`register` is idempotent per code (the last registration of a code wins) and refuses bulk actions outside
SAFE_BULK_ACTIONS. Every page, the polled fragment, the counts and the claims work for the new queue unchanged.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Bulk actions a queue may offer: they change who holds an item, never the item itself.
SAFE_BULK_ACTIONS = ("claim", "assign", "release")
FILTERS = ("entity", "country", "risk", "age", "assignee", "sla")


@dataclass(frozen=True)
class Column:
    label: Any
    value: Callable[[Any], Any]
    money: bool = False  # an amount: only for staff with clients.finance:view


@dataclass(frozen=True)
class QueueSpec:
    code: str
    label: Any
    permission: tuple[str, str]
    queryset: Callable[[], Any]
    since: Any
    detail_url: Callable[[Any], str]
    columns: tuple[Column, ...] = ()
    sla_minutes: int | Callable[[], int] = 24 * 60
    client_path: str | None = "client"
    risk_path: str | None = None
    select_related: tuple[str, ...] = ()
    # The item's own "held by" field (KycCase.assignee, Deposit/Withdrawal.claimed_by), when it has one: a claim
    # taken on the item's page shows here as the holder, and a queue claim/assignment/release is written there too.
    holder_field: str | None = None
    tab_field: str | None = None
    tabs: tuple[tuple[str, Any], ...] = ()
    bulk_actions: tuple[str, ...] = SAFE_BULK_ACTIONS
    description: Any = ""
    order: int = 100
    filters: tuple[str, ...] = field(default=FILTERS)

    def __post_init__(self):
        unsafe = set(self.bulk_actions) - set(SAFE_BULK_ACTIONS)
        if unsafe:
            raise ValueError(f"Queue {self.code!r}: bulk actions {sorted(unsafe)} are not safe; "
                             f"only {SAFE_BULK_ACTIONS} (decisions are taken one by one on the item's page).")
        if not self.code or not self.code.replace("-", "").replace("_", "").isalnum() or len(self.code) > 40:
            raise ValueError(f"Queue code {self.code!r}: letters, digits, '-' and '_' only, at most 40.")
        unknown = set(self.filters) - set(FILTERS)
        if unknown:
            raise ValueError(f"Queue {self.code!r}: unknown filters {sorted(unknown)}.")

    @property
    def offered_filters(self) -> tuple[str, ...]:
        """The filters that make sense for this queue's items (no country without a client, no risk without one)."""
        return tuple(f for f in self.filters
                     if not (f == "country" and not self.client_path) and not (f == "risk" and not self.risk_path))

    def default_sla(self) -> int:
        return int(self.sla_minutes() if callable(self.sla_minutes) else self.sla_minutes)


_REGISTRY: dict[str, QueueSpec] = {}


def register(spec: QueueSpec) -> QueueSpec:
    """Add (or replace) a queue. Call it from AppConfig.ready()."""
    if not isinstance(spec, QueueSpec):
        raise TypeError("register() takes a QueueSpec.")
    _REGISTRY[spec.code] = spec
    return spec


def unregister(code: str) -> None:
    _REGISTRY.pop(code, None)


def get(code: str) -> QueueSpec | None:
    return _REGISTRY.get(code)


def all_queues() -> list[QueueSpec]:
    return sorted(_REGISTRY.values(), key=lambda s: (s.order, s.code))
