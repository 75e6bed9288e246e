"""What each kind of notification says (translatable, with %(name)s placeholders), its category and rank, and the
defaults of each category's channels. Money and security messages are always shown in the portal."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from tenant_apps.notifications.models import Category, Channel, Importance


@dataclass(frozen=True)
class Kind:
    category: str
    importance: int
    title: object  # a lazy translation with %(placeholders)s
    body: object


def _k(category: str, importance: int, title, body) -> Kind:
    return Kind(category, importance, title, body)


_EVENT, _ACTION = Importance.ACCOUNT_EVENT, Importance.ACTION_REQUIRED
KINDS: dict[str, Kind] = {
    # --- deposits ------------------------------------------------------------------------------------------
    "deposit.pending": _k(Category.MONEY, _EVENT, _("Deposit %(reference)s: waiting for the payment provider"),
                          _("We are waiting for the payment provider to confirm your payment of %(amount)s "
                            "%(currency)s. You do not need to do anything.")),
    "deposit.awaiting_transfer": _k(Category.MONEY, _ACTION, _("Deposit %(reference)s: awaiting your bank transfer"),
                                    _("Send %(amount)s %(currency)s from your bank with the reference %(reference)s; "
                                      "it is credited once it reaches our bank account.")),
    "deposit.credited": _k(Category.MONEY, _EVENT, _("%(credited)s %(currency)s credited to your wallet"),
                           _("Deposit %(reference)s of %(amount)s %(currency)s is in your wallet "
                             "(%(credited)s %(currency)s after fees).")),
    "deposit.failed": _k(Category.MONEY, _ACTION, _("Deposit %(reference)s failed"),
                         _("%(reason)s Next step: %(next_step)s")),
    "deposit.under_review": _k(Category.MONEY, _EVENT, _("Deposit %(reference)s is being checked"),
                               _("We received your payment of %(amount)s %(currency)s. Our team checks it before "
                                 "it is credited to your wallet; you will be notified when it is done.")),
    "deposit.rejected": _k(Category.MONEY, _ACTION, _("Deposit %(reference)s was not credited"),
                           _("Reason: %(reason)s. Contact support to arrange the return of your payment.")),
    # --- withdrawals ---------------------------------------------------------------------------------------
    "withdrawal.requested": _k(Category.MONEY, _EVENT, _("Withdrawal %(reference)s requested"),
                               _("%(amount)s %(currency)s is reserved in your wallet until the withdrawal is paid "
                                 "out or cancelled. Expected time once sent: %(eta)s.")),
    "withdrawal.under_review": _k(Category.MONEY, _EVENT, _("Withdrawal %(reference)s is being reviewed"),
                                  _("Our team reviews your withdrawal of %(amount)s %(currency)s. The amount stays "
                                    "reserved in your wallet meanwhile.")),
    "withdrawal.approved": _k(Category.MONEY, _EVENT, _("Withdrawal %(reference)s approved"),
                              _("Your withdrawal of %(amount)s %(currency)s is approved and is being sent to "
                                "%(method)s.")),
    "withdrawal.sent": _k(Category.MONEY, _EVENT, _("Withdrawal %(reference)s sent"),
                          _("%(amount)s %(currency)s was sent to %(method)s. Processing time: %(eta)s — expected "
                            "by %(expected_date)s.")),
    "withdrawal.received": _k(Category.MONEY, _EVENT, _("Withdrawal %(reference)s paid out"),
                              _("%(amount)s %(currency)s has been paid out to %(method)s.")),
    "withdrawal.rejected": _k(Category.MONEY, _ACTION, _("Withdrawal %(reference)s rejected"),
                              _("Reason: %(reason)s. The reserved %(amount)s %(currency)s is available in your "
                                "wallet again.")),
    "withdrawal.returned": _k(Category.MONEY, _ACTION, _("Withdrawal %(reference)s returned"),
                              _("%(reason)s %(amount)s %(currency)s is available in your wallet. Check your payment "
                                "details, then request the withdrawal again.")),
    "withdrawal.cancelled": _k(Category.MONEY, _EVENT, _("Withdrawal %(reference)s cancelled"),
                               _("The reserved %(amount)s %(currency)s is available in your wallet again.")),
    # --- other capabilities (KYC, support, news) ---------------------------------------------------------------
    "kyc.approved": _k(Category.ACCOUNT, _EVENT, _("Your account is verified"),
                       _("You can now deposit and trade.")),
    "kyc.action_required": _k(Category.ACCOUNT, _ACTION, _("Verification: action needed"), _("%(reason)s")),
    # support tickets (tenant_apps/support/services.py): the client hears of replies and status changes, staff of
    # client replies on tickets assigned to them and of new assignments
    "support.reply": _k(Category.SUPPORT, _ACTION, _("New reply on your ticket %(number)s"),
                        _("We answered your request “%(subject)s”. Open the ticket to read the reply.")),
    "support.status": _k(Category.SUPPORT, _EVENT, _("Ticket %(number)s: %(status)s"),
                         _("Your request “%(subject)s” is now: %(status)s.")),
    "support.client_reply": _k(Category.SUPPORT, _ACTION, _("Client replied on %(number)s"),
                               _("The client answered on “%(subject)s”.")),
    "support.assigned": _k(Category.SUPPORT, _ACTION, _("Ticket %(number)s assigned to you"),
                           _("“%(subject)s” is now yours to answer.")),
    "message": _k(Category.ACCOUNT, _EVENT, _("%(title)s"), _("%(body)s")),
    "promotion": _k(Category.PROMOTIONS, Importance.PROMOTION, _("%(title)s"), _("%(body)s")),
    # --- automation rules (tenant_apps/automation): service messages about the client's own account -----------
    "automation.fund_account": _k(Category.ACCOUNT, _ACTION, _("Your account is ready for a first deposit"),
                                  _("Your verification is complete. Make your first deposit to start trading; "
                                    "your account manager is happy to help.")),
    "automation.reactivation": _k(Category.ACCOUNT, _EVENT, _("Your trading account is waiting for you"),
                                  _("We have not seen a deposit from you for a while. Your account is open and "
                                    "ready whenever you want to trade again.")),
    "automation.we_miss_you": _k(Category.ACCOUNT, _EVENT, _("We miss you"),
                                 _("Your account is still open. Contact us if there is anything we can do "
                                   "better.")),
    # --- staff (crm) ---------------------------------------------------------------------------------------------
    "crm.task_reminder": _k(Category.ACCOUNT, _ACTION, _("Reminder: %(title)s"),
                            _("Task for %(client)s, due %(due_at)s.")),
}

# (category, channel) → enabled when the user made no choice.
CATEGORY_DEFAULTS: dict[tuple[str, str], bool] = {
    **{(c, Channel.IN_APP): True for c in Category.values},
    **{(c, Channel.EMAIL): True for c in Category.values},
    (Category.PROMOTIONS, Channel.EMAIL): False,  # marketing e-mail is opt-in
}
# These stay in the portal whatever the preference says: the client must be able to see what happened to money.
ALWAYS_IN_APP = frozenset({Category.MONEY, Category.SECURITY})
