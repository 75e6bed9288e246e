"""Back-office support pages (/backoffice/support/…): the ticket list with filters, a ticket (reply or internal
note, status, category, severity, assignment, SLA), attachments, and the help articles. Thin: services write."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin, access_denied
from tenant_apps.identity.models import User, UserKind
from tenant_apps.identity.permissions import PermissionDeniedError, has_perm
from tenant_apps.support import selectors, services, states
from tenant_apps.support.errors import SupportError
from tenant_apps.support.forms import ArticleForm, StaffReplyForm
from tenant_apps.support.markup import render_markup
from tenant_apps.support.models import Article
from tenant_apps.support.portal_views import attachment_response

PAGE_SIZE = 50


class TicketListView(StaffPermissionMixin, View):
    permission = ("support", "view")

    def get(self, request):
        filters = {k: request.GET.get(k, "") for k in selectors.FILTERS}
        page = Paginator(selectors.ticket_queue(request.user, filters=filters), PAGE_SIZE).get_page(
            request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        return render(request, "support/backoffice/tickets.html", {
            "page": page, "tickets": list(page.object_list), "filters": filters, "query": query.urlencode(),
            "counts": selectors.ticket_counts(request.user),
            "status_choices": states.STATUS_CHOICES, "category_choices": states.CATEGORY_CHOICES,
            "severity_choices": states.SEVERITY_CHOICES,
            "staff": selectors.assignable_staff() if has_perm(request.user, "support", "manage") else [],
        })


class TicketDetailView(StaffPermissionMixin, View):
    permission = ("support", "view")
    write_permission = ("support", "reply")
    MANAGE_ACTIONS = ("status", "update", "assign")

    def _ticket(self, request, pk):
        ticket = selectors.staff_ticket(request.user, pk)
        if ticket is None:
            raise Http404("No such ticket.")  # outside the reader's scope: never confirmed
        return ticket

    def _render(self, request, ticket, *, form=None, status=200, error=""):
        user = request.user
        return render(request, "support/backoffice/ticket.html", {
            "ticket": ticket, "thread": selectors.staff_thread(ticket), "form": form or StaffReplyForm(),
            "error": error, "can_reply": has_perm(user, "support", "reply"),
            "can_manage": has_perm(user, "support", "manage"),
            "targets": [(s, states.STATUS_LABELS[s]) for s in states.targets(ticket.status, states.STAFF)],
            "category_choices": states.CATEGORY_CHOICES, "severity_choices": states.SEVERITY_CHOICES,
            "staff": selectors.assignable_staff() if has_perm(user, "support", "manage") else [],
            "client_status": states.CLIENT_STATUS.get(ticket.status),
        }, status=status)

    def get(self, request, pk: int):
        return self._render(request, self._ticket(request, pk))

    def post(self, request, pk: int):
        ticket = self._ticket(request, pk)
        action = request.POST.get("action", "")
        if action in self.MANAGE_ACTIONS and not has_perm(request.user, "support", "manage"):
            return access_denied(request, "support", "manage")
        try:
            if action == "reply":
                form = StaffReplyForm(request.POST, request.FILES)
                if not form.is_valid():
                    return self._render(request, ticket, form=form, status=400)
                data = form.cleaned_data
                try:
                    services.staff_reply(ticket=ticket, staff=request.user, body=data["body"],
                                         internal=data["internal"], status=data["status"],
                                         uploads=[data.get("attachment")], request=request)
                except ValidationError as exc:
                    for name, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
                        form.add_error(name if name in form.fields else None, errors)
                    return self._render(request, ticket, form=form, status=400)
                messages.success(request, _("Internal note added.") if data["internal"] else _("Reply sent."))
            elif action == "status":
                services.ticket_transition(ticket=ticket, to=request.POST.get("status", ""), actor=request.user,
                                           reason=request.POST.get("reason", "")[:300], request=request)
                messages.success(request, _("Status changed."))
            elif action == "update":
                services.ticket_update(ticket=ticket, staff=request.user,
                                       category=request.POST.get("category") or None,
                                       severity=request.POST.get("severity") or None, request=request)
                messages.success(request, _("Ticket updated."))
            elif action == "assign":
                raw = (request.POST.get("assignee") or "").strip()
                assignee = None
                if raw:
                    assignee = (User.objects.filter(pk=int(raw), kind=UserKind.STAFF).first()
                                if raw.isascii() and raw.isdigit() and len(raw) < 12 else None)
                    if assignee is None:
                        return self._render(request, ticket, status=400, error=_("Choose a staff member."))
                services.ticket_assign(ticket=ticket, staff=request.user, assignee=assignee, request=request)
                messages.success(request, _("Assignment saved."))
            else:
                return self._render(request, ticket, status=400, error=_("Unknown action."))
        except PermissionDeniedError as exc:
            return access_denied(request, exc.capability, exc.action)
        except ValidationError as exc:
            return self._render(request, ticket, status=400, error=" ".join(exc.messages))
        except SupportError as exc:
            return self._render(request, ticket, status=400, error=exc.message)
        return redirect("backoffice_support_ticket", pk=ticket.pk)


class AttachmentView(StaffPermissionMixin, View):
    permission = ("support", "view")

    def get(self, request, pk: int):
        found = selectors.staff_attachment(request.user, pk)
        if found is None:
            raise Http404("No such attachment.")
        return attachment_response(found)


class ArticleListView(StaffPermissionMixin, View):
    permission = ("support", "view")

    def get(self, request):
        return render(request, "support/backoffice/articles.html", {
            "articles": list(selectors.articles_staff()), "can_manage": has_perm(request.user, "support", "manage")})


class ArticleEditView(StaffPermissionMixin, View):
    permission = ("support", "manage")
    write_permission = ("support", "manage")

    def _article(self, pk):
        if pk is None:
            return None
        article = Article.objects.filter(pk=pk).first()
        if article is None:
            raise Http404("No such article.")
        return article

    def _render(self, request, form, article, status=200):
        return render(request, "support/backoffice/article_edit.html", {
            "form": form, "article": article,
            "preview": render_markup(article.body) if article else "",
        }, status=status)

    def get(self, request, pk: int | None = None):
        article = self._article(pk)
        initial = ({f: getattr(article, f) for f in services.ARTICLE_FIELDS} if article
                   else {"language": "en", "published": True})
        return self._render(request, ArticleForm(initial=initial), article)

    def post(self, request, pk: int | None = None):
        article = self._article(pk)
        form = ArticleForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, article, status=400)
        try:
            saved = services.article_save(staff=request.user, data=form.cleaned_data, article=article,
                                          request=request)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
            return self._render(request, form, article, status=400)
        messages.success(request, _("Article saved."))
        return redirect("backoffice_support_article", pk=saved.pk)
