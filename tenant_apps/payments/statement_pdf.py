"""The client's wallet statement as a branded PDF: one currency, a period, opening and closing balance from the
ledger's running balances, every line in order, and totals (credits, debits, net) that tie back to them."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.context import require_tenant


def client_statement_document(*, client, currency: str, date_from: date | None = None, date_to: date | None = None,
                              limit: int = 5000) -> dict:
    """What the statement says, read from the client's wallet lines in the ledger (oldest first): opening balance
    (the balance after the last line before the period), each line, closing balance, credits, debits, net."""
    from tenant_apps.ledger.models import AccountKind, JournalLine, LedgerAccount, OwnerType

    require_tenant()
    wallets = LedgerAccount.objects.filter(kind=AccountKind.CLIENT_WALLET, owner_type=OwnerType.CLIENT,
                                           owner_id=str(client.pk))
    # No currency chosen: the client's first wallet (a statement is always in one currency).
    account = wallets.filter(currency=currency.upper()).first() if currency else wallets.order_by("pk").first()
    currency = account.currency if account is not None else (currency.upper() or "USD")
    places = account.decimal_places if account is not None else 2
    step = Decimal(1).scaleb(-places)
    zero = Decimal(0).quantize(step)
    if account is None:
        return {"currency": currency, "opening": zero, "closing": zero, "credits": zero, "debits": zero,
                "net": zero, "rows": [], "date_from": date_from, "date_to": date_to, "truncated": False}
    lines = JournalLine.objects.filter(account=account).select_related("entry")
    before = lines.filter(entry__created_at__date__lt=date_from) if date_from else lines.none()
    last_before = before.order_by("-account_seq").values_list("balance_after", flat=True).first()
    opening = (last_before if last_before is not None else Decimal(0)).quantize(step)
    period = lines
    if date_from:
        period = period.filter(entry__created_at__date__gte=date_from)
    if date_to:
        period = period.filter(entry__created_at__date__lte=date_to)
    chosen = list(period.order_by("account_seq")[:limit + 1])
    truncated = len(chosen) > limit
    chosen = chosen[:limit]
    rows = [{"at": timezone.localtime(line.entry.created_at).strftime("%Y-%m-%d %H:%M"), "kind": line.entry.kind,
             "description": line.entry.description, "amount": line.amount.quantize(step),
             "balance_after": line.balance_after.quantize(step)} for line in chosen]
    credits = sum((r["amount"] for r in rows if r["amount"] > 0), zero)
    debits = sum((r["amount"] for r in rows if r["amount"] < 0), zero)
    closing = rows[-1]["balance_after"] if rows else opening
    return {"currency": currency, "opening": opening, "closing": closing, "credits": credits, "debits": debits,
            "net": credits + debits, "rows": rows, "date_from": date_from, "date_to": date_to, "truncated": truncated}


def client_statement_pdf(*, client, currency: str, date_from: date | None = None, date_to: date | None = None) -> bytes:
    from platform_core.pdf import brand_current, render_table_pdf

    doc = client_statement_document(client=client, currency=currency, date_from=date_from, date_to=date_to)
    period = (f"{doc['date_from'].isoformat() if doc['date_from'] else _('first transaction')} – "
              f"{doc['date_to'].isoformat() if doc['date_to'] else timezone.localdate().isoformat()}")
    subtitle = [
        _("Client: %(name)s (%(email)s)") % {"name": client.full_name or client.email, "email": client.email},
        _("Period: %(period)s") % {"period": period},
        _("Currency: %(currency)s") % {"currency": doc["currency"]},
        _("Opening balance: %(amount)s %(currency)s") % {"amount": doc["opening"], "currency": doc["currency"]},
        _("Closing balance: %(amount)s %(currency)s") % {"amount": doc["closing"], "currency": doc["currency"]},
        _("Credits: %(credits)s · Debits: %(debits)s · Net: %(net)s") % {
            "credits": doc["credits"], "debits": doc["debits"], "net": doc["net"]},
        _("Generated: %(at)s") % {"at": timezone.localtime().strftime("%Y-%m-%d %H:%M %Z")},
    ]
    if doc["truncated"]:
        subtitle.append(_("Only the first %(n)s lines are shown: choose a shorter period.") % {"n": len(doc["rows"])})
    columns = [("at", _("Date")), ("kind", _("Type")), ("description", _("Description")), ("amount", _("Amount")),
               ("balance_after", _("Balance"))]
    totals = {"description": _("Net movement"), "amount": doc["net"], "balance_after": doc["closing"]}
    return render_table_pdf(title=_("Wallet statement"), subtitle_lines=subtitle, columns=columns, rows=doc["rows"],
                            totals=totals, brand=brand_current())
