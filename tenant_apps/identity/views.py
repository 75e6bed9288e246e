"""Back-office pages of staff management (staff, invitations, teams), custom roles and personal API tokens,
mounted under /backoffice/, plus the invitation's accept page. Thin: reads via selectors, writes via services."""
from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.identity import invites, selectors
from tenant_apps.identity.forms import (
    ApiTokenForm,
    CustomRoleForm,
    InviteAcceptForm,
    ReasonForm,
    RolesAndTeamForm,
    StaffInviteForm,
    TeamForm,
    apply_service_errors,
)
from tenant_apps.identity.models import ApiToken, Role, StaffInvite, Team
from tenant_apps.identity.permissions import (
    BY_CODE,
    CAPABILITIES,
    has_perm,
    permission_key,
    user_permission_keys,
)
from tenant_apps.identity.services import (
    role_custom_create,
    role_custom_delete,
    role_custom_update,
    staff_roles_set,
    staff_team_set,
    team_create,
    team_set_active,
    team_update,
    user_deactivate,
    user_reactivate,
)
from tenant_apps.identity.tokens import api_token_create, api_token_revoke


def _staff_or_404(user_id: int):
    member = selectors.staff_member(user_id)
    if member is None:
        raise Http404("No such staff member.")
    return member


# --- staff -------------------------------------------------------------------------------------------

class StaffListView(StaffPermissionMixin, View):
    permission = ("staff", "view")

    def get(self, request):
        return render(request, "identity/staff/list.html", {
            "staff": selectors.staff_directory(), "invites": selectors.staff_invites_open(),
            "can_manage": has_perm(request.user, "staff", "manage"),
        })


def _access_form(member, data=None) -> RolesAndTeamForm:
    initial = {"roles": [r.code for r in member.roles.all()], "team": str(member.team_id or "")}
    return RolesAndTeamForm(data, initial=initial, roles=selectors.staff_roles(), teams=selectors.teams_active())


def staff_detail_page(request, member, *, access_form=None, reason_form=None, status=200):
    return render(request, "identity/staff/detail.html", {
        "member": member, "access_form": access_form or _access_form(member),
        "reason_form": reason_form or ReasonForm(), "can_manage": has_perm(request.user, "staff", "manage"),
        "can_audit": has_perm(request.user, "audit", "view"),
        "permissions": sorted(set().union(*[selectors.role_permission_keys(r) for r in member.roles.all()])),
    }, status=status)


class StaffDetailView(StaffPermissionMixin, View):
    """One staff member; POST assigns roles and team (both or neither)."""

    permission = ("staff", "view")
    write_permission = ("staff", "manage")

    def get(self, request, user_id: int):
        return staff_detail_page(request, _staff_or_404(user_id))

    def post(self, request, user_id: int):
        member = _staff_or_404(user_id)
        form = _access_form(member, request.POST)
        if form.is_valid():
            try:
                with transaction.atomic():
                    reason = form.cleaned_data["reason"]
                    staff_roles_set(user=member, role_codes=form.cleaned_data["roles"], actor=request.user, reason=reason)
                    staff_team_set(user=member, team=form.cleaned_data["team"] or None, actor=request.user,
                                   reason=reason)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Roles and team of %(email)s saved.") % {"email": member.email})
                return redirect("backoffice_staff_detail", user_id=member.pk)
        return staff_detail_page(request, _staff_or_404(user_id), access_form=form, status=400)


class StaffDeactivateView(StaffPermissionMixin, View):
    permission = ("staff", "manage")

    def post(self, request, user_id: int):
        member = _staff_or_404(user_id)
        form = ReasonForm(request.POST)
        if form.is_valid():
            try:
                self.act(member=member, actor=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                apply_service_errors(form, exc, aliases={"user": "reason"})
            else:
                return redirect("backoffice_staff_detail", user_id=member.pk)
        return staff_detail_page(request, member, reason_form=form, status=400)

    def act(self, *, member, actor, reason):
        user_deactivate(user=member, actor=actor, reason=reason)
        messages.success(self.request, _("%(email)s is deactivated; their sessions and API tokens ended.")
                         % {"email": member.email})


class StaffReactivateView(StaffDeactivateView):
    def act(self, *, member, actor, reason):
        user_reactivate(user=member, actor=actor, reason=reason)
        messages.success(self.request, _("%(email)s can sign in again.") % {"email": member.email})


# --- invitations --------------------------------------------------------------------------------------

class StaffInviteView(StaffPermissionMixin, View):
    permission = ("staff", "manage")

    def form(self, data=None) -> StaffInviteForm:
        return StaffInviteForm(data, roles=selectors.staff_roles(), teams=selectors.teams_active())

    def get(self, request):
        return render(request, "identity/staff/invite.html", {"form": self.form()})

    def post(self, request):
        form = self.form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                invite = invites.staff_invite_create(email=data["email"], role_codes=data["roles"],
                                                     team=data["team"] or None, actor=request.user,
                                                     valid_for=timedelta(hours=data["valid_for_hours"]))
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": invite.email})
                return redirect("backoffice_staff")
        return render(request, "identity/staff/invite.html", {"form": form}, status=400)


class StaffInviteActionView(StaffPermissionMixin, View):
    """POST …/revoke/ or …/resend/ on an open invitation."""

    permission = ("staff", "manage")
    verb = "revoke"

    def post(self, request, invite_id: int):
        invite = get_object_or_404(StaffInvite, pk=invite_id)
        try:
            if self.verb == "revoke":
                invites.staff_invite_revoke(invite=invite, actor=request.user)
                messages.success(request, _("The invitation to %(email)s is revoked; its link no longer works.")
                                 % {"email": invite.email})
            else:
                invites.staff_invite_resend(invite=invite, actor=request.user)
                messages.success(request, _("A new link was sent to %(email)s; the previous one no longer works.")
                                 % {"email": invite.email})
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        return redirect("backoffice_staff")


class InviteAcceptView(View):
    """The e-mailed link, on the brokerage's own host: choose a name and password, then you are signed in."""

    template = "identity/staff/invite_accept.html"
    STATUS = {invites.InviteState.UNKNOWN: 404, invites.InviteState.EXPIRED: 410,
              invites.InviteState.REVOKED: 410, invites.InviteState.ACCEPTED: 410}

    def _unusable(self, request, state, invite=None):
        return render(request, "identity/staff/invite_unusable.html", {"state": state.value, "invite": invite},
                      status=self.STATUS[state])

    def _page(self, request, invite, form, status=200):
        return render(request, self.template, {"invite": invite, "form": form,
                                               "roles": invite.roles.order_by("name")}, status=status)

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"  # the link's secret is in this page's address
        return response

    def get(self, request, token: str):
        invite, state = invites.invite_lookup(token)
        if state is not invites.InviteState.USABLE:
            return self._unusable(request, state, invite)
        return self._page(request, invite, InviteAcceptForm())

    def post(self, request, token: str):
        from allauth.account.internal.flows.login import record_authentication
        from allauth.account.utils import perform_login

        invite, state = invites.invite_lookup(token)
        if state is not invites.InviteState.USABLE:
            return self._unusable(request, state, invite)
        if request.user.is_authenticated:
            return self._page(request, invite, InviteAcceptForm(), status=409)
        form = InviteAcceptForm(request.POST)
        if form.is_valid():
            try:
                user = invites.staff_invite_accept(token=token, full_name=form.cleaned_data["full_name"],
                                                   password=form.cleaned_data["password1"])
            except invites.InviteUnusable as exc:
                return self._unusable(request, exc.state, invite)
            except ValidationError as exc:
                apply_service_errors(form, exc, aliases={"password": "password1"})
            else:
                # Through allauth, as a password sign-in: device bookkeeping, session list, MFA set-up if due.
                record_authentication(request, user, method="password", email=user.email)
                return perform_login(request, user, email=user.email, redirect_url=reverse("backoffice_overview"))
        return self._page(request, invite, form, status=400)


# --- teams -------------------------------------------------------------------------------------------

def teams_page(request, *, form=None, failed=None, status=200):
    return render(request, "identity/staff/teams.html", {
        "teams": selectors.teams_all(), "form": form or TeamForm(), "failed": failed or {},
        "can_manage": has_perm(request.user, "staff", "manage"),
    }, status=status)


class TeamsView(StaffPermissionMixin, View):
    permission = ("staff", "view")
    write_permission = ("staff", "manage")

    def get(self, request):
        return teams_page(request)

    def post(self, request):
        form = TeamForm(request.POST)
        if form.is_valid():
            try:
                team = team_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Team %(name)s created.") % {"name": team.name})
                return redirect("backoffice_teams")
        return teams_page(request, form=form, status=400)


class TeamUpdateView(StaffPermissionMixin, View):
    """POST action=rename (name, description), action=deactivate or action=reactivate."""

    permission = ("staff", "manage")

    def post(self, request, team_id: int):
        team = get_object_or_404(Team, pk=team_id)
        action = request.POST.get("action", "rename")
        form = TeamForm(request.POST)
        try:
            if action == "rename":
                if not form.is_valid():
                    raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
                team_update(team=team, actor=request.user, **form.cleaned_data)
            elif action in ("deactivate", "reactivate"):
                team_set_active(team=team, is_active=action == "reactivate", actor=request.user)
            else:
                raise ValidationError({"action": _("Choose rename, deactivate or reactivate.")})
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"team": exc.messages}
            return teams_page(request, failed={"team_id": team.pk, "errors": errors,
                                               "name": request.POST.get("name", team.name),
                                               "description": request.POST.get("description", team.description)},
                              status=400)
        messages.success(request, _("Team %(name)s saved.") % {"name": team.name})
        return redirect("backoffice_teams")


# --- custom roles ------------------------------------------------------------------------------------

def _permission_groups(selected=()) -> list[dict]:
    """The matrix's capabilities with their actions as checkbox rows (what a custom role may hold)."""
    selected = set(selected)
    return [{"capability": c, "actions": [{"key": permission_key(c.code, a), "action": a,
                                           "checked": permission_key(c.code, a) in selected} for a in c.actions]}
            for c in CAPABILITIES]


def role_page(request, *, role=None, form=None, status=200):
    selected = form.data.getlist("permissions") if form is not None and form.is_bound else (
        selectors.role_permission_keys(role) if role else [])
    if form is None and role is not None and not role.is_system:
        form = CustomRoleForm(initial={"name": role.name, "description": role.description})
    return render(request, "identity/roles/form.html", {
        "role": role, "form": form or CustomRoleForm(), "groups": _permission_groups(selected),
        "can_manage": has_perm(request.user, "roles", "manage"),
        "holders": role.users.order_by("email") if role is not None else [],
    }, status=status)


class RoleCreateView(StaffPermissionMixin, View):
    permission = ("roles", "manage")

    def get(self, request):
        return role_page(request)

    def post(self, request):
        form = CustomRoleForm(request.POST)
        if form.is_valid():
            try:
                role = role_custom_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Role %(name)s created.") % {"name": role.name})
                return redirect("backoffice_permissions")
        return role_page(request, form=form, status=400)


class RoleDetailView(StaffPermissionMixin, View):
    """A role's grants (system roles read-only); POST edits a custom role."""

    permission = ("roles", "view")
    write_permission = ("roles", "manage")

    def get(self, request, role_id: int):
        return role_page(request, role=get_object_or_404(Role, pk=role_id))

    def post(self, request, role_id: int):
        role = get_object_or_404(Role, pk=role_id)
        form = CustomRoleForm(request.POST)
        if form.is_valid():
            try:
                role_custom_update(role=role, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc, aliases={"role": "__all__"})
            else:
                messages.success(request, _("Role %(name)s saved.") % {"name": role.name})
                return redirect("backoffice_role", role_id=role.pk)
        return role_page(request, role=role, form=form, status=400)


class RoleDeleteView(StaffPermissionMixin, View):
    permission = ("roles", "manage")

    def post(self, request, role_id: int):
        role = get_object_or_404(Role, pk=role_id)
        try:
            role_custom_delete(role=role, actor=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("backoffice_role", role_id=role.pk)
        messages.success(request, _("Role %(name)s deleted.") % {"name": role.name})
        return redirect("backoffice_permissions")


# --- personal API tokens -----------------------------------------------------------------------------

def tokens_page(request, *, form=None, minted=None, status=200):
    held = user_permission_keys(request.user)
    response = render(request, "identity/api_tokens.html", {
        "tokens": selectors.api_tokens_of(request.user), "form": form or ApiTokenForm(held=held),
        "minted": minted, "capability_labels": {c.code: c.label for c in BY_CODE.values()},
    }, status=status)
    response["Cache-Control"] = "no-store"  # the page that shows a new secret must not be kept anywhere
    return response


class ApiTokensView(StaffPermissionMixin, View):
    permission = ("api_tokens", "manage")

    def get(self, request):
        return tokens_page(request)

    def post(self, request):
        form = ApiTokenForm(request.POST, held=user_permission_keys(request.user))
        if form.is_valid():
            try:
                minted = api_token_create(user=request.user, name=form.cleaned_data["name"],
                                          scopes=form.cleaned_data["scopes"], expires_at=form.expires_at())
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                # Shown on this response only (no redirect: the secret never sits in the session or a URL).
                return tokens_page(request, minted=minted)
        return tokens_page(request, form=form, status=400)


class ApiTokenRevokeView(StaffPermissionMixin, View):
    permission = ("api_tokens", "manage")

    def post(self, request, token_id: int):
        token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
        try:
            api_token_revoke(token=token, actor=request.user)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
        return redirect("backoffice_api_tokens")
