"""Trader's Room support pages (/support/…): my tickets, open one, the thread (replies only — internal notes never
leave the back office), reply, close; the help centre (/support/help/); and the signed e-mail-in endpoint."""
from __future__ import annotations

import json
import logging

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenant_apps.compliance.portal_views import client_required
from tenant_apps.support import selectors, services, states
from tenant_apps.support.errors import SupportError
from tenant_apps.support.forms import ReplyForm, TicketOpenForm
from tenant_apps.support.markup import render_markup

log = logging.getLogger(__name__)


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@client_required
@require_GET
def tickets(request):
    rows = list(selectors.client_tickets(request.user)[:200])
    return render(request, "support/portal/tickets.html", {"tickets": rows})


@client_required
@require_http_methods(["GET", "POST"])
def ticket_new(request):
    initial = {"category": request.GET.get("category", "")}
    form = TicketOpenForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = services.ticket_open(client=request.user, subject=data["subject"], body=data["body"],
                                              category=data["category"], uploads=[data.get("attachment")],
                                              request=request)
            except ValidationError as exc:
                _form_errors(form, exc)
            except SupportError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Ticket %(number)s is open. We will answer here and notify you.")
                                 % {"number": ticket.number})
                return redirect("support_ticket", pk=ticket.pk)
    return render(request, "support/portal/ticket_new.html",
                  {"form": form, "articles": selectors.help_links(initial["category"] or "", translation.get_language())},
                  status=status)


def _thread_page(request, ticket, form, status=200):
    return render(request, "support/portal/ticket_detail.html", {
        "ticket": ticket, "thread": selectors.client_thread(ticket), "form": form,
        "can_close": states.transition_allowed(ticket.status, states.CLOSED, states.CLIENT),
        "reopen_days": states.reopen_days(),
    }, status=status)


@client_required
@require_GET
def ticket_detail(request, pk: int):
    ticket = selectors.client_ticket(request.user, pk)
    if ticket is None:
        raise Http404("No such ticket.")
    return _thread_page(request, ticket, ReplyForm())


@client_required
@require_POST
def ticket_reply(request, pk: int):
    ticket = selectors.client_ticket(request.user, pk)
    if ticket is None:
        raise Http404("No such ticket.")
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.client_reply(ticket=ticket, client=request.user, body=form.cleaned_data["body"],
                                  uploads=[form.cleaned_data.get("attachment")], request=request)
        except ValidationError as exc:
            _form_errors(form, exc)
        except SupportError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Your reply is sent."))
            return redirect("support_ticket", pk=ticket.pk)
    ticket.refresh_from_db()
    return _thread_page(request, ticket, form, status=400)


@client_required
@require_POST
def ticket_close(request, pk: int):
    ticket = selectors.client_ticket(request.user, pk)
    if ticket is None:
        raise Http404("No such ticket.")
    try:
        services.ticket_transition(ticket=ticket, to=states.CLOSED, actor=request.user, reason="closed by the client",
                                   request=request)
    except SupportError as exc:
        messages.error(request, exc.message)
        return redirect("support_ticket", pk=ticket.pk)
    messages.success(request, _("Ticket %(number)s is closed. Reply within %(n)d days to reopen it.")
                     % {"number": ticket.number, "n": states.reopen_days()})
    return redirect("support_ticket", pk=ticket.pk)


def attachment_response(attachment) -> FileResponse:
    """The stored file, inert (as KYC documents are served: platform_core/files.py)."""
    from platform_core.files import inert_file_response

    return inert_file_response(attachment.file, content_type=attachment.content_type,
                               filename=attachment.download_name)


@client_required
@require_GET
def attachment(request, pk: int):
    found = selectors.client_attachment(request.user, pk)
    if found is None:
        raise Http404("No such attachment.")
    return attachment_response(found)


# --- help centre (public: the answers help before anyone signs in) ------------------------------------------

@require_GET
def help_index(request):
    language = translation.get_language() or "en"
    articles = selectors.articles_for(language)
    grouped: dict[str, list] = {}
    for article in articles:
        grouped.setdefault(str(states.CATEGORY_LABELS.get(article.category, article.category)), []).append(article)
    return render(request, "support/portal/help_index.html", {"groups": grouped, "language": language})


@require_GET
def help_article(request, slug: str):
    language = translation.get_language() or "en"
    article = selectors.article_for(language, slug)
    if article is None:
        raise Http404("No such article.")
    return render(request, "support/portal/help_article.html", {
        "article": article, "body": render_markup(article.body),
        "fallback": article.language != (language or "en").split("-")[0],
    })


# --- e-mail in ----------------------------------------------------------------------------------------------

@csrf_exempt
@require_POST
def inbound_email(request):
    """POST the raw RFC 822 message as the body, signed with this brokerage's shared secret
    (X-Support-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>; see email_in.inbound_signature)."""
    from tenant_apps.support.email_in import email_ingest, inbound_secret, inbound_signature_valid
    from tenant_apps.support.errors import InboundEmailError

    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"code": "email_too_large", "message": "The e-mail is too large."}, status=413)
    if not inbound_signature_valid(body, request.headers.get("X-Support-Signature", ""), secret=inbound_secret()):
        log.warning("support inbound e-mail refused: bad signature from %s", request.META.get("REMOTE_ADDR"))
        return JsonResponse({"code": "signature_invalid",
                             "message": "Missing or invalid X-Support-Signature."}, status=403)
    try:
        outcome = email_ingest(body)
    except InboundEmailError as exc:
        return JsonResponse({"code": exc.code, "message": exc.message}, status=400)
    return JsonResponse({"result": outcome.result, "ticket": outcome.ticket.number, "message": outcome.message.pk},
                        status=200 if outcome.result == "duplicate" else 201,
                        json_dumps_params={"ensure_ascii": True}, encoder=json.JSONEncoder)
