"""Reads of the payments capability: a payment's webhook history, the inbox's health for staff and operators."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.context import require_tenant
from tenant_apps.payments.models import WebhookEvent, WebhookStatus
from themes.l10n import local_datetime


def webhook_events_for_payment(*, provider_code: str, provider_payment_id: str):
    """Every genuine delivery about one payment, in the order they arrived (the deposit's PSP history)."""
    require_tenant()
    return (WebhookEvent.objects.filter(provider_code=provider_code, provider_payment_id=provider_payment_id,
                                        signature_valid=True)
            .defer("raw_body").order_by("received_at", "pk"))


def webhook_inbox_health() -> dict:
    """Counts per status, how long the oldest waiting event has waited, rejects in the last hour."""
    require_tenant()
    now = timezone.now()
    by_status = dict(WebhookEvent.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    oldest = WebhookEvent.objects.filter(status=WebhookStatus.RECEIVED).aggregate(at=Min("received_at"))["at"]
    recent_rejects = WebhookEvent.objects.filter(
        Q(status=WebhookStatus.REJECTED) & Q(received_at__gte=now - timedelta(hours=1))).count()
    return {
        "by_status": {status.value: by_status.get(status.value, 0) for status in WebhookStatus},
        "oldest_waiting_s": round((now - oldest).total_seconds(), 1) if oldest else None,
        "rejected_last_hour": recent_rejects,
    }


# --- money workflows: what the client and staff see ------------------------------------------------------------

def deposit_for_client(*, client, pk: int):
    """The client's own deposit with its history (None for anyone else's: no IDOR)."""
    from tenant_apps.payments.models import Deposit

    require_tenant()
    return (Deposit.objects.select_related("method__provider").prefetch_related("events")
            .filter(pk=pk, client_id=client.pk).first())


def withdrawal_for_client(*, client, pk: int):
    from tenant_apps.payments.models import Withdrawal

    require_tenant()
    return (Withdrawal.objects.select_related("method").prefetch_related("events")
            .filter(pk=pk, client_id=client.pk).first())


def deposit_status_line(deposit) -> str:
    """The honest one-line status the client reads (with since-when for a deposit waiting on the PSP)."""
    from tenant_apps.payments import states

    if deposit.status == "pending_psp" and deposit.method.provider.kind == "bank_wire":
        return _("%(status)s (reference %(reference)s; waiting since %(since)s)") % {
            "status": states.DEPOSIT_WIRE_AWAITING, "reference": deposit.reference,
            "since": local_datetime(deposit.status_changed_at)}
    if deposit.status == "pending_psp":
        return _("Waiting for the payment provider's confirmation since %(since)s") % {
            "since": local_datetime(deposit.status_changed_at)}
    if deposit.status == "failed":
        return f"{deposit.failure_message} {deposit.failure_next_step}".strip()
    return states.DEPOSIT_CLIENT_STATUS[deposit.status]


def deposits_under_review(*, claimed_by=None):
    from tenant_apps.payments.models import Deposit

    require_tenant()
    qs = Deposit.objects.filter(status="under_review").select_related("client", "method", "claimed_by")
    if claimed_by is not None:
        qs = qs.filter(claimed_by=claimed_by)
    return qs.order_by("status_changed_at")


def withdrawals_queue(*, status: str = "under_review", stage: str = "", currency: str = ""):
    from tenant_apps.payments.models import Withdrawal

    require_tenant()
    qs = Withdrawal.objects.filter(status=status).select_related("client", "method", "claimed_by")
    if stage:
        qs = qs.filter(stage=stage)
    if currency:
        qs = qs.filter(currency=currency.upper())
    return qs.prefetch_related("approvals").order_by("created_at")


def adjustments_list(*, client_id: int | None = None, status: str = ""):
    from tenant_apps.payments.models import Adjustment

    require_tenant()
    qs = Adjustment.objects.select_related("client", "created_by", "decided_by")
    if client_id:
        qs = qs.filter(client_id=client_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at")


def client_statement(*, client, currency: str = "", kind: str = "", date_from=None, date_to=None, limit: int = 500):
    """The client's wallet movements, newest first, with filters (currency, entry kind, dates)."""
    from tenant_apps.ledger.models import AccountKind, JournalLine, OwnerType

    require_tenant()
    lines = (JournalLine.objects.filter(account__kind=AccountKind.CLIENT_WALLET, account__owner_type=OwnerType.CLIENT,
                                        account__owner_id=str(client.pk))
             .select_related("entry", "account"))
    if currency:
        lines = lines.filter(currency=currency.upper())
    if kind:
        lines = lines.filter(entry__kind=kind)
    if date_from:
        lines = lines.filter(entry__created_at__date__gte=date_from)
    if date_to:
        lines = lines.filter(entry__created_at__date__lte=date_to)
    return [{"at": line.entry.created_at, "kind": line.entry.kind, "description": line.entry.description,
             "amount": line.amount.quantize(Decimal(1).scaleb(-line.decimal_places)),
             "balance_after": line.balance_after.quantize(Decimal(1).scaleb(-line.decimal_places)),
             "currency": line.currency}
            for line in lines.order_by("-entry__created_at", "-id")[:limit]]


def statement_csv(rows) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "type", "description", "amount", "balance_after", "currency"])
    for row in rows:
        writer.writerow([row["at"].isoformat(), row["kind"], row["description"], row["amount"], row["balance_after"],
                         row["currency"]])
    return out.getvalue()


def wallet_balances(*, client) -> list[dict]:
    from decimal import Decimal

    from tenant_apps.payments.services.transfers import client_wallets

    rows = []
    for a in client_wallets(client=client):
        step = Decimal(1).scaleb(-a.decimal_places)  # shown at the currency's precision (USD 2, JPY 0)
        rows.append({"account": a, "currency": a.currency, "balance": a.balance.quantize(step),
                     "available": a.available.quantize(step)})
    return rows


# --- internal transfers (services/trading_transfers.py) ---------------------------------------------------------

def transfer_endpoints(*, client, live: bool = True) -> list[dict]:
    """What the client may move money between: their wallets (available balance) and live trading accounts
    (free margin read live from the platform — one batch call per server — else the last synced snapshot).
    Each row: key ("w<ledger pk>" / "t<trading account pk>"), label, currency, amount shown, status, usable."""
    from tenant_apps.trading import states as trading_states
    from tenant_apps.trading.adapters.base import TradingPlatformError
    from tenant_apps.trading.errors import TradingError
    from tenant_apps.trading.models import AccountStatus, TradingAccount
    from tenant_apps.trading.services import adapter_for

    require_tenant()
    rows = [{"key": f"w{w['account'].pk}", "kind": "wallet", "label": _("%(currency)s wallet") % {"currency": w["currency"]}, "object": w["account"],
             "currency": w["currency"], "amount": w["available"], "amount_label": _("available"), "status": "active",
             "usable": True, "as_of": None} for w in wallet_balances(client=client)]
    accounts = list(TradingAccount.objects.filter(client=client, is_demo=False)
                    .exclude(status__in=[AccountStatus.FAILED, AccountStatus.ARCHIVED])
                    .select_related("server", "snapshot").order_by("login"))
    states_by_login: dict[int, object] = {}
    if live:
        by_server: dict[int, list] = {}
        for account in accounts:
            by_server.setdefault(account.server_id, []).append(account)
        for group in by_server.values():
            try:
                states_by_login.update(adapter_for(group[0].server).list_account_states([a.login for a in group]))
            except (TradingPlatformError, TradingError):
                continue  # unreachable: the synced snapshot below
    for account in accounts:
        state = states_by_login.get(account.login)
        snapshot = getattr(account, "snapshot", None) if state is None else None
        free = state.free_margin if state is not None else (snapshot.free_margin if snapshot else None)
        rows.append({"key": f"t{account.pk}", "kind": "trading", "label": _("Trading account %(login)s") % {"login": account.login},
                     "object": account, "currency": account.currency, "amount": free, "amount_label": _("free margin"),
                     "balance": state.balance if state is not None else (snapshot.balance if snapshot else None),
                     "status": trading_states.client_status(account), "usable": account.status == AccountStatus.ACTIVE,
                     "as_of": None if state is not None else (snapshot.synced_at if snapshot else None)})
    return rows


def transfers_for_client(*, client, limit: int = 50):
    from tenant_apps.payments.models import Transfer

    require_tenant()
    return list(Transfer.objects.filter(client=client)
                .select_related("source_account", "destination_account", "source_trading_account",
                                "destination_trading_account").order_by("-created_at", "-pk")[:limit])


def transfers_list(*, status: str = "", limit: int = 200):
    """Back office: every transfer, newest first (needs_attention first when filtered)."""
    require_tenant()
    qs = transfers_qs()
    if status:
        qs = qs.filter(status=status)
    return list(qs.order_by("-created_at", "-pk")[:limit])


def transfers_qs():
    from tenant_apps.payments.models import Transfer

    return Transfer.objects.select_related("client", "source_account", "destination_account",
                                           "source_trading_account__server", "destination_trading_account__server",
                                           "deposit")


def transfer_entries(transfer) -> list:
    """The journal entries that moved this transfer's money (the move and its return), with their lines."""
    from tenant_apps.ledger.models import JournalEntry

    ids = [i for i in (transfer.entry_id, transfer.refund_entry_id) if i]
    return list(JournalEntry.objects.filter(pk__in=ids).prefetch_related("lines__account").order_by("pk"))


def transfer_side_label(transfer, side: str) -> str:
    trading = getattr(transfer, f"{side}_trading_account")
    if trading is not None:
        return f"Trading account {trading.login}"
    return f"{getattr(transfer, f'{side}_account').currency} wallet"


# --- bank wires (services/wires.py): Finance's queue, a wire's candidate deposits, the client's instructions -------

WIRE_SLA_WARN_H = 24     # an open wire older than this is highlighted …
WIRE_SLA_BREACH_H = 72   # … and past this it is overdue


def wires_queue(*, status: str = "open", older_than_h: int | None = None, currency: str = "", limit: int = 200):
    """Incoming wires by status ("open" = every queue status, "all", or one status), oldest first, with the age
    class each row is shown in (ok / warn / breach). One query, whatever the number of rows."""
    from tenant_apps.payments.models import WIRE_OPEN, IncomingWire

    require_tenant()
    qs = IncomingWire.objects.select_related("deposit__client", "proposed_deposit", "proposed_by", "matched_by",
                                             "decided_by", "statement")
    if status == "open":
        qs = qs.filter(status__in=WIRE_OPEN)
    elif status != "all":
        qs = qs.filter(status=status)
    if older_than_h:
        qs = qs.filter(received_at__lte=timezone.now() - timedelta(hours=older_than_h))
    if currency:
        qs = qs.filter(currency=currency.upper())
    now = timezone.now()
    rows = list(qs.order_by("received_at", "pk")[:limit])
    for wire in rows:
        hours = (now - wire.received_at).total_seconds() / 3600
        wire.age_h = int(hours)
        wire.sla = ("ok" if wire.status not in WIRE_OPEN or hours < WIRE_SLA_WARN_H
                    else "warn" if hours < WIRE_SLA_BREACH_H else "breach")
    return rows


def wires_open_counts() -> dict[str, int]:
    from tenant_apps.payments.models import WIRE_OPEN, IncomingWire

    require_tenant()
    found = dict(IncomingWire.objects.filter(status__in=WIRE_OPEN).values_list("status").annotate(n=Count("pk"))
                 .values_list("status", "n"))
    return {status.value: found.get(status.value, 0) for status in WIRE_OPEN}


def wire_candidates(*, wire, limit: int = 10) -> list[dict]:
    """Deposits this wire may pay: bank wire deposits of the same connection and currency still waiting for money,
    ranked by exact amount, then by how well the payer's name matches the client."""
    from tenant_apps.compliance.models import ClientProfile
    from tenant_apps.payments.models import Deposit
    from tenant_apps.payments.services.wires import NAME_MATCH_MIN, WIRE_DEPOSIT_WAITING, name_score

    require_tenant()
    waiting = list(Deposit.objects.filter(provider_code=wire.provider_code, currency=wire.currency,
                                          status__in=WIRE_DEPOSIT_WAITING, method__provider__kind="bank_wire")
                   .select_related("client").order_by("-created_at")[:500])
    profiles = dict(ClientProfile.objects.filter(client_id__in={d.client_id for d in waiting})
                    .values_list("client_id", "full_name"))
    found = []
    for deposit in waiting:
        names = [n for n in (profiles.get(deposit.client_id), deposit.client.full_name) if n]
        score = name_score(wire.payer_name, names)
        same_amount = deposit.amount == wire.amount
        if same_amount or score >= 60:
            found.append({"deposit": deposit, "score": score, "same_amount": same_amount,
                          "name_ok": score >= NAME_MATCH_MIN, "same_reference": deposit.reference == wire.reference_found})
    found.sort(key=lambda c: (not c["same_reference"], not c["same_amount"], -c["score"], c["deposit"].pk))
    return found[:limit]


def statement_imports_recent(*, limit: int = 20):
    from tenant_apps.payments.models import BankStatementImport

    require_tenant()
    return BankStatementImport.objects.select_related("uploaded_by").order_by("-uploaded_at", "-pk")[:limit]


def wire_instructions(deposit) -> dict[str, str] | None:
    """What the client must send for a bank wire deposit still waiting for money (None for other deposits)."""
    from tenant_apps.payments.adapters.bank_wire import BankWireAdapter
    from tenant_apps.payments.adapters.base import PspError

    provider = deposit.method.provider
    if deposit.status not in ("initiated", "pending_psp") or provider.kind != "bank_wire":
        return None
    try:  # bank details are non-secret settings: no credentials to decrypt
        return BankWireAdapter(provider_code=provider.code, settings=provider.settings).instructions(
            amount=deposit.amount, currency=deposit.currency, reference=deposit.reference)
    except PspError:
        return None
