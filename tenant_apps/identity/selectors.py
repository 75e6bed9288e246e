"""Reads on users, their devices and their second factors."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tenant_apps.identity.models import Device, User


def recent_device_change(user: User, within: timedelta = timedelta(days=7)) -> bool:
    """Risk signal: did the user sign in from a device not seen before in the last `within`?

    Read from the database, not the passed instance, so a stale user object never hides a change."""
    return User.objects.filter(pk=user.pk, last_device_change_at__gte=timezone.now() - within).exists()


def totp_enrolled(user: User) -> bool:
    """True when the user has an active authenticator app (allauth.mfa TOTP)."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


def devices_of(user: User) -> list[Device]:
    return list(Device.objects.filter(user=user).order_by("-last_seen"))


# --- staff, teams, roles, tokens -------------------------------------------------------------------

def staff_directory():
    """Staff with their roles and team, and whether they have an authenticator app, for the staff list."""
    from allauth.mfa.models import Authenticator
    from django.db.models import Exists, OuterRef, Prefetch

    from tenant_apps.identity.models import Role, UserKind

    return (User.objects.filter(kind=UserKind.STAFF).select_related("team")
            .prefetch_related(Prefetch("roles", queryset=Role.objects.order_by("name")))
            .annotate(mfa_enrolled=Exists(Authenticator.objects.filter(user=OuterRef("pk"),
                                                                       type=Authenticator.Type.TOTP)))
            .order_by("-is_active", "email"))


def staff_member(user_id) -> User | None:
    try:
        return staff_directory().filter(pk=int(user_id)).first()
    except (TypeError, ValueError, OverflowError):
        return None


def staff_invites_open():
    from tenant_apps.identity.models import StaffInvite

    return (StaffInvite.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True)
            .select_related("team", "created_by").prefetch_related("roles").order_by("-created_at"))


def staff_roles():
    """Roles a staff member can be given: the system staff roles and the brokerage's custom roles."""
    from tenant_apps.identity.models import Role

    return Role.objects.filter(is_staff_role=True).order_by("-is_system", "name")


def teams_all():
    from django.db.models import Count, Q

    from tenant_apps.identity.models import Team

    return Team.objects.annotate(active_members=Count("members", filter=Q(members__is_active=True))).order_by(
        "-is_active", "name")


def teams_active():
    from tenant_apps.identity.models import Team

    return Team.objects.filter(is_active=True).order_by("name")


def role_permission_keys(role) -> list[str]:
    """What a role grants: a system role's column of the matrix, a custom role's stored (known) keys."""
    from tenant_apps.identity.permissions import all_permission_keys, role_grants

    known = all_permission_keys()
    granted = role_grants(role.code) if role.is_system else set(role.permissions or ()) & set(known)
    return [key for key in known if key in granted]  # in the matrix's order


def custom_roles():
    from django.db.models import Count

    from tenant_apps.identity.models import Role

    return Role.objects.filter(is_system=False).annotate(holders=Count("users")).order_by("name")


def api_tokens_of(user: User):
    from django.db.models import F

    from tenant_apps.identity.models import ApiToken

    return ApiToken.objects.filter(user=user).order_by(F("revoked_at").desc(nulls_first=True), "-created_at")
