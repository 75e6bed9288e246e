"""Reads of the partners capability: who a client's IB was at a moment, an IB's upline and downline at a moment,
an IB's referrals by lifecycle status, the reassignment queue and a client's full IB history.

Intervals are half-open: a row covers t when valid_from <= t AND (valid_to IS NULL OR t < valid_to)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.context import require_tenant
from tenant_apps.partners.models import (
    ClientAssignment,
    Partner,
    PartnerLink,
    PartnerPolicy,
    ReassignmentRequest,
    ReferralLink,
)

MAX_DEPTH = 64  # a guard only: cycles are refused when links are written


def _covers(at: datetime) -> Q:
    return Q(valid_from__lte=at) & (Q(valid_to__isnull=True) | Q(valid_to__gt=at))


def tenant_zone() -> ZoneInfo:
    try:
        return ZoneInfo(require_tenant().timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def policy() -> PartnerPolicy:
    require_tenant()
    found = PartnerPolicy.objects.first()
    return found if found is not None else PartnerPolicy()


def partner_for_client_at(client_id: int, at: datetime) -> Partner | None:
    """The IB the client was assigned to at `at` (None when none)."""
    found = (ClientAssignment.objects.filter(_covers(at), client_id=client_id).select_related("partner")
             .only("partner").first())
    return found.partner if found else None


def assignment_at(client_id: int, at: datetime) -> ClientAssignment | None:
    return ClientAssignment.objects.filter(_covers(at), client_id=client_id).select_related("partner__user").first()


def parent_link_at(partner_id: int, at: datetime) -> PartnerLink | None:
    return PartnerLink.objects.filter(_covers(at), partner_id=partner_id).select_related("parent").first()


_UPLINE_SQL = """
WITH RECURSIVE up(pid, depth) AS (
    SELECT parent_id, 1 FROM partners_partnerlink
     WHERE partner_id = %(p)s AND valid_from <= %(at)s AND (valid_to IS NULL OR %(at)s < valid_to)
    UNION ALL
    SELECT l.parent_id, up.depth + 1 FROM partners_partnerlink l JOIN up ON l.partner_id = up.pid
     WHERE l.valid_from <= %(at)s AND (l.valid_to IS NULL OR %(at)s < l.valid_to) AND up.depth < %(max)s
)
SELECT pid FROM up ORDER BY depth
"""

_DOWNLINE_SQL = """
WITH RECURSIVE down(pid, parent, depth) AS (
    SELECT partner_id, parent_id, 1 FROM partners_partnerlink
     WHERE parent_id = %(p)s AND valid_from <= %(at)s AND (valid_to IS NULL OR %(at)s < valid_to)
    UNION ALL
    SELECT l.partner_id, l.parent_id, down.depth + 1 FROM partners_partnerlink l JOIN down ON l.parent_id = down.pid
     WHERE l.valid_from <= %(at)s AND (l.valid_to IS NULL OR %(at)s < l.valid_to) AND down.depth < %(max)s
)
SELECT pid, parent, depth FROM down ORDER BY depth, pid
"""


def upline_ids_at(partner_id: int, at: datetime) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(_UPLINE_SQL, {"p": partner_id, "at": at, "max": MAX_DEPTH})
        return [row[0] for row in cursor.fetchall()]


def upline_at(partner_id: int, at: datetime) -> list[Partner]:
    """The IB's parents at `at`: nearest parent first, up to the root."""
    ids = upline_ids_at(partner_id, at)
    found = Partner.objects.in_bulk(ids)
    return [found[i] for i in ids]


@dataclass(frozen=True)
class TreeNode:
    partner: Partner
    parent_id: int
    depth: int


def downline_at(partner_id: int, at: datetime) -> list[TreeNode]:
    """Every IB below `partner_id` at `at` (sub-IBs, their sub-IBs, ...), breadth first."""
    with connection.cursor() as cursor:
        cursor.execute(_DOWNLINE_SQL, {"p": partner_id, "at": at, "max": MAX_DEPTH})
        rows = cursor.fetchall()
    found = Partner.objects.select_related("user").in_bulk([r[0] for r in rows])
    return [TreeNode(found[pid], parent, depth) for pid, parent, depth in rows]


def partner_tree(*, at: datetime | None = None) -> list[dict]:
    """All IBs as a forest at `at`: [{"partner", "depth", "clients"}] in depth-first order (for the back office)."""
    at = at or timezone.now()
    partners = list(Partner.objects.select_related("user").order_by("code"))
    parent_of = dict(PartnerLink.objects.filter(_covers(at)).values_list("partner_id", "parent_id"))
    clients = Counter(ClientAssignment.objects.filter(_covers(at)).values_list("partner_id", flat=True))
    children: dict[int | None, list[Partner]] = {}
    for p in partners:
        children.setdefault(parent_of.get(p.pk), []).append(p)
    out: list[dict] = []

    def walk(parent_id, depth):
        for p in children.get(parent_id, []):
            out.append({"partner": p, "depth": depth, "clients": clients.get(p.pk, 0),
                        "parent_id": parent_of.get(p.pk)})
            if depth < MAX_DEPTH:
                walk(p.pk, depth + 1)

    walk(None, 0)
    return out


def current_clients(partner: Partner, *, at: datetime | None = None):
    """The IB's directly referred clients now (their assignment covers `at`)."""
    at = at or timezone.now()
    return (ClientAssignment.objects.filter(_covers(at), partner=partner)
            .select_related("client", "client__client_record").order_by("-valid_from"))


def client_of_partner(partner: Partner, client_id: int, *, at: datetime | None = None) -> ClientAssignment | None:
    """The assignment that makes `client_id` this IB's client now; None (→ 404) for anyone else's client."""
    return current_clients(partner, at=at).filter(client_id=client_id).first()


# The partner portal's statuses, derived from the CRM lifecycle stage (crm.lifecycle).
REFERRAL_STATUSES = (("registered", _("Registered")), ("kyc_approved", _("KYC approved")), ("funded", _("Funded")),
                     ("active", _("Active")), ("dormant", _("Dormant")))
_STAGE_TO_STATUS = {"lead": "registered", "registered": "registered", "kyc_pending": "registered",
                    "kyc_approved": "kyc_approved", "funded": "funded", "active": "active", "dormant": "dormant"}


def referral_status(stage: str | None) -> str:
    return _STAGE_TO_STATUS.get(stage or "", "registered")


def referral_counts(partner: Partner, *, at: datetime | None = None) -> dict:
    """{"total": n, "by_status": [(code, label, count)], "funnel": [(code, label, reached)]} for the IB's clients.
    The funnel counts clients that reached at least each status (dormant clients were funded)."""
    from tenant_apps.crm.models import ClientRecord

    at = at or timezone.now()
    client_ids = ClientAssignment.objects.filter(_covers(at), partner=partner).values("client_id")
    stages = Counter(ClientRecord.objects.filter(user_id__in=client_ids).values_list("stage", flat=True))
    total = ClientAssignment.objects.filter(_covers(at), partner=partner).count()
    by_status = Counter()
    for stage, n in stages.items():
        by_status[referral_status(stage)] += n
    by_status["registered"] += total - sum(stages.values())  # no CRM record yet: registered
    order = [code for code, _ in REFERRAL_STATUSES]
    reached = {code: sum(by_status[c] for c in order[i:]) for i, code in enumerate(order)}
    reached["active"] = by_status["active"]  # dormant clients are not "active" now
    return {"total": total, "by_status": [(c, label, by_status[c]) for c, label in REFERRAL_STATUSES],
            "funnel": [(c, label, reached[c]) for c, label in REFERRAL_STATUSES if c != "dormant"]}


def partner_for_user(user) -> Partner | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Partner.objects.filter(user=user).first()


def active_partner_for_user(user) -> Partner | None:
    found = partner_for_user(user)
    return found if found is not None and found.status == Partner.Status.ACTIVE else None


def referral_link_resolve(code: str) -> ReferralLink | None:
    """The active link with this code of an active IB (codes are matched case-insensitively)."""
    code = (code or "").strip()
    if not code:
        return None
    return (ReferralLink.objects.filter(code__iexact=code, is_active=True, partner__status=Partner.Status.ACTIVE)
            .select_related("partner").first())


def reassignment_queue(*, status: str = "pending"):
    return (ReassignmentRequest.objects.filter(status=status)
            .select_related("client", "subject_partner", "from_partner", "to_partner", "requested_by", "decided_by")
            .order_by("requested_at"))


def client_ib_history(client_id: int) -> dict:
    """Everything a dispute needs: every interval (never deleted) and every request, who/when/why."""
    assignments = list(ClientAssignment.objects.filter(client_id=client_id)
                       .select_related("partner__user", "request__requested_by", "request__decided_by",
                                       "referral_link").order_by("valid_from"))
    requests = list(ReassignmentRequest.objects.filter(client_id=client_id)
                    .select_related("from_partner", "to_partner", "requested_by", "decided_by")
                    .order_by("-requested_at"))
    return {"assignments": assignments, "requests": requests}


def materials_for_partners(*, language: str = "") -> list:
    """The active marketing materials an IB sees: those for every language and those in `language`."""
    from tenant_apps.partners.models import MarketingMaterial

    require_tenant()
    rows = MarketingMaterial.objects.filter(is_active=True)
    rows = rows.filter(Q(language="") | Q(language=language)) if language else rows
    return list(rows.only("id", "title", "description", "language", "content_type", "size", "width", "height",
                          "created_at")[:200])


def materials_all() -> list:
    from tenant_apps.partners.models import MarketingMaterial

    require_tenant()
    return list(MarketingMaterial.objects.select_related("uploaded_by")[:500])
