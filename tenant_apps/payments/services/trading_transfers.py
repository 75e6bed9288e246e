"""Internal transfers with a trading account on either side: wallet → trading, trading → wallet, trading → trading.

One client, one currency (a conversion would need an explicit rate source; none exists, and we do not invent
rates). The state machine is states.TRANSFER_TRANSITIONS; what happens, in order:

- Request (`transfer_request`, in the web request): ownership, account status, currency, amount precision and,
  for money leaving a trading account, the platform's FREE MARGIN read live through the adapter. A wallet
  source is debited in the books at once (wallet → mirror, key f"transfer:{pk}:ledger"), so it can't be spent
  twice. Then `transfer_process` is queued after commit.
- Worker (`transfer_process`, idempotent, one holder at a time per transfer): the next step is derived from
  facts recorded on the row, not from the status alone:
  1. trading source not debited yet → platform withdrawal (reference f"transfer:{pk}:debit"), then in one
     transaction the ledger entry mirror → wallet/mirror and the ticket;
  2. trading destination not credited yet → platform deposit (reference f"transfer:{pk}:credit");
  3. a destination that refused the credit → compensation: the source platform gets its money back
     (f"transfer:{pk}:refund") and the books are reversed (key f"transfer:{pk}:refund").
  MT5 balance operations are not idempotent; the adapter searches the deal history for the reference before
  sending and after a lost answer, so a replayed message or a retry after a timeout never applies twice.
- A platform that stays unreachable keeps the transfer open (dramatiq retries, then the sweep every few
  minutes); after TRANSFER_ATTENTION_AFTER it is shown to Finance as needs_attention while the sweep keeps
  trying. A compensation that cannot complete parks it in needs_attention too. Nothing is ever silent.

The trading account's money is mirrored in the ledger as CLIENT_TRADING_MIRROR owned by its login. Trading
profit is not booked as it happens, so money leaving a trading account may exceed its mirror: the shortfall
(up to what the platform balance really holds above the mirror) is booked from TRADING_PNL in the same entry,
and named in the entry's metadata and the audit trail.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from tenancy.context import require_tenant
from tenancy.workers import send_on_commit
from tenant_apps.identity.permissions import PermissionDeniedError
from tenant_apps.ledger.errors import InsufficientAvailableBalance, LedgerError
from tenant_apps.ledger.models import AccountKind, LedgerAccount, Owner
from tenant_apps.payments import states
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import Transfer
from tenant_apps.payments.services._flow import (
    InsufficientBalance,
    TransitionRefused,
    new_reference,
    roles_of,
)
from tenant_apps.payments.services.transfers import (
    TransferRefused,
    transfer_between_wallets,
    transfer_blocked_reason,
)

log = logging.getLogger(__name__)

# An open transfer this old (since it was requested) is shown to Finance as needs_attention.
TRANSFER_ATTENTION_AFTER = timedelta(minutes=30)
# The sweep re-sends open transfers whose last attempt is at least this old.
TRANSFER_RETRY_AFTER = timedelta(minutes=2)
# Platform answers that will not change on a retry (anything else is retried).
PERMANENT = ("Rejected", "NotFound", "NotPermitted")


class TransferBusy(PaymentsError):
    """Another worker is processing this transfer right now: retried later (then it is done or continues)."""

    code = "transfer_busy"


class TransferStepRetry(PaymentsError):
    """The trading server could not be reached (or the outcome is not settled yet): retried with backoff."""

    code = "transfer_retry"


@dataclass(frozen=True)
class Side:
    """One end of a transfer: a wallet (ledger account) or a trading account with its ledger mirror."""

    ledger: LedgerAccount | None  # None until a trading account's mirror is opened (after every check)
    trading: object | None = None  # trading.TradingAccount

    @property
    def currency(self) -> str:
        return self.trading.currency if self.trading is not None else self.ledger.currency

    def opened(self) -> Side:
        return self if self.ledger is not None else Side(ledger=mirror_of(self.trading), trading=self.trading)

    @property
    def label(self) -> str:
        return f"trading account {self.trading.login}" if self.trading is not None else f"{self.currency} wallet"


def mirror_of(account) -> LedgerAccount:
    from tenant_apps.ledger.services import account_get_or_create

    return account_get_or_create(kind=AccountKind.CLIENT_TRADING_MIRROR, owner=Owner.trading_account(account.login),
                                 currency=account.currency)


def trading_account_refusal(account) -> str:
    """Why money may not move in or out of this trading account now ("" when it may)."""
    from tenant_apps.trading.models import AccountStatus

    login = account.login
    if account.is_demo:
        return f"Account {login} is a demo account: transfers move real money between live accounts only."
    return {
        AccountStatus.ACTIVE: "",
        AccountStatus.BLOCKED: f"Trading account {login} is restricted: transfers in and out of it are blocked. "
                               "Contact support.",
        AccountStatus.ARCHIVED: f"Trading account {login} is archived: it takes no transfers.",
        AccountStatus.PENDING_CREATION: f"Trading account {login} is still being created on the trading server; "
                                        "try again in a few minutes.",
        AccountStatus.FAILED: f"Trading account {login} could not be created: it takes no transfers.",
    }.get(account.status, f"Trading account {login} takes no transfers ({account.status}).")


def _side(client, end, *, role: str) -> Side:
    """Resolve a wallet (LedgerAccount) or TradingAccount of THIS client; anything else is refused as unknown."""
    from tenant_apps.trading.models import TradingAccount

    if isinstance(end, TradingAccount):
        if end.client_id != client.pk:
            raise PermissionDeniedError("payments", "view")  # never someone else's account (no IDOR)
        refusal = trading_account_refusal(end)
        if refusal:
            raise TransferRefused(refusal, code=f"{role}_restricted")
        return Side(ledger=None, trading=end)
    if isinstance(end, LedgerAccount) and end.kind == AccountKind.CLIENT_WALLET and end.owner_id == str(client.pk):
        return Side(ledger=end)
    raise PermissionDeniedError("payments", "view")


def _platform_error_name(exc) -> str:
    return type(exc).__name__


def free_margin_check(*, account, amount: Decimal) -> None:
    """Refuse money leaving a trading account beyond what the platform says is free, read live now."""
    from tenant_apps.trading.adapters.base import TradingPlatformError, Unavailable
    from tenant_apps.trading.errors import ServerUnavailable
    from tenant_apps.trading.services import adapter_for

    try:
        state = adapter_for(account.server).get_account_state(account.login)
    except (Unavailable, ServerUnavailable) as exc:
        raise TransferRefused("The trading server is not reachable right now, so the free margin of account "
                              f"{account.login} cannot be checked; nothing was moved. Try again in a few minutes.",
                              code="platform_unavailable") from exc
    except TradingPlatformError as exc:
        raise TransferRefused(f"The trading server cannot read account {account.login} ({exc}); nothing was moved.",
                              code="platform_error") from exc
    available = min(state.free_margin, state.balance)
    if amount > available:
        what = "free margin" if state.free_margin <= state.balance else "balance"
        raise TransferRefused(
            f"{amount} {account.currency} is more than the {what} of trading account {account.login} "
            f"({available} {account.currency} available now, free margin read live from the trading server). "
            "Close positions or transfer less.", code="insufficient_free_margin")


def _amount_checked(amount, currency: str) -> Decimal:
    from tenant_apps.ledger.currencies import amount_validate, currency_decimal_places

    try:
        return amount_validate(amount, currency=currency, decimal_places=currency_decimal_places(currency),
                               positive=True)
    except LedgerError as exc:
        raise TransferRefused(f"Invalid amount: {exc.message}", code="invalid_amount") from exc


class IdempotencyKeyReused(PaymentsError):
    """The client's idempotency key already names a transfer made with another request."""

    code = "idempotency_key_reused"


IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,80}$")


def _end_key(end) -> str:
    from tenant_apps.trading.models import TradingAccount

    return f"t{end.pk}" if isinstance(end, TradingAccount) else f"w{getattr(end, 'pk', end)}"


def _request_fingerprint(source, destination, amount) -> str:
    try:
        amount_text = format(Decimal(str(amount).strip()).normalize(), "f")
    except ArithmeticError:
        amount_text = str(amount)
    return hashlib.sha256(f"{_end_key(source)}|{_end_key(destination)}|{amount_text}".encode()).hexdigest()


def transfer_for_key(*, client, idempotency_key: str, source, destination, amount) -> Transfer | None:
    """The transfer this client already made with this key (its replay), None when the key is new.
    The same key with another source, destination or amount raises IdempotencyKeyReused."""
    if not idempotency_key:
        return None
    if not IDEMPOTENCY_KEY_RE.match(idempotency_key):
        raise TransferRefused(gettext("The idempotency key must be 8 to 80 letters, digits or the characters _ . : -"),
                              code="invalid_idempotency_key")
    existing = Transfer.objects.filter(client=client, idempotency_key=idempotency_key).first()
    if existing is not None and existing.request_fingerprint != _request_fingerprint(source, destination, amount):
        raise IdempotencyKeyReused(
            f"This idempotency key was already used for transfer {existing.reference} with a different source, "
            "destination or amount. Use a new key for a new transfer; nothing was moved.")
    return existing


def transfer_request(*, client, source, destination, amount: Decimal, deposit=None, actor=None,
                     idempotency_key: str = "") -> Transfer:
    """A client moves money between two of their own accounts (a wallet: its LedgerAccount; a trading account:
    the TradingAccount). Refusals are TransferRefused / InsufficientBalance with a specific message, and
    PermissionDeniedError for anything not the client's own; nothing moves then.

    With `idempotency_key` (the form's one-time token, the API's Idempotency-Key header) a replay returns the
    first transfer with `replayed = True` and moves nothing; the same key with another request raises
    IdempotencyKeyReused. The key is unique per client in the database, so two concurrent replays make one."""
    from django.db import IntegrityError

    require_tenant()
    existing = transfer_for_key(client=client, idempotency_key=idempotency_key, source=source,
                                destination=destination, amount=amount)
    if existing is not None:
        existing.replayed = True
        return existing
    try:
        return _transfer_request(client=client, source=source, destination=destination, amount=amount,
                                 deposit=deposit, actor=actor, idempotency_key=idempotency_key)
    except IntegrityError:
        existing = transfer_for_key(client=client, idempotency_key=idempotency_key, source=source,
                                    destination=destination, amount=amount)
        if existing is None:
            raise
        existing.replayed = True
        return existing


def _transfer_request(*, client, source, destination, amount: Decimal, deposit, actor, idempotency_key: str):
    from tenant_apps.audit.services import audit_lock, audit_record
    from tenant_apps.ledger.services import ledger_transfer
    from tenant_apps.trading.models import TradingAccount

    if isinstance(source, LedgerAccount) and isinstance(destination, LedgerAccount):
        return transfer_between_wallets(client=client, source=source, destination=destination, amount=amount)
    blocked = transfer_blocked_reason(client=client, source=source)
    if blocked:
        raise TransferRefused(blocked, code="source_restricted")
    if isinstance(source, TradingAccount) and isinstance(destination, TradingAccount) and source.pk == destination.pk:
        raise TransferRefused(gettext("Choose two different accounts."), code="same_account")
    src, dst = _side(client, source, role="source"), _side(client, destination, role="destination")
    if src.currency != dst.currency:
        raise TransferRefused(
            f"The {src.label} is in {src.currency} and the {dst.label} in {dst.currency}: a conversion needs an "
            "exchange rate, and no rate source is configured for this brokerage (we never make one up). Transfer "
            "between accounts in the same currency.", code="no_rate_source")
    amount = _amount_checked(amount, src.currency)
    if src.trading is not None:
        free_margin_check(account=src.trading, amount=amount)
    actor = actor or client
    src, dst = src.opened(), dst.opened()  # the mirrors are opened only for a transfer that goes ahead
    with transaction.atomic():
        audit_lock()
        now = timezone.now()
        transfer = Transfer.objects.create(
            client=client, reference=new_reference("TR"), source_account=src.ledger, destination_account=dst.ledger,
            source_trading_account=src.trading, destination_trading_account=dst.trading, deposit=deposit,
            amount=amount, currency=src.currency, status="requested", status_changed_at=now, created_at=now,
            idempotency_key=idempotency_key,
            request_fingerprint=_request_fingerprint(source, destination, amount) if idempotency_key else "")
        if src.trading is None:  # wallet → trading: the wallet pays now, so it can't be spent twice
            try:
                entry = ledger_transfer(idempotency_key=f"transfer:{transfer.pk}:ledger", source=src.ledger,
                                        destination=dst.ledger, amount=amount, kind="transfer.to_trading",
                                        description=f"Transfer {transfer.reference} to {dst.label}",
                                        reference=transfer, actor=actor)
            except InsufficientAvailableBalance as exc:
                transaction.set_rollback(True)
                raise InsufficientBalance(gettext("Insufficient available balance for this transfer.")) from exc
            transfer.entry_id, transfer.status, transfer.debited_at = entry.pk, "debited", now
            transfer.save(update_fields=["entry_id", "status", "debited_at"])
        audit_record(action="transfer.requested", obj=transfer, actor=actor, subject=client.pk,
                     changes={"status": [None, transfer.status], "amount": [None, str(amount)],
                              "from": [None, src.label], "to": [None, dst.label],
                              **({"deposit": [None, deposit.reference]} if deposit is not None else {})})
        from tenant_apps.payments.tasks import transfer_process as transfer_actor

        send_on_commit(transfer_actor, transfer.pk)
    return transfer


# --- the worker's steps -------------------------------------------------------------------------------------

def _move(transfer: Transfer, *, target: str, actor=None, reason: str = "", extra_fields=(), changes=None) -> None:
    """Move a locked transfer along states.TRANSFER_TRANSITIONS and audit it (the caller holds audit_lock)."""
    from tenant_apps.audit.services import audit_record

    if not states.may_move(states.transfer_transition(transfer.status, target), roles_of(actor)):
        raise TransitionRefused(f"Transfer {transfer.reference} cannot move {transfer.status} → {target}.")
    before, now = transfer.status, timezone.now()
    transfer.status, transfer.status_changed_at = target, now
    stamp = {"debited": "debited_at", "completed": "completed_at", "failed": "failed_at"}.get(target)
    fields = ["status", "status_changed_at", *extra_fields]
    if stamp:
        setattr(transfer, stamp, now)
        fields.append(stamp)
    transfer.save(update_fields=fields)
    audit_record(action=f"transfer.{target}", obj=transfer, actor=actor or "payments-transfers",
                 subject=transfer.client_id, reason=reason[:300],
                 changes={"status": [before, target], **(changes or {})})


def _locked(transfer_id: int) -> Transfer:
    return Transfer.objects.select_for_update().get(pk=transfer_id)


def _platform(transfer: Transfer, account, *, kind, leg: str):
    """One balance operation with its stable reference. Returns the BalanceResult; raises TransferStepRetry
    for what a retry may fix and the adapter's permanent errors (Rejected, NotFound, NotPermitted) as they are."""
    from tenant_apps.trading.adapters.base import TradingPlatformError, Unavailable
    from tenant_apps.trading.errors import ServerUnavailable
    from tenant_apps.trading.services import trading_balance_apply

    Transfer.objects.filter(pk=transfer.pk).update(attempts=F("attempts") + 1, last_attempt_at=timezone.now())
    try:
        return trading_balance_apply(account_id=account.pk, amount=transfer.amount, kind=kind,
                                     reference=f"transfer:{transfer.pk}:{leg}", actor="payments-transfers")
    except (ServerUnavailable, Unavailable) as exc:
        raise TransferStepRetry(f"{leg} on {account.login}: {exc}") from exc
    except TradingPlatformError as exc:
        if _platform_error_name(exc) in PERMANENT:
            raise
        raise TransferStepRetry(f"{leg} on {account.login}: {exc}") from exc


def after_platform_debit(transfer: Transfer) -> None:
    """Between the platform withdrawal and the ledger entry (tests raise here to simulate a crash: the next run
    finds the withdrawal by its reference in the deal history and books it once)."""


def before_platform_credit(transfer: Transfer) -> None:
    """Between the ledger entry and the platform deposit (tests raise here to simulate a crash)."""


def _pnl_shortfall(mirror: LedgerAccount, amount: Decimal, platform_balance_before: Decimal | None) -> Decimal:
    """How much of `amount` the mirror lacks (unbooked trading profit), capped by what the platform held above
    the mirror before this withdrawal. Zero when the mirror covers it."""
    from tenant_apps.ledger.selectors import account_available_balance

    available = account_available_balance(account=LedgerAccount.objects.get(pk=mirror.pk))
    if available >= amount:
        return Decimal(0)
    lacking = amount - available
    if platform_balance_before is None:  # can't prove the profit now: book nothing invented, retry later
        raise TransferStepRetry(f"platform balance of mirror {mirror.pk} unreadable; profit not provable yet")
    return min(lacking, max(Decimal(0), platform_balance_before - available))


def _debit_source(transfer: Transfer) -> None:
    """Trading source: withdraw on the platform first (its margin check is the real one), then the books."""
    from tenant_apps.audit.services import audit_lock
    from tenant_apps.ledger.services import account_get_or_create, ledger_post
    from tenant_apps.trading.adapters.base import BalanceKind, TradingPlatformError

    account = transfer.source_trading_account
    try:
        result = _platform(transfer, account, kind=BalanceKind.WITHDRAWAL, leg="debit")
    except TradingPlatformError as exc:  # permanent: nothing moved anywhere
        reason = (f"The trading server refused to take {transfer.amount} {transfer.currency} from account "
                  f"{account.login}: not enough free margin at the time of the transfer. Nothing was moved."
                  if getattr(exc, "retcode", None) == 10019 else
                  f"The trading server refused to take the money from account {account.login} ({exc}). "
                  "Nothing was moved.")
        with transaction.atomic():
            audit_lock()
            locked = _locked(transfer.pk)
            if locked.status in ("requested", "needs_attention") and locked.entry_id is None:
                locked.failure_reason, locked.staff_note = reason[:300], f"debit refused: {exc}"
                _move(locked, target="failed", reason=str(exc), extra_fields=("failure_reason", "staff_note"))
        return
    after_platform_debit(transfer)
    balance_before = _platform_balance_before(account, transfer.amount)
    pnl = account_get_or_create(kind=AccountKind.TRADING_PNL, owner=None, currency=transfer.currency)
    with transaction.atomic():
        audit_lock()
        locked = _locked(transfer.pk)
        if locked.entry_id is not None or locked.status not in ("requested", "needs_attention"):
            return  # another run booked it
        shortfall = _pnl_shortfall(locked.source_account, locked.amount, balance_before)
        # The mirror pays what it holds; unbooked trading profit (proven by the platform balance) pays the rest.
        lines = [(locked.destination_account, locked.amount)]
        if locked.amount - shortfall:
            lines.append((locked.source_account, -(locked.amount - shortfall)))
        if shortfall:
            lines.append((pnl, -shortfall))
        try:
            entry = ledger_post(
                idempotency_key=f"transfer:{locked.pk}:ledger", lines=lines, kind="transfer.from_trading",
                description=f"Transfer {locked.reference} from trading account {account.login}", reference=locked,
                metadata={"platform_ticket": result.ticket, "trading_profit_booked": str(shortfall)})
        except InsufficientAvailableBalance as exc:
            transaction.set_rollback(True)
            raise TransferStepRetry(f"mirror of {account.login} short: {exc}") from exc
        locked.entry_id, locked.platform_debit_ticket = entry.pk, result.ticket
        target = "completed" if locked.destination_trading_account_id is None else "debited"
        _move(locked, target=target, extra_fields=("entry_id", "platform_debit_ticket"),
              reason=f"platform withdrawal ticket {result.ticket}",
              changes={"platform_debit_ticket": [None, result.ticket],
                       **({"trading_profit_booked": [None, str(shortfall)]} if shortfall else {})})


def _platform_balance_before(account, amount: Decimal) -> Decimal | None:
    """The platform balance before our withdrawal: read live now (after it) plus the amount; None if unreadable."""
    from tenant_apps.trading.adapters.base import TradingPlatformError
    from tenant_apps.trading.errors import TradingError
    from tenant_apps.trading.services import adapter_for

    try:
        return adapter_for(account.server).get_account_state(account.login).balance + amount
    except (TradingPlatformError, TradingError):
        return None


def _credit_destination(transfer: Transfer) -> None:
    from tenant_apps.audit.services import audit_lock
    from tenant_apps.trading.adapters.base import BalanceKind, TradingPlatformError

    account = transfer.destination_trading_account
    before_platform_credit(transfer)
    try:
        result = _platform(transfer, account, kind=BalanceKind.DEPOSIT, leg="credit")
    except TradingPlatformError as exc:  # permanent: give the money back
        back_to = (f"trading account {transfer.source_trading_account.login}"
                   if transfer.source_trading_account_id else f"{transfer.currency} wallet")
        reason = (f"The trading server refused to credit account {account.login} ({exc}); the amount was returned "
                  f"to your {back_to}.")
        with transaction.atomic():
            locked = _locked(transfer.pk)
            if not locked.failure_reason:
                locked.failure_reason, locked.staff_note = reason[:300], f"credit refused: {exc}"
                locked.save(update_fields=["failure_reason", "staff_note"])
        transfer.refresh_from_db()
        _compensate(transfer)
        return
    with transaction.atomic():
        audit_lock()
        locked = _locked(transfer.pk)
        if locked.platform_credit_ticket is not None or locked.status not in ("debited", "needs_attention"):
            return
        locked.platform_credit_ticket = result.ticket
        _move(locked, target="completed", extra_fields=("platform_credit_ticket",),
              reason=f"platform deposit ticket {result.ticket}",
              changes={"platform_credit_ticket": [None, result.ticket]})


def _compensate(transfer: Transfer) -> None:
    """The destination refused the credit: the source gets its money back, on the platform and in the books.
    Anything that cannot complete parks the transfer in needs_attention (the sweep keeps trying)."""
    from tenant_apps.audit.services import audit_lock
    from tenant_apps.ledger.services import ledger_transfer
    from tenant_apps.trading.adapters.base import BalanceKind, TradingPlatformError

    refund_ticket = transfer.platform_refund_ticket
    if transfer.source_trading_account_id is not None and refund_ticket is None:
        try:
            refund_ticket = _platform(transfer, transfer.source_trading_account, kind=BalanceKind.DEPOSIT,
                                      leg="refund").ticket
        except (TradingPlatformError, TransferStepRetry) as exc:
            _attention(transfer, note=f"refund to {transfer.source_trading_account.login} failed: {exc}")
            if isinstance(exc, TransferStepRetry):
                raise
            return
    with transaction.atomic():
        audit_lock()
        locked = _locked(transfer.pk)
        if locked.status not in ("debited", "needs_attention") or locked.refund_entry_id is not None:
            return
        try:
            entry = ledger_transfer(idempotency_key=f"transfer:{locked.pk}:refund",
                                    source=locked.destination_account, destination=locked.source_account,
                                    amount=locked.amount, kind="transfer.refund",
                                    description=f"Transfer {locked.reference} returned", reference=locked)
        except InsufficientAvailableBalance as exc:
            transaction.set_rollback(True)
            note = f"refund entry refused: {exc}"
        else:
            locked.refund_entry_id, locked.platform_refund_ticket = entry.pk, refund_ticket
            _move(locked, target="failed", reason=locked.staff_note,
                  extra_fields=("refund_entry_id", "platform_refund_ticket"),
                  changes={"refund_entry": [None, entry.pk], "platform_refund_ticket": [None, refund_ticket]})
            return
    _attention(transfer, note=note)


def _attention(transfer: Transfer, *, note: str) -> None:
    from tenant_apps.audit.services import audit_lock

    with transaction.atomic():
        audit_lock()
        locked = _locked(transfer.pk)
        locked.staff_note = f"{locked.staff_note}\n{timezone.now():%Y-%m-%d %H:%M:%S} {note}".strip()[-4000:]
        if locked.status in states.TRANSFER_OPEN:
            _move(locked, target="needs_attention", reason=note, extra_fields=("staff_note",))
        else:
            locked.save(update_fields=["staff_note"])


class _Claim:
    """A session-level advisory lock on one transfer: one worker at a time runs its platform steps (the
    adapter's reference check is not atomic against a concurrent sender)."""

    def __init__(self, transfer_id: int):
        self.key = [f"{connection.schema_name}:payments.transfer", int(transfer_id)]

    def __enter__(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s), %s)", self.key)
            self.held = bool(cursor.fetchone()[0])
        return self.held

    def __exit__(self, *exc) -> None:
        if self.held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s), %s)", self.key)


def transfer_process(*, transfer_id: int) -> Transfer:
    """Run whatever step the transfer still needs (idempotent). Raises TransferStepRetry / TransferBusy when a
    later retry must finish it."""
    require_tenant()
    with _Claim(transfer_id) as held:
        if not held:
            raise TransferBusy(f"transfer {transfer_id} is being processed by another worker")
        transfer = Transfer.objects.select_related("source_trading_account__server",
                                                   "destination_trading_account__server").get(pk=transfer_id)
        if transfer.status in ("completed", "failed"):
            return transfer
        if transfer.source_trading_account_id is not None and transfer.entry_id is None:
            _debit_source(transfer)
            transfer.refresh_from_db()
        if transfer.status in ("debited", "needs_attention") and transfer.entry_id is not None \
                and transfer.destination_trading_account_id is not None:
            if transfer.failure_reason:
                _compensate(transfer)
            elif transfer.platform_credit_ticket is None:
                _credit_destination(transfer)
            transfer.refresh_from_db()
        return transfer


def transfers_sweep() -> int:
    """Re-send open transfers whose last attempt is stale; flag the old ones for Finance. Returns how many."""
    from tenancy.workers import send_to_tenant
    from tenant_apps.audit.services import audit_lock
    from tenant_apps.payments.tasks import transfer_process as transfer_actor

    require_tenant()
    now = timezone.now()
    stale = list(Transfer.objects.filter(status__in=["requested", "debited", "needs_attention"])
                 .exclude(last_attempt_at__gt=now - TRANSFER_RETRY_AFTER)
                 .values_list("pk", "status", "created_at")[:500])
    for pk, status, created_at in stale:
        if status in states.TRANSFER_OPEN and created_at < now - TRANSFER_ATTENTION_AFTER:
            with transaction.atomic():
                audit_lock()
                locked = _locked(pk)
                if locked.status in states.TRANSFER_OPEN:
                    locked.staff_note = (f"{locked.staff_note}\nopen for more than "
                                         f"{int(TRANSFER_ATTENTION_AFTER.total_seconds() // 60)} minutes").strip()
                    _move(locked, target="needs_attention", reason="open too long", extra_fields=("staff_note",))
        send_to_tenant(transfer_actor, connection.schema_name, pk)
    return len(stale)


# --- a deposit the client wanted in a trading account -----------------------------------------------------------

def deposit_target_account(*, client, login: str, currency: str):
    """The client's active live trading account with this login in this currency, or DepositRefused's reason."""
    from tenant_apps.payments.services.deposits import DepositRefused
    from tenant_apps.trading.models import TradingAccount

    account = TradingAccount.objects.filter(client=client, login=int(login) if str(login).isdigit() else -1,
                                            is_demo=False).first()
    if account is None:
        raise DepositRefused(gettext("Choose your wallet or one of your live trading accounts."), code="unknown_account")
    refusal = trading_account_refusal(account)
    if refusal:
        raise DepositRefused(refusal, code="account_restricted")
    if account.currency != currency.upper():
        raise DepositRefused(f"Trading account {account.login} is in {account.currency}; deposit in "
                             f"{account.currency} or choose your {currency.upper()} wallet.", code="currency_mismatch")
    return account


def deposit_to_trading_account(*, deposit_id: int) -> Transfer | None:
    """A credited deposit that names a trading account: move what was credited (amount − fee) wallet → that
    account, once per deposit (Transfer.deposit is unique). If the account can't take it now, the money stays in
    the wallet and a failed transfer with the reason shows it to the client."""
    from tenant_apps.audit.services import audit_lock
    from tenant_apps.payments.models import Deposit
    from tenant_apps.payments.services._flow import wallet_of
    from tenant_apps.trading.models import TradingAccount

    require_tenant()
    deposit = Deposit.objects.select_related("client").get(pk=deposit_id)
    if not deposit.target_trading_login or deposit.status not in ("credited", "reconciled"):
        return None
    existing = Transfer.objects.filter(deposit=deposit).first()
    if existing is not None:
        return existing
    wallet = wallet_of(client_id=deposit.client_id, currency=deposit.currency)
    account = TradingAccount.objects.filter(client_id=deposit.client_id, login=int(deposit.target_trading_login)
                                            if deposit.target_trading_login.isdigit() else -1).first()
    net = deposit.amount - deposit.fee
    try:
        if account is None:
            raise TransferRefused(f"Trading account {deposit.target_trading_login} was not found.", code="not_found")
        return transfer_request(client=deposit.client, source=wallet, destination=account, amount=net,
                                deposit=deposit, actor="payments-transfers")
    except (PaymentsError, PermissionDeniedError, LedgerError) as exc:
        from django.db import IntegrityError

        if Transfer.objects.filter(deposit=deposit).exists():  # a concurrent run made it
            return Transfer.objects.get(deposit=deposit)
        message = getattr(exc, "message", str(exc))
        destination = mirror_of(account) if account is not None else None
        if destination is None or destination.currency != wallet.currency:
            log.warning("deposit %s: cannot move to trading account %s: %s", deposit.reference,
                        deposit.target_trading_login, message)
            _record_deposit_left_in_wallet(deposit, message)
            return None
        try:
            with transaction.atomic():
                audit_lock()
                now = timezone.now()
                failed = Transfer.objects.create(
                    client=deposit.client, reference=new_reference("TR"), source_account=wallet,
                    destination_account=destination, destination_trading_account=account, deposit=deposit,
                    amount=net, currency=deposit.currency, status="failed", failed_at=now, status_changed_at=now,
                    failure_reason=f"{message} The deposit stays in your {deposit.currency} wallet."[:300],
                    staff_note=f"deposit {deposit.reference} not moved: {message}")
                from tenant_apps.audit.services import audit_record

                audit_record(action="transfer.failed", obj=failed, actor="payments-transfers", subject=deposit.client_id,
                             reason=message[:300], changes={"status": [None, "failed"], "deposit": deposit.reference})
                return failed
        except IntegrityError:
            return Transfer.objects.filter(deposit=deposit).first()


def _record_deposit_left_in_wallet(deposit, message: str) -> None:
    from tenant_apps.audit.services import audit_record

    audit_record(action="deposit.kept_in_wallet", obj=deposit, actor="payments-transfers",
                 subject=deposit.client_id, reason=message[:300])


def deposit_credited_hook(*, deposit_id: int) -> None:
    """Registered with deposits.register_deposit_credited_hook: runs after the credit commits. A failure here
    is caught: the deposits sweep (transfers_for_deposits_sweep) retries it."""
    try:
        deposit_to_trading_account(deposit_id=deposit_id)
    except Exception:  # the sweep picks it up; never break the webhook worker that credited the deposit
        log.exception("moving deposit %s to its trading account failed; the sweep retries", deposit_id)


def deposits_to_trading_sweep(*, days: int = 7) -> int:
    """Credited deposits naming a trading account that have no transfer yet (a crash between the credit's
    commit and its hook): move them now. Returns how many were handled."""
    from tenant_apps.payments.models import Deposit

    require_tenant()
    since = timezone.now() - timedelta(days=days)
    pending = list(Deposit.objects.filter(status__in=["credited", "reconciled"], status_changed_at__gte=since,
                                          trading_transfer__isnull=True)
                   .exclude(target_trading_login="").values_list("pk", flat=True)[:500])
    for pk in pending:
        deposit_to_trading_account(deposit_id=pk)
    return len(pending)


# --- Finance resolves a transfer in needs_attention (states: needs_attention → completed | failed) -------------

class ResolutionRefused(PaymentsError):
    """A resolution that may not (or could not) happen now, with the reason; nothing was moved."""

    code = "resolution_refused"


@dataclass(frozen=True)
class PlatformLeg:
    """One platform leg of a transfer: its reference, the ticket we recorded, and what the platform's deal
    history shows for that reference now (read-only). `error` is set when the platform could not be read."""

    leg: str
    login: int
    reference: str
    recorded_ticket: int | None
    found_ticket: int | None = None
    found_amount: Decimal | None = None
    balance_now: Decimal | None = None
    error: str = ""


def transfer_platform_check(transfer: Transfer) -> list[PlatformLeg]:
    """Read-only: each platform leg (debit and refund on a trading source, credit on a trading destination) with
    what the server's deal history holds for its reference now and the account's balance now."""
    from tenant_apps.trading.adapters.base import TradingPlatformError
    from tenant_apps.trading.adapters.mt5.adapter import balance_comment
    from tenant_apps.trading.errors import TradingError
    from tenant_apps.trading.services import adapter_for

    legs = []
    if transfer.source_trading_account_id:
        legs += [("debit", transfer.source_trading_account), ("refund", transfer.source_trading_account)]
    if transfer.destination_trading_account_id:
        legs.append(("credit", transfer.destination_trading_account))
    seen: dict[int, tuple[dict, Decimal | None, str]] = {}
    out = []
    for leg, account in legs:
        if account.login not in seen:
            try:
                adapter = adapter_for(account.server)
                deals, cursor, pages = {}, None, 0
                while pages < 20:
                    page = adapter.list_deals_since(cursor=cursor, logins=[account.login],
                                                    from_time=transfer.created_at - timedelta(days=1))
                    deals.update({d.comment: d for d in page.deals if d.comment})
                    cursor, pages = page.cursor, pages + 1
                    if not page.has_more:
                        break
                seen[account.login] = (deals, adapter.get_account_state(account.login).balance, "")
            except (TradingPlatformError, TradingError) as exc:
                seen[account.login] = ({}, None, f"{type(exc).__name__}: {exc}")
        deals, balance, error = seen[account.login]
        reference = f"transfer:{transfer.pk}:{leg}"
        deal = deals.get(balance_comment(reference))
        out.append(PlatformLeg(leg=leg, login=account.login, reference=reference,
                               recorded_ticket=getattr(transfer, f"platform_{leg}_ticket"),
                               found_ticket=deal.ticket if deal else None, found_amount=deal.profit if deal else None,
                               balance_now=balance, error=error))
    return out


def _resolution_checked(transfer: Transfer, *, actor, target: str, note: str) -> str:
    note = (note or "").strip()
    if not states.may_move(states.transfer_transition("needs_attention", target), roles_of(actor) - {states.SYSTEM}):
        raise PermissionDeniedError("payments", "approve")
    if len(note) < 5:
        raise ResolutionRefused(gettext("Write a note (at least 5 characters) saying why; nothing was changed."))
    if transfer.status != "needs_attention":
        raise ResolutionRefused(f"Transfer {transfer.reference} is {transfer.status}: only a transfer that needs "
                                "attention can be resolved here; nothing was changed.")
    return note


def _resolution_audit(transfer: Transfer, *, action: str, actor, note: str) -> None:
    from tenant_apps.audit.services import audit_lock, audit_record

    with transaction.atomic():
        audit_lock()
        audit_record(action=action, obj=transfer, actor=actor, subject=transfer.client_id, reason=note[:300],
                     changes={"status": [transfer.status, transfer.status]})


def transfer_retry_now(*, transfer: Transfer, actor, note: str) -> Transfer:
    """Finance runs the worker's next step now (the same transfer_process: exactly once per leg, as always)."""
    require_tenant()
    note = _resolution_checked(transfer, actor=actor, target="completed", note=note)
    _resolution_audit(transfer, action="transfer.retry_requested", actor=actor, note=note)
    try:
        return transfer_process(transfer_id=transfer.pk)
    except TransferBusy as exc:
        raise ResolutionRefused(gettext("A worker is processing this transfer right now; reload the page in a minute.")) \
            from exc
    except TransferStepRetry as exc:
        raise ResolutionRefused(f"The retry did not finish ({exc}). The transfer stays in needs attention and the "
                                "sweep keeps trying.") from exc


def transfer_fail_and_return(*, transfer: Transfer, actor, note: str) -> Transfer:
    """Finance gives up on a stuck transfer: the money goes back where it came from through the compensation
    path (_compensate: platform refund reference transfer:{pk}:refund, ledger key transfer:{pk}:refund), so it
    is never returned twice. Refused while the platform shows the leg we would undo as applied (retry instead)
    or cannot be read (nothing can be proved then)."""
    from tenant_apps.audit.services import audit_lock

    require_tenant()
    note = _resolution_checked(transfer, actor=actor, target="failed", note=note)
    with _Claim(transfer.pk) as held:
        if not held:
            raise ResolutionRefused(gettext("A worker is processing this transfer right now; reload the page in a minute."))
        transfer = Transfer.objects.select_related("source_trading_account__server",
                                                   "destination_trading_account__server").get(pk=transfer.pk)
        note = _resolution_checked(transfer, actor=actor, target="failed", note=note)
        legs = {leg.leg: leg for leg in transfer_platform_check(transfer)}
        unreadable = [leg for leg in legs.values() if leg.error]
        if unreadable:
            raise ResolutionRefused(f"The trading server cannot be read now ({unreadable[0].error}), so what it "
                                    "applied cannot be checked; nothing was changed. Try again later.")
        undo = "debit" if transfer.entry_id is None else "credit"
        if undo == "credit" and transfer.destination_trading_account_id is None:
            raise ResolutionRefused("This transfer is booked and has no platform credit to undo; nothing was "
                                    "changed.")
        applied = legs.get(undo)
        if applied is not None and applied.found_ticket and not transfer.failure_reason:
            raise ResolutionRefused(
                f"The trading server shows the {undo} on account {applied.login} as applied (deal "
                f"#{applied.found_ticket}): use “retry now” to finish the transfer; returning the money would pay "
                "it twice. Nothing was changed.")
        _resolution_audit(transfer, action="transfer.return_requested", actor=actor, note=note)
        reason = f"Stopped by our finance team: {note}"[:300]
        if transfer.entry_id is None:  # nothing left the source: it simply fails
            with transaction.atomic():
                audit_lock()
                locked = _locked(transfer.pk)
                if locked.status != "needs_attention" or locked.entry_id is not None:
                    raise ResolutionRefused(f"Transfer {locked.reference} changed meanwhile; reload the page.")
                locked.failure_reason = locked.failure_reason or f"{reason} Nothing was taken from you."[:300]
                locked.staff_note = f"{locked.staff_note}\nfailed by finance: {note}".strip()[-4000:]
                _move(locked, target="failed", actor=actor, reason=note,
                      extra_fields=("failure_reason", "staff_note"))
            transfer.refresh_from_db()
            return transfer
        with transaction.atomic():
            locked = _locked(transfer.pk)
            if not locked.failure_reason:
                locked.failure_reason = f"{reason} The amount was returned to where it came from."[:300]
            locked.staff_note = f"{locked.staff_note}\nreturn by finance: {note}".strip()[-4000:]
            locked.save(update_fields=["failure_reason", "staff_note"])
        transfer.refresh_from_db()
        try:
            _compensate(transfer)
        except TransferStepRetry as exc:
            raise ResolutionRefused(f"The return could not complete ({exc}); the sweep keeps trying it.") from exc
        transfer.refresh_from_db()
        if transfer.status != "failed":
            raise ResolutionRefused("The return could not complete: "
                                    f"{transfer.staff_note.splitlines()[-1] if transfer.staff_note else ''}")
        return transfer
