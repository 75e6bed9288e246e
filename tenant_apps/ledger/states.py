"""The hold's states: which transitions exist and what a client sees. Migration 0002's hold guard refuses
every other transition in the database too (a closed hold never changes)."""
from __future__ import annotations

from tenant_apps.ledger.models import HoldStatus

HOLD_TRANSITIONS: dict[str, frozenset[str]] = {
    HoldStatus.ACTIVE: frozenset({HoldStatus.RELEASED, HoldStatus.CAPTURED}),
    HoldStatus.RELEASED: frozenset(),
    HoldStatus.CAPTURED: frozenset(),
}

# What the Trader's Room says about money in each state.
HOLD_CLIENT_LABELS: dict[str, str] = {
    HoldStatus.ACTIVE: "Reserved for a pending request",
    HoldStatus.RELEASED: "Returned to your available balance",
    HoldStatus.CAPTURED: "Paid out",
}


def hold_can_move(current: str, new: str) -> bool:
    return new in HOLD_TRANSITIONS.get(current, frozenset())
