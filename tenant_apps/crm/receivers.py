"""Reactions of the CRM to other capabilities' facts: a KYC case moved → recompute the client's stage."""
from __future__ import annotations

from django.db import connection
from django_tenants.utils import get_public_schema_name


def on_kyc_case_saved(sender, instance, **kwargs) -> None:
    if connection.schema_name == get_public_schema_name():
        return
    from tenant_apps.crm.lifecycle import lifecycle_refresh

    # Same transaction as the KYC transition: the stage moves with the case or not at all.
    lifecycle_refresh(client=instance.client)


def on_deposit_credited(*, deposit_id: int) -> None:
    """Money arrived: the client may have become 'funded' now, not at the next daily sweep."""
    from tenant_apps.crm.lifecycle import lifecycle_refresh
    from tenant_apps.payments.models import Deposit

    deposit = Deposit.objects.select_related("client").filter(pk=deposit_id).first()
    if deposit is not None:
        lifecycle_refresh(client=deposit.client)
