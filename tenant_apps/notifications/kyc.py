"""The client's notification for a KYC decision: called by compliance at its single transition point
(services.kyc_transition), inside the same transaction."""
from __future__ import annotations

import logging

from django.db import transaction
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)

_NEEDS_ACTION = frozenset({"request_resubmission", "reject", "expire"})


def kyc_decision_notify(*, case, action: str) -> None:
    """In a savepoint: a notification that cannot be made is logged and never blocks the decision itself."""
    try:
        with transaction.atomic():
            _notify(case=case, action=action)
    except Exception:  # noqa: BLE001
        log.exception("notification of KYC case %s (%s) failed", case.pk, action)


def _notify(*, case, action: str) -> None:
    from tenant_apps.notifications.services import notify

    when = case.decided_at or case.submitted_at
    key = f"kyc:{case.pk}:{action}:{when.isoformat() if when else ''}"  # each decision is news once
    if action == "approve":
        notify(case.client, "kyc.approved", context={}, link="/", dedupe_key=key)
    elif action in _NEEDS_ACTION:
        reason = case.client_reason or _("See the verification page for what is needed.")
        notify(case.client, "kyc.action_required", context={"reason": reason}, link="/verify/", dedupe_key=key)
