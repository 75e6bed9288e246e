"""Notification pages: the Trader's Room list (/notifications/) and the back office's (/backoffice/notifications/).
Both show only the signed-in user's own notifications; opening one marks it read and goes to the thing it is about."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.identity.models import UserKind
from tenant_apps.notifications import selectors, services
from tenant_apps.notifications.errors import NotificationError
from tenant_apps.notifications.models import Category, Channel, Notification


def _safe_link(request, link: str, fallback: str) -> str:
    """A notification's link is one of our own paths; anything else falls back to the list."""
    if link and link.startswith("/") and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return link
    return fallback


def _choices_from(post) -> dict[tuple[str, str], bool]:
    """Every (category, channel) the form shows, on when its checkbox was sent (locked ones stay on)."""
    return {(category, channel): f"{category}.{channel}" in post for category in Category.values
            for channel in Channel.values
            if not (channel == Channel.IN_APP and category in services.kinds.ALWAYS_IN_APP)}


def _list_context(user) -> dict:
    return {"notifications": selectors.notifications_for(user=user), "unread": selectors.unread_count(user=user),
            "preferences": selectors.preferences_table(user=user)}


def _post(request, *, list_url: str):
    action = request.POST.get("action", "")
    if action == "read_all":
        services.notifications_mark_all_read(user=request.user)
        return redirect(list_url)
    if action == "preferences":
        try:
            services.preferences_set(user=request.user, choices=_choices_from(request.POST))
        except NotificationError as exc:
            messages.error(request, exc.message)
            return None
        messages.success(request, _("Your notification choices are saved."))
        return redirect(list_url + "#preferences")
    messages.error(request, _("Choose what to do: mark all as read, or save your choices."))
    return None


def _open(request, pk: int, *, list_url: str):
    try:
        notification = services.notification_mark_read(user=request.user, notification_id=pk)
    except Notification.DoesNotExist:
        raise Http404 from None
    return redirect(_safe_link(request, notification.link, list_url))


def portal_only(view):
    """Clients and IBs; staff have the same list in the back office."""
    @login_required
    def wrapped(request, *args, **kwargs):
        if request.user.kind == UserKind.STAFF:
            return redirect("backoffice_notifications")
        return view(request, *args, **kwargs)
    wrapped.__name__ = view.__name__
    return wrapped


@portal_only
def portal_list(request):
    status = 200
    if request.method == "POST":
        response = _post(request, list_url="/notifications/")
        if response is not None:
            return response
        status = 400
    return render(request, "notifications/list.html", _list_context(request.user), status=status)


@portal_only
def portal_open(request, pk: int):
    if request.method != "POST":
        return redirect("portal_notifications")
    return _open(request, pk, list_url="/notifications/")


class BackofficeListView(StaffPermissionMixin, View):
    permission = ("notifications", "view")

    def get(self, request):
        return render(request, "notifications/bo_list.html", _list_context(request.user))

    def post(self, request):
        response = _post(request, list_url="/backoffice/notifications/")
        if response is not None:
            return response
        return render(request, "notifications/bo_list.html", _list_context(request.user), status=400)


class BackofficeOpenView(StaffPermissionMixin, View):
    permission = ("notifications", "view")

    def post(self, request, pk: int):
        return _open(request, pk, list_url="/backoffice/notifications/")
