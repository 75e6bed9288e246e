"""Trader's Room entry: the landing page, or the right home for whoever is signed in."""
from django.shortcuts import redirect, render

from tenant_apps.brokerage.models import AccountType
from tenant_apps.identity.models import UserKind


def home(request):
    user = request.user
    if user.is_authenticated and user.kind == UserKind.STAFF:
        return redirect("backoffice_overview")
    if user.is_authenticated and user.kind == UserKind.CLIENT:
        from tenant_apps.crm.selectors import client_next_step
        from tenant_apps.payments.selectors import wallet_balances
        from tenant_apps.trading.selectors import client_account_summaries, download_links

        return render(request, "portal/dashboard.html", {
            "next_step": client_next_step(user), "wallets": wallet_balances(client=user),
            "accounts": client_account_summaries(user), "downloads": download_links(),
        })
    return render(request, "portal/home.html", {
        "account_types": AccountType.objects.filter(is_active=True, is_demo=False),
    })
