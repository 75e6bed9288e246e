"""Back-office Client 360 and global search: thin views over tenant_apps.backoffice.selectors, which decides from
the permission matrix which blocks and figures each reader receives."""
from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.views import View

from tenant_apps.backoffice import selectors
from tenant_apps.backoffice.access import StaffPermissionMixin


class Client360View(StaffPermissionMixin, View):
    """One client on one page; a client outside the reader's scope is a 404, never a confirmation."""

    permission = ("clients", "view")

    def get(self, request, client_id: int):
        record = selectors.client_360(request.user, client_id)
        if record is None:
            raise Http404("No such client.")
        return render(request, "backoffice/client360.html", record)


class SearchView(StaffPermissionMixin, View):
    """Global search: clients by name, e-mail or phone; trading accounts by login; payments by reference."""

    permission = ("clients", "view")

    def get(self, request):
        result = selectors.search(request.user, request.GET.get("q", ""))
        return render(request, "backoffice/search.html", result, status=400 if result["error"] else 200)
