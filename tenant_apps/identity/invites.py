"""Staff invitations: invite by e-mail with an expiring one-time link, resend, revoke, and accept.

The link's secret is e-mailed and never stored: the invite keeps its SHA-256, so a copy of the database
opens no account. Every step is audited.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tenancy.context import require_tenant
from tenant_apps.identity.models import Role, StaffInvite, Team, User, UserKind
from tenant_apps.identity.permissions import permission_require
from tenant_apps.identity.services import staff_roles_for, team_for

log = logging.getLogger(__name__)

DEFAULT_VALID_FOR = timedelta(hours=72)
MIN_VALID_FOR, MAX_VALID_FOR = timedelta(hours=1), timedelta(days=30)


def invite_valid_for_default() -> timedelta:
    """How long a new link works: settings.STAFF_INVITE_VALID_FOR (a timedelta) or 72 hours."""
    return getattr(settings, "STAFF_INVITE_VALID_FOR", DEFAULT_VALID_FOR)


class InviteState(StrEnum):
    USABLE = "usable"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    ACCEPTED = "accepted"


class InviteUnusable(Exception):
    def __init__(self, state: InviteState):
        super().__init__(state.value)
        self.state = state


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_lookup(token: str) -> tuple[StaffInvite | None, InviteState]:
    """The invite a link's token belongs to and what can be done with it."""
    require_tenant()
    if not token or len(token) > 128 or not token.isascii():
        return None, InviteState.UNKNOWN
    invite = StaffInvite.objects.filter(token_hash=_hash(token)).select_related("team", "created_by").first()
    if invite is None:
        return None, InviteState.UNKNOWN
    if invite.accepted_at is not None:
        return invite, InviteState.ACCEPTED
    if invite.revoked_at is not None:
        return invite, InviteState.REVOKED
    if invite.expires_at <= timezone.now():
        return invite, InviteState.EXPIRED
    return invite, InviteState.USABLE


def _valid_for(valid_for: timedelta | None) -> timedelta:
    valid_for = invite_valid_for_default() if valid_for is None else valid_for
    if not MIN_VALID_FOR <= valid_for <= MAX_VALID_FOR:
        raise ValidationError({"valid_for_hours": "An invitation link works for between 1 hour and 30 days."})
    return valid_for


def _accept_url(token: str) -> str:
    path = reverse("backoffice_invite_accept", kwargs={"token": token}, urlconf="platform_core.urls_tenant")
    return require_tenant().portal_url(path)


def _invite_email(*, invite: StaffInvite, token: str) -> EmailMultiAlternatives:
    """Rendered now (inside the brokerage's schema), sent after commit."""
    from themes.selectors import theme_current

    context = {
        "invite": invite, "portal_name": theme_current().portal_name, "accept_url": _accept_url(token),
        "roles": [r.name for r in invite.roles.order_by("name")], "inviter": invite.created_by,
        "expires_at": invite.expires_at,
    }
    subject = " ".join(render_to_string("identity/email/staff_invite_subject.txt", context).split())
    body = render_to_string("identity/email/staff_invite_message.txt", context)
    return EmailMultiAlternatives(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[invite.email])


def _send_after_commit(message: EmailMultiAlternatives, invite_id: int) -> None:
    def send(message=message, invite_id=invite_id):
        try:
            message.send()
        except Exception:  # the invite stands; the inviter can resend
            log.exception("staff invite %s: the e-mail could not be sent", invite_id)

    transaction.on_commit(send)


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, _hash(token)


@transaction.atomic
def staff_invite_create(*, email: str, role_codes, team=None, actor: User | None,
                        valid_for: timedelta | None = None) -> StaffInvite:
    """Invite someone to the back office with the given roles and team; e-mails the link after commit."""
    from tenant_apps.audit.services import audit_record

    require_tenant()
    permission_require(actor, "staff", "manage")
    errors: dict[str, list[str]] = {}

    def collect(exc: ValidationError):
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)

    email = (email or "").strip().lower()
    try:
        if not email:
            raise ValidationError({"email": "Enter the e-mail address to send the invitation to."})
        if len(email) > 254 or "\x00" in email:
            raise ValidationError({"email": "Enter a valid e-mail address."})
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"email": "Enter a valid e-mail address."}) from None
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError({"email": "Someone with this e-mail already has an account in this brokerage."})
        if StaffInvite.objects.filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True).exists():
            raise ValidationError({"email": "An invitation to this address is still open: resend or revoke it."})
    except ValidationError as exc:
        collect(exc)
    roles: list[Role] = []
    chosen_team: Team | None = None
    try:
        roles = staff_roles_for(role_codes)
    except ValidationError as exc:
        collect(exc)
    try:
        chosen_team = team_for(team)
    except ValidationError as exc:
        collect(exc)
    try:
        valid_for = _valid_for(valid_for)
    except ValidationError as exc:
        collect(exc)
    if errors:
        raise ValidationError(errors)

    token, token_hash = _new_token()
    now = timezone.now()
    try:
        with transaction.atomic():
            invite = StaffInvite.objects.create(email=email, team=chosen_team, token_hash=token_hash,
                                                created_by=actor if getattr(actor, "pk", None) else None,
                                                created_at=now, sent_at=now, expires_at=now + valid_for)
    except IntegrityError:  # a second invitation to the same address, sent at the same moment
        raise ValidationError({"email": "An invitation to this address is still open: resend or revoke it."}) from None
    invite.roles.set(roles)
    audit_record(action="staff.invited", obj=invite, actor=actor, changes={
        "email": [None, email], "roles": [[], sorted(r.code for r in roles)],
        "team": [None, chosen_team.name if chosen_team else None], "expires_at": [None, invite.expires_at],
    })
    _send_after_commit(_invite_email(invite=invite, token=token), invite.pk)
    return invite


def _open_invite(invite: StaffInvite) -> StaffInvite:
    invite = StaffInvite.objects.select_for_update().get(pk=invite.pk)
    if invite.accepted_at is not None:
        raise ValidationError({"invite": "This invitation has already been accepted."})
    if invite.revoked_at is not None:
        raise ValidationError({"invite": "This invitation was revoked."})
    return invite


@transaction.atomic
def staff_invite_resend(*, invite: StaffInvite, actor: User | None, valid_for: timedelta | None = None) -> StaffInvite:
    """E-mail a fresh link with a fresh expiry; the previous link stops working."""
    from tenant_apps.audit.services import audit_record

    require_tenant()
    permission_require(actor, "staff", "manage")
    invite = _open_invite(invite)
    valid_for = _valid_for(valid_for)
    token, token_hash = _new_token()
    old_expiry = invite.expires_at
    invite.token_hash, invite.sent_at = token_hash, timezone.now()
    invite.expires_at = invite.sent_at + valid_for
    invite.save(update_fields=["token_hash", "sent_at", "expires_at"])
    audit_record(action="staff.invite_resent", obj=invite, actor=actor,
                 changes={"expires_at": [old_expiry, invite.expires_at]})
    _send_after_commit(_invite_email(invite=invite, token=token), invite.pk)
    return invite


@transaction.atomic
def staff_invite_revoke(*, invite: StaffInvite, actor: User | None, reason: str = "") -> StaffInvite:
    from tenant_apps.audit.services import audit_record

    require_tenant()
    permission_require(actor, "staff", "manage")
    invite = _open_invite(invite)
    invite.revoked_at = timezone.now()
    invite.save(update_fields=["revoked_at"])
    audit_record(action="staff.invite_revoked", obj=invite, actor=actor,
                 changes={"revoked_at": [None, invite.revoked_at]}, reason=(reason or "").strip())
    return invite


@transaction.atomic
def staff_invite_accept(*, token: str, full_name: str, password: str) -> User:
    """Turn a usable invitation into a staff account with the invite's roles and team and a verified e-mail.

    Raises InviteUnusable (unknown, expired, revoked, already used) or ValidationError (name, password)."""
    from allauth.account.models import EmailAddress

    from tenant_apps.audit.services import audit_record

    require_tenant()
    invite, state = invite_lookup(token)
    if state is not InviteState.USABLE:
        raise InviteUnusable(state)
    invite = StaffInvite.objects.select_for_update().get(pk=invite.pk)
    if not invite.is_usable():  # accepted or revoked by a concurrent request since the lookup
        raise InviteUnusable(InviteState.ACCEPTED if invite.accepted_at else InviteState.REVOKED)

    full_name = (full_name or "").strip()
    errors: dict[str, list[str]] = {}
    if not full_name:
        errors["full_name"] = ["Enter your full name."]
    elif len(full_name) > 200 or "\x00" in full_name:
        errors["full_name"] = ["At most 200 characters, and no null characters."]
    candidate = User(email=invite.email, full_name=full_name, kind=UserKind.STAFF)
    try:
        validate_password(password or "", user=candidate)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if User.objects.filter(email__iexact=invite.email).exists():
        errors["email"] = ["An account with this e-mail already exists here. Ask your Super Admin."]
    if errors:
        raise ValidationError(errors)

    roles = list(invite.roles.all())
    team = invite.team if invite.team and invite.team.is_active else None
    user = candidate
    user.team = team
    user.set_password(password)
    user.save()
    user.roles.set(roles)
    EmailAddress.objects.create(user=user, email=invite.email, verified=True, primary=True)
    invite.accepted_at, invite.accepted_user = timezone.now(), user
    invite.save(update_fields=["accepted_at", "accepted_user"])
    role_codes = sorted(r.code for r in roles)
    inviter = invite.created_by.email if invite.created_by else "the platform"
    audit_record(action="staff.created", obj=user, actor=user, reason=f"Accepted the invitation sent by {inviter}.",
                 changes={"email": [None, user.email], "full_name": [None, full_name], "kind": [None, UserKind.STAFF.value],
                          "roles": [[], role_codes], "team": [None, team.name if team else None], "password": [None, "set"]})
    audit_record(action="staff.invite_accepted", obj=invite, actor=user, subject=user,
                 changes={"accepted_at": [None, invite.accepted_at], "accepted_user": [None, user.pk]})
    return user
