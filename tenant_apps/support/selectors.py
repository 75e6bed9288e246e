"""Reads of the support capability, with bounded queries: a client's own tickets and threads (never internal
notes), the staff queue scoped like the client list (Sales: own and team's clients), help articles per language."""
from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tenancy.context import require_tenant
from tenant_apps.identity.models import User, UserKind
from tenant_apps.identity.permissions import has_perm
from tenant_apps.support import states
from tenant_apps.support.models import Article, Ticket, TicketAttachment, TicketMessage

# --- the client's side ------------------------------------------------------------------------------------

def client_tickets(client) -> QuerySet[Ticket]:
    require_tenant()
    return Ticket.objects.filter(client=client).order_by("-last_message_at", "-pk")


def client_ticket(client, pk: int) -> Ticket | None:
    return Ticket.objects.filter(client=client, pk=pk).first()


def client_thread(ticket: Ticket) -> list[TicketMessage]:
    """The conversation as the client sees it: replies only. Internal notes are filtered out HERE, in the query."""
    return list(ticket.messages.filter(internal=False).select_related("author")
                .prefetch_related("attachments"))


def client_attachment(client, pk: int) -> TicketAttachment | None:
    return (TicketAttachment.objects.select_related("message")
            .filter(pk=pk, message__ticket__client=client, message__internal=False).first())


# --- the back office --------------------------------------------------------------------------------------

def tickets_visible_to(user) -> QuerySet[Ticket]:
    """Tickets a staff member may read: all with clients:view_all; otherwise those of the clients they may see
    (Sales: own and team's), never the unverified ones (no client to scope them by)."""
    require_tenant()
    if user is None or getattr(user, "kind", None) != UserKind.STAFF or not has_perm(user, "support", "view"):
        return Ticket.objects.none()
    tickets = Ticket.objects.all()
    if has_perm(user, "clients", "view_all"):
        return tickets
    from tenant_apps.crm.selectors import clients_visible_to

    return tickets.filter(client__in=clients_visible_to(user).values("pk"))


FILTERS = ("status", "category", "severity", "assignee", "q", "breached")


def ticket_queue(user, *, filters: dict | None = None) -> QuerySet[Ticket]:
    """The ticket list with its filters (status — "active" by default —, category, severity, assignee — an id,
    "me" or "none" —, breached SLA, free text on number, subject and client e-mail). One query, whatever the size."""
    filters = filters or {}
    tickets = tickets_visible_to(user).select_related("client", "assignee", "team")
    status = filters.get("status") or "active"
    if status == "active":
        tickets = tickets.filter(status__in=states.ACTIVE)
    elif status in states.STATUS_LABELS:
        tickets = tickets.filter(status=status)
    if filters.get("category") in states.CATEGORY_LABELS:
        tickets = tickets.filter(category=filters["category"])
    if filters.get("severity") in dict(states.SEVERITY_CHOICES):
        tickets = tickets.filter(severity=filters["severity"])
    assignee = (filters.get("assignee") or "").strip()
    if assignee == "me":
        tickets = tickets.filter(assignee=user)
    elif assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif assignee.isascii() and assignee.isdigit() and len(assignee) < 12:
        tickets = tickets.filter(assignee_id=int(assignee))
    if filters.get("breached"):
        tickets = tickets.filter(first_response_at__isnull=True, sla_due_at__lt=timezone.now(),
                                 status__in=states.ACTIVE)
    q = (filters.get("q") or "").strip()[:100]
    if q:
        from tenant_apps.support.services import ticket_number_parse

        number = ticket_number_parse(q) if q.upper().startswith("T") else None
        text = Q(subject__icontains=q) | Q(client__email__icontains=q) | Q(from_email__icontains=q)
        if number:
            text |= Q(pk=number)
        tickets = tickets.filter(text)
    return tickets.annotate(message_count=Count("messages")).order_by("sla_due_at", "-last_message_at", "pk") \
        if status in ("active", states.NEW, states.OPEN) else \
        tickets.annotate(message_count=Count("messages")).order_by("-last_message_at", "-pk")


def staff_ticket(user, pk: int) -> Ticket | None:
    return tickets_visible_to(user).select_related("client", "assignee", "team").filter(pk=pk).first()


def staff_thread(ticket: Ticket) -> list[TicketMessage]:
    return list(ticket.messages.select_related("author").prefetch_related("attachments"))


def staff_attachment(user, pk: int) -> TicketAttachment | None:
    return (TicketAttachment.objects.select_related("message")
            .filter(pk=pk, message__ticket__in=tickets_visible_to(user)).first())


def assignable_staff() -> list[User]:
    """Active staff who may answer tickets (the assign drop-down)."""
    staff = (User.objects.filter(kind=UserKind.STAFF, is_active=True).prefetch_related("roles")
             .order_by("full_name", "email"))
    return [u for u in staff if has_perm(u, "support", "reply")]


def ticket_counts(user) -> dict[str, int]:
    """Per status counts for the queue's tabs (one query)."""
    rows = tickets_visible_to(user).values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


# --- knowledge base ---------------------------------------------------------------------------------------

def _language(code: str) -> str:
    code = (code or "").split("-")[0].lower()
    return code if code in {c for c, _n in settings.LANGUAGES} else "en"


def articles_for(language: str) -> list[Article]:
    """Published articles in `language`, plus the English ones not translated into it (the fallback)."""
    require_tenant()
    language = _language(language)
    rows = list(Article.objects.filter(published=True, language__in={language, "en"}).order_by("category", "title"))
    translated = {a.slug for a in rows if a.language == language}
    return [a for a in rows if a.language == language or a.slug not in translated]


def article_for(language: str, slug: str) -> Article | None:
    """The article in `language`, else in English (a page in a language nobody wrote yet still helps)."""
    require_tenant()
    language = _language(language)
    found = {a.language: a for a in Article.objects.filter(published=True, slug=slug, language__in={language, "en"})}
    return found.get(language) or found.get("en")


def article_translations(slug: str) -> list[str]:
    return list(Article.objects.filter(published=True, slug=slug).order_by("language")
                .values_list("language", flat=True))


def articles_staff() -> QuerySet[Article]:
    return Article.objects.select_related("updated_by").order_by("slug", "language")


# Pain points of the Trader's Room → the help article slugs each one links to.
PAIN_POINTS = {
    "deposit": ("how-to-deposit", "deposit-not-credited"),
    "withdrawal": ("why-is-my-withdrawal-pending", "withdrawal-processing-times"),
    "account_opening": ("how-to-open-an-account", "verification-documents"),
}


def help_links(point: str, language: str) -> list[Article]:
    """The articles shown on a portal page under "Need help?" (published, in the reader's language or English)."""
    slugs = PAIN_POINTS.get(point, ())
    if not slugs:
        return []
    language = _language(language)
    found = {}
    for article in Article.objects.filter(published=True, slug__in=slugs, language__in={language, "en"}):
        if article.slug not in found or article.language == language:
            found[article.slug] = article
    return [found[s] for s in slugs if s in found]


__all__ = ["client_tickets", "client_ticket", "client_thread", "ticket_queue", "staff_ticket", "staff_thread",
           "articles_for", "article_for", "help_links"]
