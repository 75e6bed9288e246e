"""Writes of the partners capability: IB applications and their decision, referral links, the client's IB from
registration, and reassignment requests (client → IB, IB → parent IB) with maker ≠ checker approval that closes
the old interval and opens the new one atomically. Every write is audited; hooks run after commit."""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from tenancy.context import require_tenant
from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import PermissionDeniedError, has_perm, permission_require
from tenant_apps.partners import selectors, states
from tenant_apps.partners.errors import (
    BackdateTooFar,
    CycleRefused,
    InvalidState,
    MakerChecker,
    PartnersError,
)
from tenant_apps.partners.models import (
    ClientAssignment,
    Partner,
    PartnerLink,
    PartnerPolicy,
    ReassignmentRequest,
    ReferralLink,
)

log = logging.getLogger("brokeros.partners")

ReassignmentHook = Callable[..., None]
_REASSIGNMENT_APPROVED_HOOKS: list[ReassignmentHook] = []
TREE_LOCK = 0x50415254  # "PART": serialises changes to the IB tree so two parent changes cannot form a cycle


def register_reassignment_approved_hook(fn: ReassignmentHook) -> None:
    """fn(request_id=, client_id=, effective_at=, mode=) runs after the commit of every approved reassignment
    (client_id is None for a parent-IB change; the request's subject_partner says which IB moved)."""
    if fn not in _REASSIGNMENT_APPROVED_HOOKS:
        _REASSIGNMENT_APPROVED_HOOKS.append(fn)


def _audit(**kwargs):
    from tenant_apps.audit.services import audit_record

    return audit_record(**kwargs)


def _lock_audit_then_tree() -> None:
    from tenant_apps.audit.services import audit_lock

    audit_lock()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TREE_LOCK])


def _code_new(seed: str) -> str:
    base = slugify(seed)[:20].strip("-") or "ib"
    while True:
        code = f"{base}-{secrets.token_hex(3)}"
        if not ReferralLink.objects.filter(code__iexact=code).exists() and \
                not Partner.objects.filter(code__iexact=code).exists():
            return code


def _to_utc(value: datetime) -> datetime:
    """A naive moment is in the brokerage's timezone; an aware one is kept. Stored in UTC."""
    if timezone.is_naive(value):
        zone = selectors.tenant_zone()
        local = value.replace(tzinfo=zone)
        # A wall-clock time skipped by a DST change does not exist there: refuse instead of guessing.
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
            raise PartnersError(f"{value:%Y-%m-%d %H:%M} does not exist in {zone.key} (clock change); pick another "
                                f"time.", code="invalid_time")
        value = local
    return value.astimezone(UTC)


# --- IBs ------------------------------------------------------------------------------------------------------

@transaction.atomic
def partner_apply(*, user, company_name: str = "", website: str = "", note: str = "", sponsor_code: str = "",
                  request=None) -> Partner:
    """A client asks to become an IB. `sponsor_code`: the sub-IB recruitment link they came with (optional)."""
    require_tenant()
    if user.kind not in (UserKind.CLIENT, UserKind.IB):
        raise PartnersError(gettext("Only clients can apply to become an introducing broker."), code="not_a_client")
    if not selectors.policy().applications_open:
        raise PartnersError(gettext("This brokerage is not accepting IB applications at the moment."), code="closed")
    sponsor = None
    if sponsor_code:
        link = selectors.referral_link_resolve(sponsor_code)
        if link is None or link.kind != ReferralLink.Kind.SUB_IB:
            raise PartnersError(gettext("That sub-IB invitation code is not valid."), code="unknown_code")
        sponsor = link.partner
    from tenant_apps.audit.services import audit_lock

    audit_lock()
    existing = Partner.objects.select_for_update().filter(user=user).first()
    if existing is not None and existing.status != Partner.Status.REJECTED:
        raise InvalidState(gettext("You have already applied.") if existing.status == Partner.Status.APPLIED
                           else gettext("You already have an IB account."))
    fields = {"company_name": company_name.strip()[:200], "website": website.strip()[:200],
              "application_note": note.strip()[:2000], "sponsor": sponsor, "status": Partner.Status.APPLIED,
              "decision_note": "", "decided_by": None}
    if existing is not None:  # a rejected applicant may apply again; the earlier decision stays in the audit trail
        for k, v in fields.items():
            setattr(existing, k, v)
        existing.save()
        partner = existing
    else:
        partner = Partner.objects.create(user=user, code=_code_new(user.full_name or user.email.split("@")[0]),
                                         **fields)
    _audit(action="partners.applied", obj=partner, subject=user, actor=user, request=request,
           changes={"status": [None, partner.status], "sponsor": [None, sponsor.code if sponsor else None]})
    return partner


def _activate(partner: Partner, *, actor, now: datetime, parent: Partner | None) -> None:
    partner.status, partner.approved_at = Partner.Status.ACTIVE, partner.approved_at or now
    partner.save(update_fields=["status", "approved_at", "decided_by", "decision_note"])
    if not ReferralLink.objects.filter(partner=partner, code=partner.code).exists():
        ReferralLink.objects.create(partner=partner, code=partner.code, kind=ReferralLink.Kind.CLIENT)
    if parent is not None and not PartnerLink.objects.filter(partner=partner).exists():
        _cycle_check(partner=partner, parent=parent, at=now)
        PartnerLink.objects.create(partner=partner, parent=parent, valid_from=now)


@transaction.atomic
def partner_application_decide(*, partner_id: int, actor, approve: bool, note: str = "", request=None,
                               now: datetime | None = None) -> Partner:
    """Staff approve (the applicant becomes an active IB with a referral code, under its sponsor if it has one)
    or reject (with a note the applicant sees)."""
    require_tenant()
    target = Partner.Status.ACTIVE if approve else Partner.Status.REJECTED
    rule = states.transition_check(states.PARTNER_TRANSITIONS, Partner.Status.APPLIED, target)
    permission_require(actor, *rule.permission)
    note = (note or "").strip()
    if not approve and not note:
        raise PartnersError("Say why the application is rejected; the applicant sees it.", code="note_required")
    _lock_audit_then_tree()
    partner = (Partner.objects.select_for_update(of=("self",)).select_related("sponsor", "user")
               .filter(pk=partner_id).first())
    if partner is None:
        raise PartnersError("No such IB application.", code="not_found")
    states.transition_check(states.PARTNER_TRANSITIONS, partner.status, target)
    if actor is not None and actor.pk == partner.user_id:
        raise MakerChecker("You cannot decide your own IB application.")
    now = now or timezone.now()
    partner.decided_by, partner.decision_note = actor, note[:500]
    before = partner.status
    if approve:
        _activate(partner, actor=actor, now=now, parent=partner.sponsor)
    else:
        partner.status = target
        partner.save(update_fields=["status", "decided_by", "decision_note"])
    _audit(action="partners.approved" if approve else "partners.rejected", obj=partner, subject=partner.user,
           actor=actor, request=request, reason=note, changes={"status": [before, partner.status]})
    return partner


@transaction.atomic
def partner_create(*, user, actor, parent: Partner | None = None, code: str = "", company_name: str = "",
                   at: datetime | None = None, request=None) -> Partner:
    """Staff make an existing user an active IB directly (optionally under a parent IB from `at`)."""
    require_tenant()
    permission_require(actor, "partners", "manage")
    _lock_audit_then_tree()
    at = _to_utc(at) if at else timezone.now()
    code = slugify(code)[:32] if code else _code_new(user.full_name or user.email.split("@")[0])
    if not code:
        raise PartnersError("A referral code uses letters, digits and hyphens.", code="invalid_code")
    if ReferralLink.objects.filter(code__iexact=code).exists() or Partner.objects.filter(code__iexact=code).exists():
        raise PartnersError(f"The code {code!r} is taken.", code="code_taken")
    if Partner.objects.filter(user=user).exists():
        raise InvalidState(f"{user.email} is already an IB (or has applied).")
    if parent is not None and parent.status != Partner.Status.ACTIVE:
        raise PartnersError("The parent IB is not active.", code="parent_inactive")
    partner = Partner.objects.create(user=user, code=code, company_name=company_name[:200],
                                     status=Partner.Status.APPLIED, decided_by=actor)
    _activate(partner, actor=actor, now=at, parent=parent)
    _audit(action="partners.created", obj=partner, subject=user, actor=actor, request=request,
           changes={"status": [None, partner.status], "code": [None, code],
                    "parent": [None, parent.code if parent else None]})
    return partner


@transaction.atomic
def partner_status_change(*, partner_id: int, actor, status: str, note: str = "", request=None) -> Partner:
    require_tenant()
    from tenant_apps.audit.services import audit_lock

    audit_lock()
    partner = Partner.objects.select_for_update().filter(pk=partner_id).first()
    if partner is None:
        raise PartnersError("No such IB.", code="not_found")
    rule = states.transition_check(states.PARTNER_TRANSITIONS, partner.status, status)
    permission_require(actor, *rule.permission)
    before, partner.status = partner.status, status
    partner.save(update_fields=["status"])
    _audit(action="partners.status_changed", obj=partner, subject=partner.user_id, actor=actor, request=request,
           reason=note[:300], changes={"status": [before, status]})
    return partner


@transaction.atomic
def referral_link_create(*, partner: Partner, actor, campaign: str = "", landing_path: str = "/accounts/signup/",
                         kind: str = ReferralLink.Kind.CLIENT, request=None) -> ReferralLink:
    """A campaign link of an active IB (the IB itself from the partner portal, or staff with partners:manage)."""
    require_tenant()
    if actor is not None and actor.pk != partner.user_id:
        permission_require(actor, "partners", "manage")
    if partner.status != Partner.Status.ACTIVE:
        raise InvalidState("Only an active IB has referral links.")
    if kind not in ReferralLink.Kind.values:
        raise PartnersError("Choose a client link or a sub-IB link.", code="invalid_kind")
    landing_path = (landing_path or "/accounts/signup/").strip()
    if not landing_path.startswith("/") or landing_path.startswith("//") or any(c in landing_path for c in "?#\\ "):
        raise PartnersError("The landing page is a path on this site, like /accounts/signup/.", code="invalid_path")
    campaign = campaign.strip()[:100]
    if ReferralLink.objects.filter(partner=partner, campaign=campaign, kind=kind, landing_path=landing_path).exists():
        raise PartnersError("You already have a link for this campaign and page.", code="duplicate")
    link = ReferralLink.objects.create(partner=partner, kind=kind, campaign=campaign, landing_path=landing_path[:200],
                                       code=_code_new(f"{partner.code}-{campaign}" if campaign else partner.code))
    _audit(action="partners.link_created", obj=link, subject=partner.user_id, actor=actor, request=request,
           changes={"code": [None, link.code], "kind": [None, kind], "campaign": [None, campaign]})
    return link


# --- attribution at registration --------------------------------------------------------------------------------

def client_attribution_assign(*, client, ref_code: str, at: datetime | None = None) -> ClientAssignment | None:
    """Registration hook (crm.client_register): a client who arrived with an IB's client link belongs to that IB
    from the registration moment. An unknown or inactive code assigns nobody (the code stays on the CRM record)."""
    link = selectors.referral_link_resolve(ref_code)
    if link is None or link.kind != ReferralLink.Kind.CLIENT or link.partner.user_id == client.pk:
        return None
    at = at or timezone.now()
    if ClientAssignment.objects.filter(client=client).exists():
        return None
    assignment = ClientAssignment.objects.create(client=client, partner=link.partner, valid_from=at,
                                                 source=ClientAssignment.Source.REGISTRATION, referral_link=link)
    _audit(action="partners.client_assigned", obj=assignment, subject=client, actor=client,
           changes={"partner": [None, link.partner.code], "valid_from": [None, at.isoformat()],
                    "link": [None, link.code]})
    return assignment


def on_client_registered(*, client, record, now: datetime) -> None:
    if record.ref_code:
        client_attribution_assign(client=client, ref_code=record.ref_code, at=now)


@transaction.atomic
def client_assign(*, client, partner: Partner, actor, at: datetime, source: str = ClientAssignment.Source.STAFF,
                  request=None) -> ClientAssignment:
    """Staff give a client who has no IB one from `at` (changing an existing IB is a reassignment request)."""
    require_tenant()
    permission_require(actor, "partners", "manage")
    _lock_audit_then_tree()
    at = _to_utc(at)
    held = list(ClientAssignment.objects.select_for_update().filter(client=client).values_list("valid_to", flat=True))
    if any(valid_to is None or valid_to > at for valid_to in held):
        raise InvalidState("This client already has an IB then; request a reassignment instead.")
    if partner.status != Partner.Status.ACTIVE:
        raise PartnersError("The IB is not active.", code="partner_inactive")
    assignment = ClientAssignment.objects.create(client=client, partner=partner, valid_from=at, source=source)
    _audit(action="partners.client_assigned", obj=assignment, subject=client, actor=actor, request=request,
           changes={"partner": [None, partner.code], "valid_from": [None, at.isoformat()]})
    return assignment


# --- reassignment ---------------------------------------------------------------------------------------------

def _cycle_check(*, partner: Partner, parent: Partner, at: datetime) -> None:
    """Refuse a parent that is `partner` itself or below it — at `at` and at every later change of the tree."""
    if parent.pk == partner.pk:
        raise CycleRefused("An IB cannot be its own parent.")
    moments = [at, *PartnerLink.objects.filter(valid_from__gt=at).values_list("valid_from", flat=True).distinct()]
    for moment in moments:
        if partner.pk in selectors.upline_ids_at(parent.pk, moment):
            raise CycleRefused(f"{parent.code} is below {partner.code} in the IB tree; an IB cannot sit under its "
                               f"own sub-IB.")


def _effective_check(*, effective_at: datetime, mode: str | None, now: datetime) -> str:
    limit = selectors.policy().backdate_limit_days
    if effective_at < now - timedelta(days=limit):
        raise BackdateTooFar(f"The effective moment may be back-dated at most {limit} days.")
    if effective_at < now and mode not in ReassignmentRequest.Mode.values:
        raise PartnersError("A back-dated change needs an explicit choice: future commissions only, or recalculate "
                            "from the effective date.", code="mode_required")
    if mode and mode not in ReassignmentRequest.Mode.values:
        raise PartnersError("Unknown mode.", code="invalid_mode")
    return mode or ReassignmentRequest.Mode.FUTURE_ONLY


@transaction.atomic
def reassignment_request_create(*, actor, to_partner_id: int, effective_at: datetime, reason: str,
                                client_id: int | None = None, subject_partner_id: int | None = None,
                                mode: str | None = None, request=None,
                                now: datetime | None = None) -> ReassignmentRequest:
    """Ask to move a client to another IB (client_id) or an IB under another parent IB (subject_partner_id)
    from `effective_at` — naive = the brokerage's wall clock, converted to UTC. Approval is someone else's."""
    from tenant_apps.identity.models import User

    require_tenant()
    permission_require(actor, "partners", "reassign")
    if (client_id is None) == (subject_partner_id is None):
        raise PartnersError("Choose either a client or an IB to move.", code="invalid_subject")
    reason = (reason or "").strip()
    if not reason:
        raise PartnersError("Say why: the reason is part of the record.", code="reason_required")
    now = now or timezone.now()
    effective_at = _to_utc(effective_at)
    mode = _effective_check(effective_at=effective_at, mode=mode, now=now)
    to_partner = Partner.objects.filter(pk=to_partner_id).first()
    if to_partner is None or to_partner.status != Partner.Status.ACTIVE:
        raise PartnersError("Choose an active IB to move to.", code="partner_inactive")
    from tenant_apps.audit.services import audit_lock

    audit_lock()
    if client_id is not None:
        client = User.objects.filter(pk=client_id, kind__in=[UserKind.CLIENT, UserKind.IB]).first()
        if client is None:
            raise PartnersError("No such client.", code="not_found")
        if to_partner.user_id == client.pk:
            raise PartnersError("A client cannot be referred by their own IB account.", code="self_referral")
        current = selectors.assignment_at(client.pk, effective_at)
        kind, subject = ReassignmentRequest.Kind.CLIENT, {"client": client}
        pending = ReassignmentRequest.objects.filter(client=client, status="pending")
    else:
        moving = Partner.objects.filter(pk=subject_partner_id).first()
        if moving is None:
            raise PartnersError("No such IB.", code="not_found")
        _cycle_check(partner=moving, parent=to_partner, at=effective_at)
        current = selectors.parent_link_at(moving.pk, effective_at)
        kind, subject = ReassignmentRequest.Kind.PARENT, {"subject_partner": moving}
        pending = ReassignmentRequest.objects.filter(subject_partner=moving, status="pending")
    from_partner = (current.partner if kind == "client" else current.parent) if current else None
    if from_partner is not None and from_partner.pk == to_partner.pk:
        raise PartnersError(f"Already with {to_partner.code} at that moment.", code="no_change")
    if pending.exists():
        raise InvalidState("A request for this is already waiting for approval; decide or cancel it first.")
    req = ReassignmentRequest.objects.create(kind=kind, from_partner=from_partner, to_partner=to_partner,
                                             effective_at=effective_at, mode=mode, reason=reason[:2000],
                                             requested_by=actor, **subject)
    _audit(action="partners.reassignment_requested", obj=req, actor=actor, request=request, reason=reason[:300],
           subject=req.client_id or subject["subject_partner"].user_id,
           changes={"from": [None, from_partner.code if from_partner else None], "to": [None, to_partner.code],
                    "effective_at": [None, effective_at.isoformat()], "mode": [None, mode]})
    return req


def _locked_pending(request_id: int) -> ReassignmentRequest:
    req = ReassignmentRequest.objects.select_for_update().filter(pk=request_id).first()
    if req is None:
        raise PartnersError("No such reassignment request.", code="not_found")
    return req


def _interval_move(*, model, subject_field: str, subject_id, value_field: str, to_partner: Partner,
                   effective_at: datetime, req: ReassignmentRequest):
    """Close the interval covering `effective_at` there and open the new one from there; never delete."""
    rows = list(model.objects.select_for_update().filter(**{subject_field: subject_id}).order_by("valid_from"))
    if any(r.valid_from > effective_at for r in rows):
        raise InvalidState("A later change is already recorded after that moment; the history cannot be rewritten "
                           "over it.")
    current = next((r for r in rows if r.valid_from <= effective_at and (r.valid_to is None or effective_at < r.valid_to)),
                   None)
    if current is not None and current.valid_from == effective_at:
        raise InvalidState("The current relationship starts exactly at that moment; choose a later moment.")
    if current is None and any(r.valid_to is not None and r.valid_to > effective_at for r in rows):
        raise InvalidState("A later change is already recorded after that moment.")
    old_to = None
    if current is not None:
        old_to = current.valid_to
        current.valid_to = effective_at
        current.save(update_fields=["valid_to"])
    opened = model.objects.create(**{subject_field: subject_id, value_field: to_partner, "valid_from": effective_at,
                                     "valid_to": old_to, "request": req},
                                  **({"source": ClientAssignment.Source.REASSIGNMENT} if model is ClientAssignment
                                     else {}))
    return current, opened


@transaction.atomic
def reassignment_approve(*, request_id: int, actor, note: str = "", request=None,
                         now: datetime | None = None) -> ReassignmentRequest:
    """A manager (not the requester) approves: the old interval ends at the effective moment and the new one begins
    there, in one transaction, audited; the registered hooks (commission recalculation) run after commit."""
    require_tenant()
    rule = states.transition_check(states.REQUEST_TRANSITIONS, "pending", "approved")
    permission_require(actor, *rule.permission)
    _lock_audit_then_tree()
    req = _locked_pending(request_id)
    states.transition_check(states.REQUEST_TRANSITIONS, req.status, "approved")
    if actor is not None and actor.pk == req.requested_by_id:
        raise MakerChecker("The person who requested a reassignment cannot approve it; another manager must.")
    now = now or timezone.now()
    _effective_check(effective_at=req.effective_at, mode=req.mode, now=now)
    to_partner = Partner.objects.get(pk=req.to_partner_id)
    if to_partner.status != Partner.Status.ACTIVE:
        raise PartnersError(f"{to_partner.code} is no longer active.", code="partner_inactive")
    try:
        with transaction.atomic():
            if req.kind == ReassignmentRequest.Kind.CLIENT:
                closed, opened = _interval_move(model=ClientAssignment, subject_field="client_id",
                                                subject_id=req.client_id, value_field="partner",
                                                to_partner=to_partner, effective_at=req.effective_at, req=req)
                current_from = closed.partner_id if closed else None
            else:
                moving = Partner.objects.get(pk=req.subject_partner_id)
                _cycle_check(partner=moving, parent=to_partner, at=req.effective_at)
                closed, opened = _interval_move(model=PartnerLink, subject_field="partner_id",
                                                subject_id=req.subject_partner_id, value_field="parent",
                                                to_partner=to_partner, effective_at=req.effective_at, req=req)
                current_from = closed.parent_id if closed else None
    except IntegrityError as exc:  # the exclusion constraint: an overlap slipped past the checks above
        raise InvalidState("That change would overlap an existing interval.") from exc
    if current_from != req.from_partner_id:
        raise InvalidState("The IB at that moment changed since the request was made; ask again.")
    req.status, req.decided_by, req.decided_at, req.decision_note = "approved", actor, now, (note or "").strip()[:500]
    req.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _audit(action="partners.reassignment_approved", obj=req, actor=actor, request=request, reason=req.decision_note,
           subject=req.client_id or req.subject_partner.user_id,
           changes={"status": ["pending", "approved"], "closed": [None, closed.pk if closed else None],
                    "opened": [None, opened.pk], "effective_at": [None, req.effective_at.isoformat()],
                    "mode": [None, req.mode]})
    for fn in list(_REASSIGNMENT_APPROVED_HOOKS):
        transaction.on_commit(lambda fn=fn, rid=req.pk, cid=req.client_id, at=req.effective_at, mode=req.mode:
                              fn(request_id=rid, client_id=cid, effective_at=at, mode=mode))
    return req


@transaction.atomic
def reassignment_reject(*, request_id: int, actor, note: str, request=None,
                        now: datetime | None = None) -> ReassignmentRequest:
    require_tenant()
    rule = states.transition_check(states.REQUEST_TRANSITIONS, "pending", "rejected")
    permission_require(actor, *rule.permission)
    note = (note or "").strip()
    if not note:
        raise PartnersError("Say why the request is rejected; the requester sees it.", code="note_required")
    from tenant_apps.audit.services import audit_lock

    audit_lock()
    req = _locked_pending(request_id)
    states.transition_check(states.REQUEST_TRANSITIONS, req.status, "rejected")
    if actor is not None and actor.pk == req.requested_by_id:
        raise MakerChecker("The person who requested a reassignment cannot decide it; cancel it instead.")
    req.status, req.decided_by, req.decided_at, req.decision_note = "rejected", actor, now or timezone.now(), note[:500]
    req.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _audit(action="partners.reassignment_rejected", obj=req, actor=actor, request=request, reason=note[:300],
           subject=req.client_id or req.subject_partner.user_id, changes={"status": ["pending", "rejected"]})
    return req


@transaction.atomic
def reassignment_cancel(*, request_id: int, actor, request=None, now: datetime | None = None) -> ReassignmentRequest:
    """The requester withdraws their own pending request (a manager may cancel anyone's)."""
    require_tenant()
    from tenant_apps.audit.services import audit_lock

    audit_lock()
    req = _locked_pending(request_id)
    states.transition_check(states.REQUEST_TRANSITIONS, req.status, "cancelled")
    if actor is not None and actor.pk != req.requested_by_id and not has_perm(actor, "partners", "reassign_approve"):
        raise PermissionDeniedError("partners", "reassign_approve")
    req.status, req.decided_by, req.decided_at = "cancelled", actor, now or timezone.now()
    req.save(update_fields=["status", "decided_by", "decided_at"])
    _audit(action="partners.reassignment_cancelled", obj=req, actor=actor, request=request,
           subject=req.client_id or req.subject_partner.user_id, changes={"status": ["pending", "cancelled"]})
    return req


_KEEP = object()


@transaction.atomic
def partner_policy_update(*, actor, backdate_limit_days: int, show_client_contacts: bool, applications_open: bool,
                          min_activation_rate=_KEEP, min_funding_rate=_KEEP, request=None) -> PartnerPolicy:
    require_tenant()
    permission_require(actor, "partners", "manage")
    if not 0 <= int(backdate_limit_days) <= 366:
        raise PartnersError("The back-dating limit is between 0 and 366 days.", code="invalid_limit")
    for rate in (min_activation_rate, min_funding_rate):
        if rate is not _KEEP and rate is not None and not 0 <= rate <= 100:
            raise PartnersError("A benchmark rate is a percentage between 0 and 100.", code="invalid_benchmark")
    from tenant_apps.audit.services import audit_lock

    audit_lock()
    found = PartnerPolicy.objects.select_for_update().first() or PartnerPolicy()
    before = {"backdate_limit_days": found.backdate_limit_days, "show_client_contacts": found.show_client_contacts,
              "applications_open": found.applications_open, "min_activation_rate": found.min_activation_rate,
              "min_funding_rate": found.min_funding_rate}
    found.backdate_limit_days, found.show_client_contacts = int(backdate_limit_days), bool(show_client_contacts)
    found.applications_open = bool(applications_open)
    if min_activation_rate is not _KEEP:
        found.min_activation_rate = min_activation_rate
    if min_funding_rate is not _KEEP:
        found.min_funding_rate = min_funding_rate
    found.save()
    _audit(action="partners.policy_changed", obj=found, actor=actor, request=request,
           changes={k: [v, getattr(found, k)] for k, v in before.items() if v != getattr(found, k)})
    return found


# --- marketing materials -------------------------------------------------------------------------------------

MATERIAL_LANGUAGES = ("", "en", "es", "ar")


@transaction.atomic
def material_upload(*, actor, title: str, uploaded, description: str = "", language: str = "", request=None):
    """Store a banner, logo or presentation for the IBs after the KYC upload checks (type by content, images
    re-encoded, PDFs parsed; SVG, archives and programs refused). Nothing is written on a refusal."""
    import hashlib
    import uuid
    from io import BytesIO

    from django.core.exceptions import ValidationError
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from tenant_apps.audit.services import audit_lock
    from tenant_apps.compliance.documents import document_clean, read_document_upload
    from tenant_apps.partners.models import MarketingMaterial

    require_tenant()
    permission_require(actor, "partners", "manage")
    title, description, language = (title or "").strip(), (description or "").strip(), (language or "").strip()
    if not title or len(title) > 120:
        raise PartnersError("Give the material a title (at most 120 characters).", code="invalid_title")
    if len(description) > 300:
        raise PartnersError("The description is at most 300 characters.", code="invalid_description")
    if language not in MATERIAL_LANGUAGES:
        raise PartnersError("Choose English, Spanish, Arabic or every language.", code="invalid_language")
    if uploaded is None:
        raise PartnersError("Choose the file to upload: a JPEG or PNG image, or a PDF.", code="file_missing")
    try:
        clean = document_clean(read_document_upload(uploaded))
    except ValidationError as exc:
        raise PartnersError(" ".join(exc.messages), code=exc.code or "invalid_file") from None
    width = height = None
    if clean.content_type.startswith("image/"):
        with Image.open(BytesIO(clean.data)) as image:
            width, height = image.size
    audit_lock()
    saved = default_storage.save(f"partners/materials/{uuid.uuid4().hex}.{clean.extension}", ContentFile(clean.data))
    try:
        material = MarketingMaterial.objects.create(
            title=title, description=description, language=language, file=saved, content_type=clean.content_type,
            size=len(clean.data), sha256=hashlib.sha256(clean.data).hexdigest(), width=width, height=height,
            uploaded_by=actor)
        _audit(action="partners.material_uploaded", obj=material, actor=actor, request=request,
               changes={"title": [None, title], "content_type": [None, clean.content_type],
                        "sha256": [None, material.sha256], "language": [None, language or "all"]})
    except Exception:
        default_storage.delete(saved)
        raise
    return material


@transaction.atomic
def material_set_active(*, actor, material_id: int, active: bool, request=None):
    """Show a material to the IBs again, or withdraw it (the file is kept: the audit trail names it)."""
    from tenant_apps.audit.services import audit_lock
    from tenant_apps.partners.models import MarketingMaterial

    require_tenant()
    permission_require(actor, "partners", "manage")
    audit_lock()
    material = MarketingMaterial.objects.select_for_update().filter(pk=material_id).first()
    if material is None:
        raise PartnersError("No such marketing material.", code="not_found")
    if material.is_active != bool(active):
        before, material.is_active = material.is_active, bool(active)
        material.save(update_fields=["is_active"])
        _audit(action="partners.material_" + ("shown" if active else "withdrawn"), obj=material, actor=actor,
               request=request, changes={"is_active": [before, material.is_active]})
    return material
