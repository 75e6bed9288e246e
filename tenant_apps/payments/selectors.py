"""Reads of the payments capability: a payment's webhook history, the inbox's health for staff and operators."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Min, Q
from django.utils import timezone

from tenancy.context import require_tenant
from tenant_apps.payments.models import WebhookEvent, WebhookStatus


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
    return Deposit.objects.select_related("method").prefetch_related("events").filter(pk=pk, client_id=client.pk).first()


def withdrawal_for_client(*, client, pk: int):
    from tenant_apps.payments.models import Withdrawal

    require_tenant()
    return (Withdrawal.objects.select_related("method").prefetch_related("events")
            .filter(pk=pk, client_id=client.pk).first())


def deposit_status_line(deposit) -> str:
    """The honest one-line status the client reads (with since-when for a deposit waiting on the PSP)."""
    from tenant_apps.payments import states

    if deposit.status == "pending_psp":
        return (f"Waiting for the payment provider's confirmation since "
                f"{timezone.localtime(deposit.status_changed_at):%Y-%m-%d %H:%M %Z}")
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
