"""What a client reads for a money status, in their language: `{{ d.status|deposit_status }}` (payments/states.py
holds the wording; a stored history line written in English is shown through the catalogue, `client_text`)."""
from django import template
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tenant_apps.payments import states

register = template.Library()


@register.filter
def deposit_status(status):
    return states.DEPOSIT_CLIENT_STATUS.get(status, status)


@register.filter
def withdrawal_status(status):
    return states.WITHDRAWAL_CLIENT_STATUS.get(status, status)


@register.filter
def transfer_status(status):
    return states.TRANSFER_CLIENT_STATUS.get(status, status)


@register.filter
def client_text(text):
    """A history line stored when it happened (in English, the catalogue's source): in the reader's language when
    the catalogue knows it (the workflow's standard wording), else as written."""
    return gettext(text) if text else ""


# The wallet statement's entry kinds (ledger JournalEntry.kind) as the client reads them.
ENTRY_KINDS = {
    "deposit.credited": _("Deposit"), "withdrawal.sent": _("Withdrawal"),
    "withdrawal.returned": _("Withdrawal returned"), "transfer.to_trading": _("Transfer to a trading account"),
    "transfer.from_trading": _("Transfer from a trading account"), "transfer.internal": _("Transfer"),
    "transfer.refund": _("Transfer refunded"), "adjustment.manual": _("Adjustment"),
    "commissions.approved": _("IB commission"), "commissions.paid": _("IB commission payout"), "fee.charged": _("Fee"),
}


@register.filter
def entry_kind(kind):
    return ENTRY_KINDS.get(kind, kind)
