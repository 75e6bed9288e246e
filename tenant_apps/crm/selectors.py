"""Reads of clients, scoped by the reader's permissions: Sales sees its own and its team's clients only."""
from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

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


JOURNEY = (("registered", _("Register")), ("kyc_approved", _("Verify your identity")),
           ("funded", _("Fund your account")), ("active", _("Start trading")))
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
        action = {"label": _("Verify your identity"), "url": _verify_url()}
    elif stage == "kyc_pending":
        action = {"label": _("See your verification"), "url": _verify_url()}
    elif stage == "kyc_approved":
        action = {"label": _("Make your first deposit"), "url": _url("money_deposit_start", "/money/deposit/")}
    else:
        action = {"label": _("Go to your trading accounts"), "url": _url("portal_trading", "/trading/")}
    return {"stage": stage, "stage_label": dict(STAGE_LABELS)[stage], "steps": steps,
            "done": sum(1 for s in steps if s["done"]), "total": len(steps), "kyc": kyc, "action": action}


STAGE_LABELS = (("lead", _("Lead")), ("registered", _("Registered")), ("kyc_pending", _("KYC pending")),
                ("kyc_approved", _("KYC approved")), ("funded", _("Funded")), ("active", _("Active")),
                ("dormant", _("Dormant")))


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


# --- lead pipeline, tasks, notes (issue 8, item 3) -------------------------------------------------------------

PIPELINE_CARDS = 10  # cards per stage column (the column's count is the whole stage)
LEAD_SOURCES = (("registration", _("Registration")), ("ib", _("IB link")), ("api", _("API")),
                ("import", _("CSV import")))


def pipeline_filter_options(viewer) -> dict:
    """Owners and teams the pipeline can be filtered by (two bounded queries)."""
    from tenant_apps.identity.models import Team

    owners = (User.objects.filter(kind=UserKind.STAFF, is_active=True).order_by("full_name", "email")
              .only("id", "email", "full_name")[:300])
    teams = Team.objects.filter(is_active=True).order_by("name").only("id", "name")[:200]
    return {"owners": list(owners), "teams": list(teams), "sources": LEAD_SOURCES}


def pipeline(viewer, *, owner_id: int | None = None, team_id: int | None = None, source: str = "",
             country: str = "", cards: int = PIPELINE_CARDS, now=None) -> list[dict]:
    """The viewer's clients by lifecycle stage: each column's count and its newest-in-stage `cards` clients (owner,
    age in the stage, source). Two queries whatever the number of clients: counts, then the cards ranked per stage
    by a window function."""
    from django.db.models import Count, F, Window
    from django.db.models.functions import RowNumber
    from django.utils import timezone

    require_tenant()
    now = now or timezone.now()
    clients = clients_visible_to(viewer).filter(client_record__isnull=False)
    if owner_id:
        clients = clients.filter(client_record__owner_id=owner_id)
    if team_id:
        clients = clients.filter(client_record__team_id=team_id)
    if country:
        clients = clients.filter(client_record__country=country.upper())
    if source == "ib":
        clients = clients.exclude(client_record__ref_code="")
    elif source == "registration":
        clients = clients.filter(client_record__lead_source="registration", client_record__ref_code="")
    elif source:
        clients = clients.filter(client_record__lead_source=source)
    counts = dict(clients.order_by().values_list("client_record__stage").annotate(n=Count("pk")))
    ranked = clients.annotate(rank=Window(RowNumber(), partition_by=[F("client_record__stage")],
                                          order_by=[F("client_record__stage_changed_at").desc(nulls_last=True),
                                                    F("pk").desc()])).filter(rank__lte=cards)
    by_stage: dict[str, list] = {}
    for client in ranked:
        record = client.client_record
        since = record.stage_changed_at or client.date_joined
        by_stage.setdefault(record.stage, []).append({
            "client": client, "record": record, "age_days": max(0, (now - since).days),
            "source": lead_source_label(record)})
    return [{"stage": stage, "label": label, "count": counts.get(stage, 0), "cards": by_stage.get(stage, [])}
            for stage, label in STAGE_LABELS]


def lead_source_label(record) -> str:
    if record.ref_code:
        return f"IB {record.ref_code}"
    label = dict(LEAD_SOURCES).get(record.lead_source or "registration", record.lead_source)
    return f"{label} · {record.utm_source}" if record.utm_source else label


def tasks_of(owner, *, status: str = "open"):
    """The owner's tasks (open by default), due first, with their clients (one query; callers paginate)."""
    from tenant_apps.crm.models import Task

    require_tenant()
    tasks = Task.objects.filter(owner=owner).select_related("client", "client__client_record")
    if status in Task.Status.values:
        tasks = tasks.filter(status=status)
    return tasks.order_by("due_at", "id") if status == "open" else tasks.order_by("-completed_at", "-id")


def client_tasks(client, *, rows: int = 20) -> list:
    """A client's open tasks (due first) then the latest closed ones — one query, capped."""
    from django.db.models import Case, IntegerField, Value, When

    from tenant_apps.crm.models import Task

    return list(Task.objects.filter(client_id=client.pk).select_related("owner")
                .annotate(closed=Case(When(status="open", then=Value(0)), default=Value(1), output_field=IntegerField()))
                .order_by("closed", "due_at", "-id")[:rows])


def client_notes(client, *, rows: int = 20) -> list:
    """A client's notes and logged calls/e-mails, newest first (one query, capped)."""
    from tenant_apps.crm.models import ClientNote

    return list(ClientNote.objects.filter(client_id=client.pk).select_related("author")
                .order_by("-created_at", "-id")[:rows])


def lead_awaiting_signup(email: str):
    """The imported / API lead (a client account nobody has signed up to: no usable password, no verified address)
    that `email` belongs to, or None. Signing up with that address takes the lead over instead of being refused."""
    from allauth.account.models import EmailAddress

    from tenant_apps.crm.lifecycle import LEAD_ONLY_SOURCES
    from tenant_apps.identity.models import User, UserKind

    require_tenant()
    user = (User.objects.filter(email__iexact=(email or "").strip(), kind=UserKind.CLIENT,
                                client_record__lead_source__in=LEAD_ONLY_SOURCES).select_related("client_record")
            .first())
    if user is None or user.has_usable_password() or EmailAddress.objects.filter(user=user, verified=True).exists():
        return None
    return user
