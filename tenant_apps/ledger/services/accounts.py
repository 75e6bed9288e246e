"""Opening ledger accounts (race-safe get-or-create)."""
from __future__ import annotations

from django.db import connection, transaction

from tenancy.context import require_tenant
from tenant_apps.ledger.currencies import currency_decimal_places
from tenant_apps.ledger.errors import InvalidAccount
from tenant_apps.ledger.models import KIND_OWNER_TYPE, AccountKind, LedgerAccount, Owner
from tenant_apps.ledger.services._common import audit, owner_parse


def account_get_or_create(*, kind: str, owner: Owner | None, currency: str, actor=None) -> LedgerAccount:
    """The account of this kind, owner and currency, opened now if it doesn't exist. Safe under races:
    the INSERT ... ON CONFLICT DO NOTHING waits for a concurrent opener and then reads its row."""
    require_tenant()
    if kind not in AccountKind.values:
        raise InvalidAccount(f"Unknown account kind {kind!r}.", kind=kind)
    owner_type, owner_id = owner_parse(owner)
    if KIND_OWNER_TYPE[kind] != owner_type:
        expected = KIND_OWNER_TYPE[kind] or "none (a house account)"
        raise InvalidAccount(f"A {kind} account's owner is {expected}, not {owner_type or 'none'}.",
                             kind=kind, owner_type=owner_type)
    decimal_places = currency_decimal_places(currency)
    lookup = {"kind": kind, "owner_type": owner_type, "owner_id": owner_id, "currency": currency}
    account = LedgerAccount.objects.filter(**lookup).first()
    if account is not None:
        return account
    table = LedgerAccount._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (kind, owner_type, owner_id, currency, decimal_places, balance, held, line_count) "
            f"VALUES (%s, %s, %s, %s, %s, 0, 0, 0) "
            f"ON CONFLICT (kind, owner_type, owner_id, currency) DO NOTHING RETURNING id",
            [kind, owner_type, owner_id, currency, decimal_places],
        )
        opened = cursor.fetchone()
        if opened is not None:
            audit(action="ledger.account_opened", object_type="ledger.ledgeraccount", object_id=opened[0],
                  actor=actor, subject=int(owner_id) if owner_type in ("client", "ib") and owner_id.isdigit() else None,
                  changes={"kind": [None, kind], "owner": [None, f"{owner_type}:{owner_id}" if owner_type else None],
                           "currency": [None, currency]})
    return LedgerAccount.objects.get(**lookup)
