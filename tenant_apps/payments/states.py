"""The money workflows as data: each state's client wording, the transitions that exist and who may make them.

Services move a deposit or withdrawal only through `deposit_move` / `withdrawal_move` (services/_flow.py),
which refuse a transition not listed here; views never set a status.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

SYSTEM = "system"  # the platform itself: a PSP webhook, the status poll, routing rules


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    by: frozenset[str]  # "client", SYSTEM, or staff role codes


def _t(source: str, target: str, *by: str) -> Transition:
    return Transition(source, target, frozenset(by))


# --- deposits -----------------------------------------------------------------------------------------------
DEPOSIT_CLIENT_STATUS = {
    "initiated": _("Started: waiting for you to complete the payment page"),
    "pending_psp": _("Waiting for the payment provider's confirmation"),
    "succeeded": _("Payment confirmed by the provider"),
    "failed": _("Payment failed"),
    "under_review": _("Payment received: being checked by our team before it is credited"),
    "credited": _("Credited to your wallet"),
    "rejected": _("Not credited: see the reason below"),
    "reconciled": _("Credited to your wallet"),
}
# A bank wire deposit waits for the client's own transfer, not for a provider (pending_psp, wording of its own).
DEPOSIT_WIRE_AWAITING = _("Awaiting your bank transfer: it is credited once it reaches our bank account")
DEPOSIT_TRANSITIONS = (
    _t("initiated", "pending_psp", "client", SYSTEM),
    _t("initiated", "failed", SYSTEM),
    _t("pending_psp", "failed", SYSTEM),
    _t("failed", "failed", SYSTEM),             # declined again on the same payment page
    _t("initiated", "succeeded", SYSTEM),       # a callback that beat the client's return to our site
    _t("pending_psp", "succeeded", SYSTEM),
    _t("failed", "succeeded", SYSTEM),          # the client retried on the PSP's page with another card
    _t("succeeded", "under_review", SYSTEM),
    _t("succeeded", "credited", SYSTEM),
    _t("under_review", "credited", "finance", "compliance", "manager"),
    _t("under_review", "rejected", "finance", "compliance", "manager"),
    _t("credited", "reconciled", SYSTEM, "finance"),
)
# A success is final: nothing (a late or stale failure) moves these back.
DEPOSIT_MONEY_RECEIVED = frozenset({"succeeded", "under_review", "credited", "reconciled", "rejected"})

# --- withdrawals ----------------------------------------------------------------------------------------------
WITHDRAWAL_CLIENT_STATUS = {
    "requested": _("Requested: the amount is reserved in your wallet"),
    "under_review": _("Being reviewed by our team"),
    "approved": _("Approved: being sent"),
    "sent": _("Sent to your payment method"),
    "received": _("Paid out"),
    "rejected": _("Rejected: see the reason below; the reserved amount is available again"),
    "returned": _("Returned by the receiving bank: the amount is back in your wallet"),
    "cancelled": _("Cancelled: the reserved amount is available again"),
}
WITHDRAWAL_STAGES = ("support", "compliance", "finance")  # the review stages, in order
STAGE_ROLES = {"support": frozenset({"support", "manager"}), "compliance": frozenset({"compliance", "manager"}),
               "finance": frozenset({"finance", "manager"})}
REVIEWERS = frozenset({"support", "compliance", "finance", "manager"})
WITHDRAWAL_TRANSITIONS = (
    _t("requested", "under_review", SYSTEM),
    _t("requested", "approved", SYSTEM),                    # auto-approval by the routing rules
    _t("requested", "cancelled", "client"),
    _t("under_review", "cancelled", "client"),
    _t("under_review", "approved", "finance", "manager"),   # the last stage's approval
    _t("under_review", "rejected", *REVIEWERS),
    _t("approved", "sent", SYSTEM, "finance", "manager"),
    _t("approved", "rejected", "finance", "manager"),
    _t("sent", "received", SYSTEM, "finance"),
    _t("sent", "returned", SYSTEM, "finance"),
    _t("approved", "returned", SYSTEM),                     # refused by the PSP before it was sent
)
# What the client reads while a stage is in progress (each stage's start is a history step with its time).
STAGE_CLIENT_TEXT = {
    "support": _("Being reviewed: account check by Support"),
    "compliance": _("Being reviewed: compliance check"),
    "finance": _("Being reviewed: final approval by Finance"),
}
WITHDRAWAL_OPEN = frozenset({"requested", "under_review", "approved"})
WITHDRAWAL_HOLD_ACTIVE = frozenset({"requested", "under_review", "approved"})


def _table(transitions):
    return {(t.source, t.target): t for t in transitions}


_DEPOSIT = _table(DEPOSIT_TRANSITIONS)
_WITHDRAWAL = _table(WITHDRAWAL_TRANSITIONS)


def deposit_transition(source: str, target: str) -> Transition | None:
    return _DEPOSIT.get((source, target))


def withdrawal_transition(source: str, target: str) -> Transition | None:
    return _WITHDRAWAL.get((source, target))


def may_move(transition: Transition | None, roles: frozenset[str] | set[str]) -> bool:
    return transition is not None and bool(transition.by & set(roles))


# --- manual adjustments ----------------------------------------------------------------------------------------
ADJUSTMENT_TRANSITIONS = (
    _t("pending_approval", "applied", "manager"),
    _t("pending_approval", "rejected", "manager"),
)


# --- internal transfers with a trading account (services/trading_transfers.py) ---------------------------------
# Money leaving a trading account leaves the platform FIRST (its margin check is the real one), then the books,
# then the destination's platform credit. Money leaving a wallet leaves the books first (the wallet can't be
# spent twice), then the platform credit. A leg that keeps failing is compensated (credited back) or, when the
# compensation cannot complete either, parked in needs_attention for Finance — never left silently.
#
#   wallet → trading:   debited (ledger wallet → mirror, at request) → completed (platform deposit)
#   trading → wallet:   requested → completed (platform withdrawal, then ledger mirror → wallet)
#   trading → trading:  requested → debited (platform withdrawal + ledger mirror → mirror) → completed (deposit)
#   debited → failed:   the destination refused the credit: the books (and the source platform) are credited back
#   requested → failed: the platform refused the withdrawal (free margin, account): nothing moved
TRANSFER_CLIENT_STATUS = {
    "requested": _("Requested: taking the money from your trading account"),
    "debited": _("In progress: crediting the destination account"),
    "completed": _("Completed"),
    "failed": _("Not done: see the reason below; nothing was taken from you"),
    "needs_attention": _("Delayed: our finance team is completing it by hand"),
}
TRANSFER_TRANSITIONS = (
    _t("requested", "debited", SYSTEM),
    _t("requested", "completed", SYSTEM),
    _t("requested", "failed", SYSTEM),
    _t("debited", "completed", SYSTEM),
    _t("debited", "failed", SYSTEM),             # compensated: the money is back where it came from
    _t("debited", "needs_attention", SYSTEM),    # the compensation itself could not complete
    _t("requested", "needs_attention", SYSTEM),
    _t("needs_attention", "completed", SYSTEM, "finance", "manager"),
    _t("needs_attention", "failed", SYSTEM, "finance", "manager"),
)
TRANSFER_OPEN = frozenset({"requested", "debited"})
_TRANSFER = _table(TRANSFER_TRANSITIONS)


def transfer_transition(source: str, target: str) -> Transition | None:
    return _TRANSFER.get((source, target))
