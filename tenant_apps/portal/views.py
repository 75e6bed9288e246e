"""Trader's Room entry: the landing page or the client's dashboard, its live figures, and the installable-app files."""
import json

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from tenant_apps.brokerage.models import AccountType
from tenant_apps.identity.models import UserKind
from tenant_apps.portal import pwa, selectors


def home(request):
    user = request.user
    if user.is_authenticated and user.kind == UserKind.STAFF:
        return redirect("backoffice_overview")
    if user.is_authenticated and user.kind == UserKind.CLIENT:
        return render(request, "portal/dashboard.html",
                      selectors.client_dashboard(client=user, selected=request.GET.get("account")))
    return render(request, "portal/home.html", {
        "account_types": AccountType.objects.filter(is_active=True, is_demo=False),
    })


@require_GET
def dashboard_live(request):
    """The account figures of the dashboard, live from the trading platform (htmx polls this every few seconds)."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if user.kind != UserKind.CLIENT:
        return redirect("backoffice_overview") if user.kind == UserKind.STAFF else \
            render(request, "backoffice/forbidden.html", {}, status=403)
    accounts = selectors.dashboard_accounts(client=user, live=True)
    return render(request, "portal/_dashboard_accounts.html", {
        "accounts": accounts, "selected": selectors.selected_account(accounts, request.GET.get("account")),
    })


def _tenant_only(request) -> None:
    if getattr(request, "tenant", None) is None or request.tenant.kind != "brokerage":
        raise Http404("No such file.")


@require_GET
def web_manifest(request):
    from themes.selectors import theme_current

    _tenant_only(request)
    theme = theme_current()
    manifest = pwa.web_manifest(theme=theme, icon_url=lambda size: f"{reverse('portal_pwa_icon', args=[size])}"
                                                                   f"?v={theme.version}")
    response = HttpResponse(json.dumps(manifest, ensure_ascii=False), content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"  # the name and colours change with the branding
    return response


@require_GET
def pwa_icon(request, size: int):
    from themes.selectors import theme_current

    _tenant_only(request)
    if size not in pwa.SERVED_SIZES:
        raise Http404("No icon of that size.")
    response = HttpResponse(pwa.icon_png(theme=theme_current(), size=size), content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=86400" if request.GET.get("v") else "no-cache"
    return response
