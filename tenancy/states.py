"""Brokerage lifecycle: which status changes exist and what each means for portals and workers."""
from dataclasses import dataclass

from tenancy.models import BrokerageStatus as S


@dataclass(frozen=True)
class Transition:
    action: str
    source: frozenset[str]
    target: str
    label: str
    needs_reason: bool


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        Transition("activate", frozenset({S.PROVISIONING}), S.ACTIVE, "Activate", needs_reason=False),
        Transition("suspend", frozenset({S.ACTIVE}), S.SUSPENDED, "Suspend", needs_reason=True),
        Transition("resume", frozenset({S.SUSPENDED}), S.ACTIVE, "Resume", needs_reason=False),
        # Archive is terminal: the schema stays (export/restore it under a new slug), the portal is gone.
        Transition("archive", frozenset({S.ACTIVE, S.SUSPENDED}), S.ARCHIVED, "Archive", needs_reason=True),
    ]
}

# What a visitor of the brokerage's portal gets in each status.
PORTAL_BEHAVIOUR = {
    S.PROVISIONING: ("maintenance", 503),
    S.ACTIVE: ("serve", 200),
    S.SUSPENDED: ("maintenance", 503),
    S.ARCHIVED: ("gone", 410),
}


def allowed_actions(status: str) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if status in t.source]
