"""A client's lifecycle stage, derived from facts and never typed by hand:
lead → registered → kyc_pending → kyc_approved → funded → active → dormant.

Facts: the CRM record (registered), the KYC case (compliance), credits to the client's wallet (ledger), and
activity from FACT_SOURCES. The trading capability adds its own source here, e.g.
`FACT_SOURCES.append(last_trade_at)` — a callable (client) -> datetime | None giving the client's latest
activity. "active" = funded with activity within the tenant's window; "dormant" = funded with no activity
(nor funding) for CrmPolicy.dormant_after_days (default 90).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from tenancy.context import require_tenant

FactSource = Callable[[object], "datetime | None"]
FACT_SOURCES: list[FactSource] = []
LEAD_ONLY_SOURCES = ("api", "import")  # ClientRecord.lead_source values of people who have not signed up


def _first_credit_at(client) -> datetime | None:
    from tenant_apps.ledger.models import AccountKind, JournalLine, OwnerType

    line = (JournalLine.objects.filter(account__kind=AccountKind.CLIENT_WALLET, account__owner_type=OwnerType.CLIENT,
                                       account__owner_id=str(client.pk), amount__gt=0)
            .select_related("entry").order_by("id").only("id", "entry__created_at").first())
    return line.entry.created_at if line else None


def _last_credit_at(client) -> datetime | None:
    from tenant_apps.ledger.models import AccountKind, JournalLine, OwnerType

    line = (JournalLine.objects.filter(account__kind=AccountKind.CLIENT_WALLET, account__owner_type=OwnerType.CLIENT,
                                       account__owner_id=str(client.pk), amount__gt=0)
            .select_related("entry").order_by("-id").only("id", "entry__created_at").first())
    return line.entry.created_at if line else None


def policy():
    from tenant_apps.crm.models import CrmPolicy

    require_tenant()
    found = CrmPolicy.objects.first()
    return found if found is not None else CrmPolicy()


def stage_compute(client, record, *, now: datetime | None = None) -> tuple[str, str]:
    """(stage, the fact that decides it)."""
    from tenant_apps.compliance.selectors import kyc_state
    from tenant_apps.compliance.states import KycState

    now = now or timezone.now()
    if record is None:
        return "lead", "no registration"
    if record.lead_source in LEAD_ONLY_SOURCES and not client.has_usable_password():
        # Imported or sent by API: a lead until the person signs up (sets a password) themselves.
        return "lead", f"lead from {record.lead_source}"
    funded_at = _first_credit_at(client)
    if funded_at is not None:
        rules = policy()
        activity = [t for t in (source(client) for source in FACT_SOURCES) if t is not None]
        if record.last_activity_at:
            activity.append(record.last_activity_at)
        last_activity = max(activity) if activity else None
        reference = max(filter(None, [last_activity, _last_credit_at(client), funded_at]))
        if record.stage == "dormant" and record.stage_changed_at and reference <= record.stage_changed_at:
            return "dormant", "marked dormant; no activity or funding since"  # lifecycle_mark_dormant
        if last_activity and now - last_activity <= timedelta(days=rules.active_window_days):
            return "active", f"activity at {last_activity.isoformat()}"
        if now - reference > timedelta(days=rules.dormant_after_days):
            return "dormant", f"no activity for {rules.dormant_after_days} days"
        return "funded", "credit to the client's wallet"
    state = kyc_state(client)
    if state == KycState.APPROVED:
        return "kyc_approved", "KYC approved"
    if state in (KycState.PENDING_REVIEW, KycState.RESUBMISSION_NEEDED):
        return "kyc_pending", f"KYC {state.replace('_', ' ')}"
    return "registered", "registration"


@transaction.atomic
def lifecycle_refresh(*, client, now: datetime | None = None) -> str | None:
    """Recompute the client's stage; record a StageTransition when it changed. Returns the stage (None when the
    client has no CRM record yet)."""
    from tenant_apps.crm.models import ClientRecord, StageTransition

    require_tenant()
    record = ClientRecord.objects.select_for_update().filter(user_id=client.pk).first()
    if record is None:
        return None
    now = now or timezone.now()
    stage, fact = stage_compute(client, record, now=now)
    if stage != record.stage:
        StageTransition.objects.create(client_id=client.pk, from_stage=record.stage, to_stage=stage, at=now,
                                       fact=fact[:200])
        record.stage, record.stage_changed_at = stage, now
        record.save(update_fields=["stage", "stage_changed_at", "updated_at"])
    return stage


@transaction.atomic
def lifecycle_mark_dormant(*, client, fact: str, now: datetime | None = None) -> bool:
    """Mark a funded or active client dormant before the policy's window would (an automation rule's decision),
    recorded as a StageTransition with the fact. The client stays dormant until new activity or funding after
    this moment (stage_compute honours it). False when the client is not funded/active (nothing changes)."""
    from tenant_apps.crm.models import ClientRecord, StageTransition

    require_tenant()
    record = ClientRecord.objects.select_for_update().filter(user_id=client.pk).first()
    if record is None or record.stage not in ("funded", "active"):
        return False
    now = now or timezone.now()
    StageTransition.objects.create(client_id=client.pk, from_stage=record.stage, to_stage="dormant", at=now,
                                   fact=fact[:200])
    record.stage, record.stage_changed_at = "dormant", now
    record.save(update_fields=["stage", "stage_changed_at", "updated_at"])
    return True


def lifecycle_sweep(*, now: datetime | None = None, batch: int = 500) -> int:
    """Refresh every client whose stage may move on with time or money alone (daily job). Returns moves."""
    from tenant_apps.crm.models import ClientRecord

    require_tenant()
    moved, last_id = 0, 0
    while True:
        rows = list(ClientRecord.objects.filter(pk__gt=last_id).select_related("user").order_by("pk")[:batch])
        if not rows:
            return moved
        for record in rows:
            before = record.stage
            if lifecycle_refresh(client=record.user, now=now) != before:
                moved += 1
        last_id = rows[-1].pk
