"""The ticket workflow as data: statuses, who may move a ticket from one to another, what the client sees, and
the SLA of a first answer per severity. Services ask `transition_allowed`; views never set a status."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext_lazy as _

NEW, OPEN, WAITING, RESOLVED, CLOSED = "new", "open", "waiting_on_client", "resolved", "closed"
STATUS_CHOICES = [
    (NEW, _("New")),
    (OPEN, _("Open")),
    (WAITING, _("Waiting on client")),
    (RESOLVED, _("Resolved")),
    (CLOSED, _("Closed")),
]
STATUS_LABELS = dict(STATUS_CHOICES)
# What the client reads in the Trader's Room (staff wording like "waiting on client" says it from our side).
CLIENT_STATUS = {
    NEW: _("Received"),
    OPEN: _("We are working on it"),
    WAITING: _("Waiting for your reply"),
    RESOLVED: _("Resolved"),
    CLOSED: _("Closed"),
}
ACTIVE = frozenset({NEW, OPEN, WAITING})

STAFF, CLIENT, SYSTEM = "staff", "client", "system"
# (from, to) → the kinds of actor that may make the move. Anything missing is refused.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (NEW, OPEN): frozenset({STAFF, SYSTEM}),
    (NEW, WAITING): frozenset({STAFF}),
    (NEW, RESOLVED): frozenset({STAFF}),
    (NEW, CLOSED): frozenset({STAFF, CLIENT}),
    (OPEN, WAITING): frozenset({STAFF}),
    (OPEN, RESOLVED): frozenset({STAFF}),
    (OPEN, CLOSED): frozenset({STAFF, CLIENT}),
    (WAITING, OPEN): frozenset({STAFF, CLIENT, SYSTEM}),  # the client answered
    (WAITING, RESOLVED): frozenset({STAFF}),
    (WAITING, CLOSED): frozenset({STAFF, CLIENT, SYSTEM}),
    (RESOLVED, OPEN): frozenset({STAFF, CLIENT}),  # reopened (a client only within REOPEN_DAYS)
    (RESOLVED, CLOSED): frozenset({STAFF, CLIENT, SYSTEM}),
    (CLOSED, OPEN): frozenset({STAFF, CLIENT}),  # reopened (a client only within REOPEN_DAYS)
}
REOPENING = frozenset({(RESOLVED, OPEN), (CLOSED, OPEN)})


def targets(status: str, actor: str) -> list[str]:
    """The statuses `actor` may move a ticket in `status` to, in workflow order."""
    return [to for to, _label in STATUS_CHOICES if actor in TRANSITIONS.get((status, to), ())]


def transition_allowed(status: str, to: str, actor: str) -> bool:
    return actor in TRANSITIONS.get((status, to), ())


def reopen_days() -> int:
    """How long after resolution/closure a client's reply reopens the ticket (after that: a new ticket)."""
    return int(getattr(settings, "SUPPORT_REOPEN_DAYS", 14))


LOW, NORMAL, HIGH, URGENT = "low", "normal", "high", "urgent"
SEVERITY_CHOICES = [(LOW, _("Low")), (NORMAL, _("Normal")), (HIGH, _("High")), (URGENT, _("Urgent"))]
# Time to a first answer from staff (business rule of the support desk; the queue highlights a breach).
FIRST_RESPONSE_SLA = {LOW: timedelta(hours=48), NORMAL: timedelta(hours=24), HIGH: timedelta(hours=8),
                      URGENT: timedelta(hours=2)}

CATEGORY_CHOICES = [
    ("account", _("My account")),
    ("verification", _("Verification (KYC)")),
    ("deposit", _("Deposits")),
    ("withdrawal", _("Withdrawals")),
    ("trading", _("Trading and platforms")),
    ("partners", _("Referrals and partners")),
    ("technical", _("Technical problem")),
    ("other", _("Something else")),
]
CATEGORY_LABELS = dict(CATEGORY_CHOICES)
