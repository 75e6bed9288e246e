"""Trading pages: the Trader's Room accounts page (client) and the back-office account list/detail (staff)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.brokerage.models import AccountType
from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import has_perm
from tenant_apps.trading import selectors, services
from tenant_apps.trading.api import account_types_offered
from tenant_apps.trading.errors import TradingError
from tenant_apps.trading.models import AccountStatus, TradingAccount


class ClientRequiredMixin(AccessMixin):
    """A signed-in client of this brokerage; staff are sent to the back office."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.user.kind != UserKind.CLIENT:
            return redirect("backoffice_overview") if request.user.kind == UserKind.STAFF else \
                render(request, "backoffice/forbidden.html", {}, status=403)
        return super().dispatch(request, *args, **kwargs)


class PortalAccountsView(ClientRequiredMixin, View):
    """All the client's accounts with a switcher (?account=<id>), open demo/live, leverage, archive, password."""

    def get(self, request):
        summaries = selectors.client_account_summaries(request.user)
        selected = next((s for s in summaries if str(s.id) == request.GET.get("account")), summaries[0] if summaries else None)
        context = {"summaries": summaries, "selected": selected, "account_types": account_types_offered(request.user),
                   "polling": any(s.status == "pending" for s in summaries)}
        if request.headers.get("HX-Request"):  # the periodic refresh while an account is being created
            return render(request, "trading/_accounts.html", context)
        return render(request, "trading/portal_accounts.html", {
            **context, "downloads": selectors.download_links(),
            "password": request.session.pop("trading_password", None),
        })

    def post(self, request):
        action = request.POST.get("action", "")
        try:
            if action == "open":
                account_type = AccountType.objects.select_related("legal_entity").get(
                    code=request.POST.get("account_type", ""), is_active=True)
                opener = services.trading_account_open_demo if account_type.is_demo else services.trading_account_request_live
                leverage = int(request.POST["leverage"]) if request.POST.get("leverage") else None
                account = opener(client=request.user, account_type=account_type, leverage=leverage, actor=request.user)
                messages.success(request, _("Your account is ready.") if account.status == AccountStatus.ACTIVE
                                 else _("Your account is being created; this page shows its progress."))
                return redirect(f"{request.path}?account={account.pk}")
            account = selectors.client_account(request.user, int(request.POST.get("account_id", 0)))
            if action == "leverage":
                lev = services.leverage_change_request(client=request.user, account_id=account.pk,
                                                       leverage=int(request.POST.get("leverage", 0)))
                messages.success(request, lev.get_state_display())
            elif action == "archive":
                services.trading_account_archive(account_id=account.pk, actor=request.user, client=request.user,
                                                 reason="closed by the client")
            elif action == "password":
                request.session["trading_password"] = {
                    "login": account.login,
                    "password": services.trading_account_credentials_reveal(client=request.user, account_id=account.pk)}
            return redirect(f"{request.path}?account={account.pk}")
        except TradingError as exc:
            messages.error(request, exc.message)
        except (TradingAccount.DoesNotExist, AccountType.DoesNotExist, ValueError):
            messages.error(request, _("That account or account type does not exist."))
        return redirect(request.path)


def _visible_accounts(user):
    return selectors.accounts_visible_to(user)


class BackofficeAccountListView(StaffPermissionMixin, View):
    permission = ("trading", "view")

    def get(self, request):
        page = selectors.accounts_for_staff(status=request.GET.get("status") or None,
                                            query=(request.GET.get("q") or "").strip()[:40],
                                            page=request.GET.get("page") or 1, visible=_visible_accounts(request.user))
        return render(request, "trading/backoffice_list.html", {
            "page": page, "statuses": AccountStatus.choices, "sync": selectors.sync_states(),
            "drift": selectors.open_drift_reports(), "leverage_queue": selectors.pending_leverage_requests(),
            "show_money": has_perm(request.user, "clients.finance", "view"),
        })


class BackofficeAccountDetailView(StaffPermissionMixin, View):
    permission = ("trading", "view")
    write_permission = ("trading", "manage")

    def _account(self, request, account_id: int) -> TradingAccount:
        if not _visible_accounts(request.user).filter(pk=account_id).exists():
            raise Http404("No such account.")
        return selectors.account_for_staff(account_id)

    def get(self, request, account_id: int):
        account = self._account(request, account_id)
        return render(request, "trading/backoffice_detail.html", {
            "account": account,
            "positions": selectors.account_positions(account, page=request.GET.get("ppage") or 1),
            "deals": selectors.account_deals(account, page=request.GET.get("dpage") or 1),
            "drift": account.drift_reports.filter(resolved=False), "show_money": has_perm(request.user, "clients.finance", "view"),
            "can_manage": has_perm(request.user, "trading", "manage"),
        })

    def post(self, request, account_id: int):
        account = self._account(request, account_id)
        action, reason = request.POST.get("action", ""), (request.POST.get("reason") or "").strip()[:300]
        try:
            if action in ("block", "unblock"):
                services.trading_account_set_blocked(account_id=account.pk, blocked=action == "block",
                                                     actor=request.user, reason=reason)
            elif action == "leverage":
                services.trading_account_change_leverage(account_id=account.pk, leverage=int(request.POST["leverage"]),
                                                         actor=request.user, reason=reason)
            elif action == "group":
                services.trading_account_change_group(account_id=account.pk, group=request.POST["group"][:120],
                                                      actor=request.user, reason=reason)
            elif action == "archive":
                services.trading_account_archive(account_id=account.pk, actor=request.user, reason=reason)
            else:
                messages.error(request, _("Unknown action."))
        except TradingError as exc:
            messages.error(request, exc.message)
        except (KeyError, ValueError):
            messages.error(request, _("Give a value."))
        return redirect("backoffice_trading_account", account_id=account.pk)


class BackofficeLeverageDecideView(StaffPermissionMixin, View):
    permission = ("trading", "manage")

    def post(self, request, request_id: int):
        try:
            services.leverage_request_decide(request_id=request_id, approve=request.POST.get("decision") == "approve",
                                             actor=request.user, reason=(request.POST.get("reason") or "")[:300])
        except TradingError as exc:
            messages.error(request, exc.message)
        except Exception as exc:  # noqa: BLE001 — an unknown id
            if exc.__class__.__name__ != "DoesNotExist":
                raise
            raise Http404("No such request.") from exc
        return redirect("backoffice_trading")
