"""Reads of clients, scoped by the reader's permissions: Sales sees its own and its team's clients only."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from tenancy.context import require_tenant
from tenant_apps.identity.models import User, UserKind
from tenant_apps.identity.permissions import has_perm


def clients_visible_to(user) -> QuerySet[User]:
    """Clients the user may see at all. Unscoped only with clients:view_all; never for non-staff."""
    require_tenant()
    clients = User.objects.filter(kind=UserKind.CLIENT).select_related("client_record", "client_record__owner",
                                                                        "client_record__team")
    if has_perm(user, "clients", "view_all"):
        return clients
    if has_perm(user, "clients", "view"):
        scope = Q(client_record__owner=user)
        if user.team_id:
            scope |= Q(client_record__team_id=user.team_id)
        return clients.filter(scope)
    return clients.none()


def client_for(user, client_id: int) -> User | None:
    """One client if the reader may see it; None otherwise (callers answer 404, never confirming it exists)."""
    return clients_visible_to(user).filter(pk=client_id).first()


def client_sections(user) -> dict[str, bool]:
    """Which blocks of a client's record this reader receives (field-level rules of the matrix)."""
    return {
        "contact": has_perm(user, "clients.contact", "view"),
        "finance": has_perm(user, "clients.finance", "view"),
        "kyc": has_perm(user, "kyc", "view"),
        "documents": has_perm(user, "kyc.documents", "view"),
        "audit": has_perm(user, "audit", "view"),
    }


def client_finance(client: User) -> list[dict]:
    """The client's money figures from the ledger: one row per account the client owns (wallets, receivables),
    with balance and available (balance − holds). Empty until money has moved for the client. Trading-account
    mirrors are owned by the trading account's login and join here with the trading capability."""
    from decimal import Decimal

    from tenant_apps.ledger.models import Owner
    from tenant_apps.ledger.selectors import accounts_of_owner

    rows = []
    for account in accounts_of_owner(owner=Owner.client(client.pk)):
        step = Decimal(1).scaleb(-account.decimal_places)
        rows.append({"label": account.get_kind_display(), "currency": account.currency,
                     "balance": str(account.balance.quantize(step)), "available": str(account.available.quantize(step))})
    return rows


JOURNEY = (("registered", "Register"), ("kyc_approved", "Verify your identity"), ("funded", "Fund your account"),
           ("active", "Start trading"))
STAGE_ORDER = {s: i for i, s in enumerate(("lead", "registered", "kyc_pending", "kyc_approved", "funded", "active",
                                           "dormant"))}


def _url(name: str, fallback: str) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def client_next_step(user) -> dict:
    """The Trader's Room "Next step" card: the stage, the journey's steps done, and what to do now."""
    from tenant_apps.compliance.selectors import kyc_status_for_client
    from tenant_apps.crm.models import ClientRecord

    require_tenant()
    record = ClientRecord.objects.filter(user_id=user.pk).only("stage").first()
    stage = record.stage if record else "lead"
    rank = STAGE_ORDER[stage]
    steps = [{"name": s, "label": label, "done": rank >= STAGE_ORDER[s]} for s, label in JOURNEY]
    kyc = kyc_status_for_client(user)
    if stage in ("lead", "registered"):
        action = {"label": "Verify your identity", "url": _verify_url()}
    elif stage == "kyc_pending":
        action = {"label": "See your verification", "url": _verify_url()}
    elif stage == "kyc_approved":
        action = {"label": "Make your first deposit", "url": _url("money_deposit_start", "/money/deposit/")}
    else:
        action = {"label": "Go to your trading accounts", "url": _url("portal_trading", "/trading/")}
    return {"stage": stage, "stage_label": dict(STAGE_LABELS)[stage], "steps": steps,
            "done": sum(1 for s in steps if s["done"]), "total": len(steps), "kyc": kyc, "action": action}


STAGE_LABELS = (("lead", "Lead"), ("registered", "Registered"), ("kyc_pending", "KYC pending"),
                ("kyc_approved", "KYC approved"), ("funded", "Funded"), ("active", "Active"), ("dormant", "Dormant"))


def _verify_url() -> str:
    """The Trader's Room verification page (compliance's), by name when it is mounted, else by its path."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("verify_overview")
    except NoReverseMatch:
        return "/verify/"


def stage_funnel(*, since=None, until=None) -> list[dict]:
    """Clients who reached each lifecycle stage within [since, until), from the timestamped transitions (one
    query). A client counts once per stage, however often they re-entered it."""
    from django.db.models import Count

    from tenant_apps.crm.models import StageTransition

    require_tenant()
    moves = StageTransition.objects.all()
    if since is not None:
        moves = moves.filter(at__gte=since)
    if until is not None:
        moves = moves.filter(at__lt=until)
    counts = dict(moves.values_list("to_stage").annotate(n=Count("client_id", distinct=True)))
    return [{"stage": stage, "label": label, "clients": counts.get(stage, 0)} for stage, label in STAGE_LABELS]
