"""Every write to the ledger: open accounts, post journal entries, place, release and capture holds.

How to use it (payments, trading, partners):

- Open accounts with `account_get_or_create(kind=..., owner=Owner.client(user.pk), currency="USD")`; house
  accounts take `owner=None`. Race-safe: concurrent callers get the same row.
- Move money with `ledger_post(idempotency_key=..., lines=[(account, Decimal), ...], kind=..., ...)`. Amounts
  are credits when positive, debits when negative, and must sum to zero per currency. `ledger_transfer` is
  the two-line case. A client account's available balance can never go below zero: the post is refused
  with `InsufficientAvailableBalance`.
- Reserve money with `hold_place`; later `hold_release` it or `hold_capture` it (the capture posts the entry
  and closes the hold in one transaction; capturing less than the hold releases the rest).
- Idempotency: derive the key from the external effect (e.g. f"deposit:{deposit.pk}:credit",
  f"psp:{provider}:{event_id}"). The same key with the same content returns the original entry or hold
  (`.replayed` is True) and moves nothing; the same key with different content raises IdempotencyConflict.
  "Content" is what the money does: kind, accounts, amounts and reference (not description or metadata).
- Call these inside your own `transaction.atomic()` when your state change must commit with the money
  (it should). Locks: accounts are locked in id order (FOR NO KEY UPDATE), then holds, then the audit
  trail's per-brokerage lock (audit_record, held until commit). Lock your own rows before calling, in a
  consistent order; make the ledger call the last locking step of your transaction and your own
  audit_record the very last write. Two ledger calls in one transaction (or a ledger call after an
  audit_record) wait for account locks while holding the audit lock, and can deadlock with a concurrent
  posting: put everything one business event moves into one entry (a fee is a third line, not a second post).
- Authorization is the calling use case's job (withdrawal_request checks the client owns the wallet, the
  manual adjustment checks payments:adjust); these functions record the actor but trust the caller.

Every write runs under READ COMMITTED (Django's default) and writes one audit entry per effect when the
audit app is installed.
"""

from tenant_apps.ledger.services.accounts import account_get_or_create
from tenant_apps.ledger.services.entries import ledger_post, ledger_transfer
from tenant_apps.ledger.services.holds import hold_capture, hold_place, hold_release

__all__ = [
    "account_get_or_create",
    "ledger_post",
    "ledger_transfer",
    "hold_place",
    "hold_release",
    "hold_capture",
]
