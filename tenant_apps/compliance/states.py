"""The KYC workflow as data: states, allowed transitions and who makes them, what the client sees, and what a
client may do in each state (the capability table other capabilities ask through `client_may`)."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


class KycState:
    NOT_STARTED = "not_started"
    PENDING_REVIEW = "pending_review"
    RESUBMISSION_NEEDED = "resubmission_needed"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHOICES = [
        (NOT_STARTED, "Not started"),
        (PENDING_REVIEW, "Pending review"),
        (RESUBMISSION_NEEDED, "Resubmission needed"),
        (APPROVED, "Approved"),
        (REJECTED, "Rejected"),
    ]


@dataclass(frozen=True)
class Transition:
    source: frozenset[str]
    target: str
    # Who may make it: "client" (by submitting), "system" (rules, workers) or a matrix permission "cap:action".
    by: frozenset[str]
    needs_reason: bool = False


S = KycState
TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(frozenset({S.NOT_STARTED, S.RESUBMISSION_NEEDED}), S.PENDING_REVIEW, frozenset({"client"})),
    "approve": Transition(frozenset({S.PENDING_REVIEW}), S.APPROVED, frozenset({"system", "kyc:decide"})),
    "request_resubmission": Transition(frozenset({S.PENDING_REVIEW, S.APPROVED}), S.RESUBMISSION_NEEDED,
                                       frozenset({"system", "kyc:decide"}), needs_reason=True),
    "reject": Transition(frozenset({S.PENDING_REVIEW}), S.REJECTED, frozenset({"kyc:decide"}), needs_reason=True),
    # A document expiring, or a periodic refresh, sends an approved client back to resubmission.
    "expire": Transition(frozenset({S.APPROVED}), S.RESUBMISSION_NEEDED, frozenset({"system"}), needs_reason=True),
}

# What the client is told in each state (the reason and next step are added per case).
CLIENT_STATUS = {
    S.NOT_STARTED: _("Verify your identity to open a live account."),
    S.PENDING_REVIEW: _("Your documents are under review."),
    S.RESUBMISSION_NEEDED: _("We need something more from you."),
    S.APPROVED: _("Your account is verified."),
    S.REJECTED: _("We could not verify your identity."),
}

# Client actions each KYC state allows. Jurisdictions can only tighten this (see client_may()).
ACTIONS = ("open_demo_account", "open_live_account", "deposit", "withdraw", "transfer", "trade")
CAPABILITIES: dict[str, frozenset[str]] = {
    S.NOT_STARTED: frozenset({"open_demo_account", "deposit"}),
    S.PENDING_REVIEW: frozenset({"open_demo_account", "deposit"}),
    S.RESUBMISSION_NEEDED: frozenset({"open_demo_account", "deposit", "trade"}),
    S.APPROVED: frozenset(ACTIONS),
    S.REJECTED: frozenset({"open_demo_account", "withdraw"}),  # a rejected client may take back their money
}
# The refusal text a client sees when an action is not allowed in a state.
REFUSALS = {
    "open_live_account": _("A live account needs a verified identity. Complete verification first."),
    "withdraw": _("Withdrawals need a verified identity. Complete verification first."),
    "deposit": _("Deposits are not possible in your account's current state."),
    "transfer": _("Transfers need a verified identity."),
    "trade": _("Trading needs a verified identity."),
    "open_demo_account": _("Demo accounts are not available."),
}
