"""Back-office reads across capabilities: the Client 360 record and the global search, each block filtered by
the permission matrix and each read bounded (a fixed number of queries, a capped number of rows)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.apps import apps
from django.db.models import CharField, Q, Value
from django.utils import timezone

from tenancy.context import require_tenant
from tenant_apps.crm.selectors import client_for, client_sections, clients_visible_to
from tenant_apps.crm.selectors import client_notes as crm_client_notes
from tenant_apps.crm.selectors import client_tasks as crm_client_tasks
from tenant_apps.identity.permissions import has_perm

# Which matrix permissions open each Client 360 block (ANY of them). Nothing here names a role: who sees a block
# is whatever the matrix grants today, custom roles included.
BLOCK_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "profile": (("clients", "view"),),
    "kyc": (("kyc", "view"),),
    "documents": (("kyc.documents", "view"),),
    "trading": (("trading", "view"),),
    "finance": (("clients.finance", "view"),),
    "transactions": (("payments", "view"), ("clients.finance", "view")),
    "ib_history": (("partners", "view"),),
    "messages": (("clients.messages", "view"),),
    "audit": (("audit", "view"),),
    "tasks": (("clients", "view"),),   # crm tasks on the client (adding one needs clients:edit)
    "notes": (("clients", "view"),),   # crm notes and call/e-mail log (adding one needs clients:edit)
    "tickets": (("support", "view"),),  # the client's support tickets (support)
}
# Blocks whose capability app may be absent from a deployment.
BLOCK_APPS = {"ib_history": "tenant_apps.partners", "messages": "tenant_apps.notifications",
              "tickets": "tenant_apps.support"}

ROWS = 20            # rows per block (the page links to the full list of its capability)
SEARCH_LIMIT = 10    # results per kind in the global search
SEARCH_MIN, SEARCH_MAX = 2, 100


def visible_blocks(viewer) -> tuple[str, ...]:
    """The Client 360 blocks this viewer receives, in page order."""
    return tuple(name for name, rules in BLOCK_RULES.items()
                 if (name not in BLOCK_APPS or apps.is_installed(BLOCK_APPS[name]))
                 and any(has_perm(viewer, *rule) for rule in rules))


def client_360(viewer, client_id: int) -> dict | None:
    """One client's record as this viewer may see it, or None when the client is outside the viewer's scope
    (callers answer 404). Money figures (`amounts`) travel only with clients.finance:view."""
    require_tenant()
    client = client_for(viewer, client_id)
    if client is None:
        return None
    shown = visible_blocks(viewer)
    amounts = has_perm(viewer, "clients.finance", "view")
    readers = {
        "kyc": lambda: _kyc(client, risk=has_perm(viewer, "kyc.screening", "view")),
        "documents": lambda: _documents(client),
        "trading": lambda: _trading(client, amounts=amounts),
        "finance": lambda: _finance(client),
        "transactions": lambda: _transactions(client, amounts=amounts),
        "ib_history": lambda: _ib_history(client),
        "messages": lambda: _messages(client, titles_with_money=amounts),
        "audit": lambda: _audit(client),
        "tasks": lambda: {"rows": crm_client_tasks(client), "now": timezone.now()},
        "notes": lambda: {"rows": crm_client_notes(client)},
        "tickets": lambda: _tickets(viewer, client),
    }
    blocks = {name: readers[name]() for name in shown if name in readers}
    return {"client": client, "record": getattr(client, "client_record", None), "shown": shown,
            "sections": client_sections(viewer), "amounts": amounts, "blocks": blocks}


def _tickets(viewer, client) -> dict:
    from tenant_apps.support.selectors import tickets_visible_to

    return {"rows": list(tickets_visible_to(viewer).filter(client_id=client.pk).select_related("assignee")
                         .order_by("-updated_at", "-id")[:ROWS])}


def _kyc(client, *, risk: bool) -> dict:
    from tenant_apps.compliance.models import KycCase

    case = KycCase.objects.filter(client_id=client.pk).select_related("decided_by", "assignee").first()
    return {"case": case, "show_risk": risk}


def _documents(client) -> dict:
    from tenant_apps.compliance.models import KycDocument

    return {"rows": list(KycDocument.objects.filter(client_id=client.pk).order_by("-uploaded_at", "-id")[:ROWS])}


def _trading(client, *, amounts: bool) -> dict:
    from tenant_apps.trading.models import TradingAccount

    accounts = list(TradingAccount.objects.filter(client_id=client.pk)
                    .select_related("account_type", "snapshot").order_by("-id")[:ROWS])
    rows = []
    for account in accounts:
        snapshot = getattr(account, "snapshot", None)
        row = {"account": account, "synced_at": snapshot.synced_at if snapshot else None}
        if amounts and snapshot is not None:
            row["money"] = {"balance": snapshot.balance, "equity": snapshot.equity, "credit": snapshot.credit,
                            "margin_level": snapshot.margin_level}
        rows.append(row)
    return {"rows": rows}


def _finance(client) -> dict:
    from tenant_apps.crm.selectors import client_finance

    return {"rows": client_finance(client)}


@dataclass
class MoneyRow:
    """One line of the client's recent money movements, whatever its kind."""

    kind: str
    reference: str
    status: str
    at: datetime
    detail: str = ""
    amount: Decimal | None = None
    currency: str = ""


def _transactions(client, *, amounts: bool) -> dict:
    """The newest deposits, withdrawals, transfers and adjustments (one query each, ROWS at most per kind),
    merged newest first. Statuses and reasons for every reader; amounts only when `amounts`."""
    from tenant_apps.payments.models import Adjustment, Deposit, Transfer, Withdrawal

    rows: list[MoneyRow] = []
    for d in Deposit.objects.filter(client_id=client.pk).order_by("-created_at", "-pk")[:ROWS]:
        # review reasons may quote amounts ("the provider confirmed 100 USD, not 90 USD"): figures-readers only
        reasons = ", ".join(map(str, d.review_reasons or [])) if amounts else ""
        rows.append(MoneyRow("deposit", d.reference, d.status, d.created_at, d.failure_message or reasons, d.amount,
                             d.currency))
    for w in Withdrawal.objects.filter(client_id=client.pk).order_by("-created_at", "-pk")[:ROWS]:
        rows.append(MoneyRow("withdrawal", w.reference, w.status, w.created_at,
                             w.client_reason or (f"review stage: {w.stage}" if w.stage else ""), w.amount, w.currency))
    for t in Transfer.objects.filter(client_id=client.pk).order_by("-created_at", "-pk")[:ROWS]:
        rows.append(MoneyRow("transfer", t.reference, t.status, t.created_at, t.failure_reason, t.amount, t.currency))
    for a in Adjustment.objects.filter(client_id=client.pk).order_by("-created_at", "-pk")[:ROWS]:
        rows.append(MoneyRow("adjustment", f"ADJ-{a.pk}", a.status, a.created_at, a.get_category_display(),
                             a.amount, a.currency))
    rows.sort(key=lambda r: r.at, reverse=True)
    rows = rows[:ROWS]
    if not amounts:
        for row in rows:
            row.amount, row.currency = None, ""
    return {"rows": rows}


def _ib_history(client) -> dict:
    from tenant_apps.partners.models import ClientAssignment

    return {"rows": list(ClientAssignment.objects.filter(client_id=client.pk)
                         .select_related("partner__user").order_by("-valid_from")[:ROWS])}


def _messages(client, *, titles_with_money: bool) -> dict:
    """What the brokerage told the client. Money notifications carry amounts in their titles: those titles
    travel only with clients.finance:view (others read the kind)."""
    from tenant_apps.notifications.models import Category, Notification

    rows = []
    for n in Notification.objects.filter(recipient_id=client.pk).order_by("-created_at", "-pk")[:ROWS]:
        title = n.title if titles_with_money or n.category != Category.MONEY else n.kind
        rows.append({"title": title, "kind": n.kind, "category": n.get_category_display(), "at": n.created_at,
                     "read_at": n.read_at, "email_wanted": n.email_wanted, "email_sent_at": n.email_sent_at})
    return {"rows": rows}


def _audit(client) -> dict:
    """The newest audit entries whose subject is the client (their user record, KYC, money, accounts)."""
    from tenant_apps.audit.models import AuditEntry

    return {"rows": list(AuditEntry.objects.filter(subject_id=client.pk)
                         .only("seq", "at", "actor_label", "object_type", "object_id", "action", "reason")
                         .order_by("-seq")[:ROWS])}


# --- global search -------------------------------------------------------------------------------------------

def _phone_forms(query: str) -> tuple[str | None, str | None]:
    """(E.164 when the query parses as an international number, its digits when it looks like a phone)."""
    import phonenumbers

    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) < 6 or any(ch.isalpha() for ch in query):
        return None, None
    e164 = None
    if query.lstrip().startswith(("+", "00")):
        try:
            parsed = phonenumbers.parse("+" + query.lstrip()[2:] if query.lstrip().startswith("00") else query, None)
            if phonenumbers.is_possible_number(parsed):
                e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            e164 = None
    return e164, digits


def search(viewer, raw_query: str) -> dict:
    """Clients (name, e-mail, phone), trading accounts (login), deposits/withdrawals (reference) and support
    tickets (number, e.g. T-000123) matching the query, among the clients the viewer may see; at most
    SEARCH_LIMIT per kind, one query per kind."""
    require_tenant()
    # control characters (a NUL above all, which PostgreSQL refuses in a literal) are never part of a name
    query = " ".join("".join(ch for ch in (raw_query or "") if ch.isprintable() or ch.isspace()).split())
    result = {"query": query, "error": "", "clients": [], "accounts": [], "payments": [], "tickets": [],
              "limit": SEARCH_LIMIT, "searched": False}
    if not query:
        return result
    if len(query) < SEARCH_MIN:
        result["error"] = f"Type at least {SEARCH_MIN} characters to search."
        return result
    if len(query) > SEARCH_MAX:
        result["error"] = f"A search is at most {SEARCH_MAX} characters; shorten it."
        result["query"] = query[:SEARCH_MAX]
        return result
    result["searched"] = True
    visible = clients_visible_to(viewer)
    result["clients"] = _search_clients(viewer, visible, query)
    if has_perm(viewer, "trading", "view") and query.isdigit() and len(query) <= 18:
        from tenant_apps.trading.models import TradingAccount

        result["accounts"] = list(TradingAccount.objects.filter(login=int(query), client__in=visible.values("pk"))
                                  .select_related("client").order_by("-id")[:SEARCH_LIMIT])
    if has_perm(viewer, "payments", "view") and " " not in query:
        result["payments"] = _search_payments(visible, query)
    if apps.is_installed("tenant_apps.support") and has_perm(viewer, "support", "view"):
        result["tickets"] = _search_tickets(viewer, query)
    return result


def _search_tickets(viewer, query: str) -> list:
    """A ticket by the number people quote ("T-000123", "t123"): only tickets the viewer may read."""
    import re

    from tenant_apps.support.selectors import tickets_visible_to

    match = re.fullmatch(r"[Tt]-?(\d{1,12})", query)
    if match is None:
        return []
    return list(tickets_visible_to(viewer).filter(pk=int(match.group(1))).select_related("client")[:1])


def _search_clients(viewer, visible, query: str) -> list:
    match = Q(full_name__icontains=query)
    if has_perm(viewer, "clients.contact", "view"):
        match |= Q(email__icontains=query)
        e164, digits = _phone_forms(query)
        if e164:
            match |= Q(client_record__phone=e164)
        elif digits:
            match |= Q(client_record__phone__endswith=digits)
    if query.isdigit() and len(query) <= 18:
        match |= Q(pk=int(query))
    return list(visible.filter(match).order_by("-date_joined", "-id")[:SEARCH_LIMIT])


def _search_payments(visible, query: str) -> list[dict]:
    """Deposits and withdrawals whose reference starts with the query (references are DEP-…, WD-…): one query
    for both kinds (a UNION), newest first. Statuses only: amounts stay on the Client 360 finance blocks."""
    from tenant_apps.payments.models import Deposit, Withdrawal

    clients = visible.values("pk")
    fields = ("pk", "reference", "status", "created_at", "client_id", "client__full_name", "client__email")
    deposits = (Deposit.objects.filter(reference__istartswith=query, client__in=clients).order_by()
                .values(*fields).annotate(kind=Value("deposit", output_field=CharField())))
    withdrawals = (Withdrawal.objects.filter(reference__istartswith=query, client__in=clients).order_by()
                   .values(*fields).annotate(kind=Value("withdrawal", output_field=CharField())))
    return list(deposits.union(withdrawals, all=True).order_by("-created_at")[:SEARCH_LIMIT])
