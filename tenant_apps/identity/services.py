"""Writes on users, roles, their devices and sessions: provisioning's staff, sign-in bookkeeping, deactivation."""
from __future__ import annotations

import logging
from datetime import datetime
from importlib import import_module
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tenancy.context import require_tenant
from tenant_apps.identity.devices import new_device_id, user_agent_summary
from tenant_apps.identity.models import Device, Role, Team, User, UserKind
from tenant_apps.identity.roles import DEFAULT_ROLES

log = logging.getLogger(__name__)


@transaction.atomic
def roles_create_defaults() -> list[Role]:
    """The system roles, created or refreshed in one statement (upsert on the role code)."""
    require_tenant()
    Role.objects.bulk_create(
        [Role(code=spec["code"], name=spec["name"], description=spec["description"], is_system=True,
              is_staff_role=spec.get("is_staff_role", True)) for spec in DEFAULT_ROLES],
        update_conflicts=True, unique_fields=["code"], update_fields=["name", "description", "is_system", "is_staff_role"],
    )
    return list(Role.objects.filter(code__in=[spec["code"] for spec in DEFAULT_ROLES]))


@transaction.atomic
def staff_user_create(*, email: str, full_name: str = "", password: str | None = None, role_codes: list[str],
                      language: str = "", actor=None) -> tuple[User, bool]:
    """Create (or return) a staff user with the given roles and a verified e-mail. Returns (user, created).
    Audited as done by `actor` (None: the platform, e.g. provisioning's first Super Admin)."""
    from allauth.account.models import EmailAddress

    from tenant_apps.audit.services import audit_record

    require_tenant()
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User(email=email, full_name=full_name, kind=UserKind.STAFF, language=language)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        roles_before: list[str] = []
    else:
        roles_before = sorted(user.roles.values_list("code", flat=True))
    granted = list(Role.objects.filter(code__in=role_codes))
    user.roles.add(*granted)
    if created:
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    else:
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    roles_after = sorted(set(roles_before) | {r.code for r in granted})
    if created:
        changes = {"email": [None, email], "kind": [None, UserKind.STAFF.value], "roles": [[], roles_after],
                   "password": [None, "set" if password else "invite pending"]}
        if full_name:
            changes["full_name"] = [None, full_name]
        audit_record(action="staff.created", obj=user, actor=actor, changes=changes)
    elif roles_after != roles_before:
        audit_record(action="staff.roles_changed", obj=user, actor=actor, changes={"roles": [roles_before, roles_after]})
    return user, created


def invite_path(user: User) -> str:
    """A one-time 'set your password' path (allauth's reset-from-key; void once the password is set)."""
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    key = default_token_generator.make_token(user)
    return reverse("account_reset_password_from_key", urlconf="platform_core.urls_tenant",
                   kwargs={"uidb36": user_pk_to_url_str(user), "key": key})


# --- devices ---------------------------------------------------------------------------------------

def device_sign_in_record(*, user: User, device_id: str | None, user_agent: str, ip: str | None,
                          sessions_url: str = "") -> tuple[Device, bool]:
    """Book a completed sign-in against the browser's device id (None: the browser presented no valid one).

    Returns (device, is_new). A device the user has not used before sets `last_device_change_at` and sends
    the user an e-mail after commit, unless it is the user's very first device (a new account is not a
    device *change*, and every fresh client would otherwise look risky for a week).
    """
    require_tenant()
    now = timezone.now()
    summary = user_agent_summary(user_agent)
    with transaction.atomic():
        device, is_new = Device.objects.get_or_create(
            user=user, device_id=device_id or new_device_id(),
            defaults={"user_agent": summary, "first_seen": now, "last_seen": now, "last_ip": ip or None},
        )
        if not is_new:
            Device.objects.filter(pk=device.pk).update(last_seen=now, last_ip=ip or None, user_agent=summary)
            return device, False
        if not Device.objects.filter(user=user).exclude(pk=device.pk).exists():
            return device, True
        User.objects.filter(pk=user.pk).update(last_device_change_at=now)
        user.last_device_change_at = now
        message = _new_device_email(user=user, device=device, when=now, sessions_url=sessions_url)
        transaction.on_commit(message.send)
    log.info("new device for user %s: %s from %s", user.pk, summary, ip)
    return device, True


def _new_device_email(*, user: User, device: Device, when: datetime, sessions_url: str) -> EmailMultiAlternatives:
    """Rendered now (inside the request and the brokerage's schema), sent after commit."""
    from themes.selectors import theme_current

    brokerage = require_tenant()
    try:
        zone = ZoneInfo(getattr(brokerage, "timezone", "") or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    context = {
        "user": user, "device": device, "portal_name": theme_current().portal_name,
        "when": timezone.localtime(when, zone), "zone": zone.key, "sessions_url": sessions_url,
    }
    subject = " ".join(render_to_string("identity/email/new_device_subject.txt", context).split())
    body = render_to_string("identity/email/new_device_message.txt", context)
    return EmailMultiAlternatives(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email])


# --- sessions and deactivation ---------------------------------------------------------------------

def user_sessions_end(*, user: User, keep_session_key: str | None = None) -> int:
    """End every session of the user (except `keep_session_key`) at once; returns how many ended.

    allauth's UserSession rows name the sessions signed in through allauth; sessions made any other way
    (an operator's tooling, a test's force_login) are found by reading the session table itself.
    """
    from allauth.usersessions.models import UserSession

    require_tenant()
    ended: set[str] = set()
    for user_session in UserSession.objects.filter(user_id=user.pk).exclude(session_key=keep_session_key or ""):
        ended.add(user_session.session_key)
        user_session.end()
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    get_model = getattr(store_class, "get_model_class", None)
    if get_model is not None:  # database-backed sessions: the table can be searched
        model = get_model()
        stale = []
        for session in model.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500):
            if session.session_key == keep_session_key:
                continue
            if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
                stale.append(session.session_key)
        if stale:
            model.objects.filter(session_key__in=stale).delete()
            ended.update(stale)
    return len(ended)


@transaction.atomic
def user_deactivate(*, user: User, actor: User | None, reason: str) -> User:
    """Switch a user off: no new sign-in, and every open session ends now (the next request is anonymous).

    `actor` None is the platform itself (a worker, a command). A person may not deactivate themselves."""
    from tenant_apps.audit.services import audit_record

    require_tenant()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this user is being deactivated."})
    if actor is not None and actor.pk == user.pk:
        raise ValidationError({"user": "You cannot deactivate your own account."})
    _deactivation_permission_check(actor=actor, user=user)
    was_active = user.is_active
    user.is_active = False
    user.save(update_fields=["is_active"])
    sessions = user_sessions_end(user=user)
    # Their API tokens die with the sessions (a later reactivation does not bring them back).
    from tenant_apps.identity.tokens import api_tokens_revoke_all

    revoked_tokens = api_tokens_revoke_all(user=user)
    # Deactivating an inactive user again still ends any session it had; the entry then records no change.
    changes = {"is_active": [True, False]} if was_active else {}
    if revoked_tokens:
        changes["api_tokens"] = [revoked_tokens, []]
    audit_record(action="user.deactivate", obj=user, changes=changes, reason=reason, actor=actor)
    log.info("user %s deactivated in %s; %d sessions ended", user.pk, connection.schema_name, sessions)
    return user


def _deactivation_permission_check(*, actor: User | None, user: User) -> None:
    """Staff accounts are managed by whoever holds staff:manage; clients and IBs by clients:deactivate."""
    from tenant_apps.identity.permissions import permission_require

    if actor is None:
        return
    capability, action = ("staff", "manage") if user.kind == UserKind.STAFF else ("clients", "deactivate")
    permission_require(actor, capability, action)


@transaction.atomic
def user_reactivate(*, user: User, actor: User | None, reason: str) -> User:
    """Let a deactivated user sign in again (their API tokens stay revoked: they mint new ones)."""
    from tenant_apps.audit.services import audit_record

    require_tenant()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this user is being reactivated."})
    _deactivation_permission_check(actor=actor, user=user)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        raise ValidationError({"user": "This account is already active."})
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(action="user.reactivate", obj=user, changes={"is_active": [False, True]}, reason=reason, actor=actor)
    return user


# --- staff: roles and teams ------------------------------------------------------------------------

def _staff_target(user: User) -> None:
    if user.kind != UserKind.STAFF:
        raise ValidationError({"user": "Only staff accounts have back-office roles and teams."})


def staff_roles_for(role_codes) -> list[Role]:
    """The staff roles named by `role_codes` (system or custom), or a field error naming what is wrong."""
    if isinstance(role_codes, str) or not all(isinstance(c, str) for c in role_codes or ()):
        raise ValidationError({"roles": "Give the roles as a list of role codes."})
    codes = sorted(set(role_codes or ()))
    if not codes:
        raise ValidationError({"roles": "Choose at least one role."})
    roles = list(Role.objects.filter(code__in=codes, is_staff_role=True))
    unknown = sorted(set(codes) - {r.code for r in roles})
    if unknown:
        raise ValidationError({"roles": f"Not a staff role of this brokerage: {', '.join(unknown)}."})
    return roles


def team_for(team) -> Team | None:
    """An active team given as a Team, an id or None; a field error otherwise."""
    if team in (None, ""):
        return None
    team_id = team.pk if isinstance(team, Team) else team
    try:
        found = Team.objects.filter(pk=int(team_id), is_active=True).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise ValidationError({"team": "Choose an active team of this brokerage."})
    return found


@transaction.atomic
def staff_roles_set(*, user: User, role_codes, actor: User | None, reason: str = "") -> User:
    """Replace a staff member's roles. Audited with the old and new role codes."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.identity.permissions import permission_require

    require_tenant()
    permission_require(actor, "staff", "manage")
    _staff_target(user)
    roles = staff_roles_for(role_codes)
    before = sorted(user.roles.values_list("code", flat=True))
    after = sorted(r.code for r in roles)
    if actor is not None and actor.pk == user.pk and "super_admin" in before and "super_admin" not in after:
        raise ValidationError({"roles": "You cannot remove your own Super Admin role; ask another Super Admin."})
    if before == after:
        return user
    user.roles.set(roles)
    user.__dict__.pop("_brokeros_perms", None)
    audit_record(action="staff.roles_changed", obj=user, actor=actor, changes={"roles": [before, after]},
                 reason=(reason or "").strip())
    return user


@transaction.atomic
def staff_team_set(*, user: User, team, actor: User | None, reason: str = "") -> User:
    """Move a staff member to a team (or none). Audited with the old and new team names."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.identity.permissions import permission_require

    require_tenant()
    permission_require(actor, "staff", "manage")
    _staff_target(user)
    new = team_for(team)
    old = user.team
    if (old.pk if old else None) == (new.pk if new else None):
        return user
    user.team = new
    user.save(update_fields=["team"])
    audit_record(action="staff.team_changed", obj=user, actor=actor,
                 changes={"team": [old.name if old else None, new.name if new else None]},
                 reason=(reason or "").strip())
    return user


def _named_fields(model, noun: str, *, name: str, description: str,
                  exclude_pk: int | None = None) -> tuple[str, str]:
    """Name (unique, case-insensitive, ≤ 80) and description (≤ 300) of a team or role, all errors at once."""
    name, description = (name or "").strip(), (description or "").strip()
    errors = {}
    if not name:
        errors["name"] = f"Give the {noun} a name."
    elif len(name) > 80:
        errors["name"] = "At most 80 characters."
    elif model.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        errors["name"] = f"Another {noun} already has this name."
    if len(description) > 300:
        errors["description"] = "At most 300 characters."
    for field, value in (("name", name), ("description", description)):
        if "\x00" in value:
            errors[field] = "Null characters are not allowed."
    if errors:
        raise ValidationError(errors)
    return name, description


def _team_fields(*, name: str, description: str, exclude_pk: int | None = None) -> tuple[str, str]:
    return _named_fields(Team, "team", name=name, description=description, exclude_pk=exclude_pk)


@transaction.atomic
def team_create(*, name: str, description: str = "", actor: User | None) -> Team:
    from tenant_apps.audit.services import audit_record
    from tenant_apps.identity.permissions import permission_require

    require_tenant()
    permission_require(actor, "staff", "manage")
    name, description = _team_fields(name=name, description=description)
    team = Team.objects.create(name=name, description=description)
    audit_record(action="team.created", obj=team, actor=actor,
                 changes={"name": [None, name], "description": [None, description]})
    return team


@transaction.atomic
def team_update(*, team: Team, name: str, description: str = "", actor: User | None) -> Team:
    """Rename a team or change its description."""
    from tenant_apps.audit.services import audit_record, diff_fields
    from tenant_apps.identity.permissions import permission_require

    require_tenant()
    permission_require(actor, "staff", "manage")
    name, description = _team_fields(name=name, description=description, exclude_pk=team.pk)
    changes = diff_fields(team, {"name": name, "description": description}, ("name", "description"))
    if not changes:
        return team
    team.name, team.description = name, description
    team.save(update_fields=["name", "description"])
    audit_record(action="team.updated", obj=team, actor=actor, changes=changes)
    return team


@transaction.atomic
def team_set_active(*, team: Team, is_active: bool, actor: User | None, reason: str = "") -> Team:
    """Deactivate (only once no active staff member is in it: move them first) or reactivate a team."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.identity.permissions import permission_require

    require_tenant()
    permission_require(actor, "staff", "manage")
    team = Team.objects.select_for_update().get(pk=team.pk)
    if team.is_active == is_active:
        raise ValidationError({"team": "This team is already active." if is_active else "This team is already deactivated."})
    if not is_active:
        members = User.objects.filter(team=team, is_active=True).count()
        if members:
            raise ValidationError({"team": f"{members} active staff member(s) are in this team: move them to "
                                           f"another team first."})
    team.is_active = is_active
    team.save(update_fields=["is_active"])
    audit_record(action="team.reactivated" if is_active else "team.deactivated", obj=team, actor=actor,
                 changes={"is_active": [not is_active, is_active]}, reason=(reason or "").strip())
    return team


# --- custom roles ----------------------------------------------------------------------------------

# Combinations no single custom role may hold: the maker of a request cannot be its checker.
ROLE_CONFLICTS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"kyc:decide", "payments:approve"}),
     "A role cannot both decide KYC cases (kyc:decide) and approve payments (payments:approve): the maker of a "
     "request cannot be its checker. Put these permissions in two different roles."),
)


def role_permissions_clean(permissions) -> list[str]:
    """Known permission keys, sorted, with the segregation-of-duties rule applied; field errors otherwise."""
    from tenant_apps.identity.permissions import all_permission_keys

    if isinstance(permissions, str) or not all(isinstance(p, str) for p in permissions or ()):
        raise ValidationError({"permissions": "Give the permissions as a list of keys such as 'clients:view'."})
    keys = sorted(set(permissions or ()))
    if not keys:
        raise ValidationError({"permissions": "Choose at least one permission."})
    unknown = [k for k in keys if k not in set(all_permission_keys())]
    if unknown:
        raise ValidationError({"permissions": f"Unknown permission: {', '.join(unknown)}."})
    for combination, message in ROLE_CONFLICTS:
        if combination <= set(keys):
            raise ValidationError({"permissions": message}, code="segregation_of_duties")
    return keys


def _role_fields(*, name: str, description: str, exclude_pk: int | None = None) -> tuple[str, str]:
    return _named_fields(Role, "role", name=name, description=description, exclude_pk=exclude_pk)


def _role_code_for(name: str) -> str:
    from django.utils.text import slugify

    base = (slugify(name) or "role")[:32]
    code, n = base, 2
    while Role.objects.filter(code=code).exists():
        code, n = f"{base}-{n}", n + 1
    return code


def _all_errors(*checks) -> None:
    """Run every check (callables raising ValidationError) and raise all their field errors together."""
    errors: dict[str, list[str]] = {}
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def role_custom_create(*, name: str, description: str = "", permissions, actor: User | None) -> Role:
    """A brokerage's own role: a named subset of the matrix's permissions. Audited with its permission list."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.identity.permissions import permission_require

    require_tenant()
    permission_require(actor, "roles", "manage")
    result = {}
    _all_errors(lambda: result.update(fields=_role_fields(name=name, description=description)),
                lambda: result.update(keys=role_permissions_clean(permissions)))
    (name, description), keys = result["fields"], result["keys"]
    role = Role.objects.create(code=_role_code_for(name), name=name, description=description, is_system=False,
                               is_staff_role=True, permissions=keys)
    audit_record(action="role.created", obj=role, actor=actor,
                 changes={"name": [None, name], "description": [None, description], "permissions": [[], keys]})
    return role


@transaction.atomic
def role_custom_update(*, role: Role, name: str, description: str = "", permissions, actor: User | None) -> Role:
    """Change a custom role; everyone holding it has the new permissions on their next request."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.identity.permissions import permission_require

    require_tenant()
    permission_require(actor, "roles", "manage")
    role = Role.objects.select_for_update().get(pk=role.pk)
    if role.is_system:
        raise ValidationError({"role": "System roles come from the permission matrix and cannot be changed."})
    result = {}
    _all_errors(lambda: result.update(fields=_role_fields(name=name, description=description, exclude_pk=role.pk)),
                lambda: result.update(keys=role_permissions_clean(permissions)))
    (name, description), keys = result["fields"], result["keys"]
    changes = {}
    for field, old, new in (("name", role.name, name), ("description", role.description, description),
                            ("permissions", sorted(role.permissions or []), keys)):
        if old != new:
            changes[field] = [old, new]
    if not changes:
        return role
    role.name, role.description, role.permissions = name, description, keys
    role.save(update_fields=["name", "description", "permissions"])
    audit_record(action="role.updated", obj=role, actor=actor, changes=changes)
    return role


@transaction.atomic
def role_custom_delete(*, role: Role, actor: User | None) -> None:
    """Delete a custom role nobody holds (and no open invitation offers)."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.identity.permissions import permission_require

    require_tenant()
    permission_require(actor, "roles", "manage")
    role = Role.objects.select_for_update().get(pk=role.pk)
    if role.is_system:
        raise ValidationError({"role": "System roles cannot be deleted."})
    holders = role.users.count()
    if holders:
        raise ValidationError({"role": f"{holders} user(s) hold this role: take it away from them first."})
    if role.invites.filter(accepted_at__isnull=True, revoked_at__isnull=True).exists():
        raise ValidationError({"role": "An open staff invitation offers this role: revoke it first."})
    snapshot = {"code": role.code, "name": role.name, "permissions": sorted(role.permissions or [])}
    pk = role.pk
    role.delete()
    audit_record(action="role.deleted", object_type="identity.role", object_id=pk, actor=actor,
                 changes={k: [v, None] for k, v in snapshot.items()})
