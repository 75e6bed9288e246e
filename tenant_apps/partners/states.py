"""The partners workflows as data: IB applications and reassignment requests — which transitions exist and which
permission each needs. Services move a status only through `transition_check`; views never set a status."""
from __future__ import annotations

from dataclasses import dataclass

from tenant_apps.partners.errors import InvalidState


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    permission: tuple[str, str] | None  # None: the requester themself (cancel) or the system


PARTNER_TRANSITIONS = (
    Transition("applied", "active", ("partners", "approve")),
    Transition("applied", "rejected", ("partners", "approve")),
    Transition("active", "suspended", ("partners", "manage")),
    Transition("suspended", "active", ("partners", "manage")),
)
REQUEST_TRANSITIONS = (
    Transition("pending", "approved", ("partners", "reassign_approve")),
    Transition("pending", "rejected", ("partners", "reassign_approve")),
    Transition("pending", "cancelled", None),
)
# What an IB applicant sees in the Trader's Room.
PARTNER_CLIENT_STATUS = {
    "applied": "Your application is being reviewed by our team.",
    "active": "You are an introducing broker: share your link to refer clients.",
    "suspended": "Your IB account is suspended; contact support.",
    "rejected": "Your application was not accepted.",
}


def transition_check(table: tuple[Transition, ...], source: str, target: str) -> Transition:
    for t in table:
        if t.source == source and t.target == target:
            return t
    raise InvalidState(f"Cannot move from {source.replace('_', ' ')} to {target.replace('_', ' ')}.")
