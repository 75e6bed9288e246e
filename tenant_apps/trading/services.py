"""Every write of the trading capability: server credentials, opening and provisioning accounts, leverage,
block/unblock, archive, balance operations, and the per-server sync (accounts, positions, deals, drift)."""
from __future__ import annotations

import logging
import os
import queue
import secrets
import string
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext
from psycopg.errors import UniqueViolation

from tenancy.context import require_tenant
from tenancy.workers import send_on_commit
from tenant_apps.audit.services import audit_lock, audit_record
from tenant_apps.brokerage.models import AccountType, InstrumentClass, TradingServerConfig
from tenant_apps.payments import crypto
from tenant_apps.trading import states
from tenant_apps.trading.adapters.base import (
    BalanceKind,
    BalanceResult,
    DealCursor,
    Rejected,
    TradingPlatformAdapter,
    TradingPlatformError,
    Unavailable,
)
from tenant_apps.trading.errors import InvalidState, LeverageNotAllowed, NotAllowed, ServerUnavailable
from tenant_apps.trading.models import (
    AccountSnapshot,
    AccountStatus,
    DriftReport,
    LeverageRequest,
    LeverageRequestState,
    Position,
    SyncState,
    TradingAccount,
)

log = logging.getLogger(__name__)

# Leverage values a client may pick from (filtered by the jurisdiction's cap).
LEVERAGE_STEPS = (1, 2, 5, 10, 20, 30, 50, 100, 200, 300, 400, 500, 1000)
DEFAULT_INSTRUMENT_CLASS = InstrumentClass.FX_MAJOR.value
INSTRUMENT_CLASS_LABEL = {value: label for value, label in InstrumentClass.choices}
REGULATOR_SHORT = {"cysec": "CySEC", "fca": "FCA", "asic": "ASIC", "fsa_sc": "FSA Seychelles", "vfsc": "VFSC"}
# Platform-chosen logins start here on every server (below: accounts made by hand on the server).
LOGIN_BASE = 7_000_000
# Sync backoff after failures: 5 s, 10 s, 20 s ... capped at 10 minutes.
SYNC_BACKOFF_BASE_S = 5
SYNC_BACKOFF_MAX_S = 600
# Account creation retry delays (the actor's own backoff follows the same curve).
CREATE_BACKOFF_BASE_S = 2
CREATE_BACKOFF_MAX_S = 600
DEAL_PAGE = 20_000


# --- server connections -----------------------------------------------------------------------------------

def server_credentials_set(*, server: TradingServerConfig, manager_login: int, password: str, actor=None) -> None:
    """Store the manager login and (encrypted) password of a trading server; the audit shows the hint only."""
    require_tenant()
    with transaction.atomic():
        audit_lock()
        server = TradingServerConfig.objects.select_for_update().get(pk=server.pk)
        old_hint = server.manager_password_hint
        server.manager_login = int(manager_login)
        server.manager_password_encrypted = crypto.encrypt(password)
        server.manager_password_hint = crypto.secret_hint(password)[:16]
        server.save(update_fields=["manager_login", "manager_password_encrypted", "manager_password_hint"])
        audit_record(action="trading_server.credentials_set", obj=server, actor=actor,
                     changes={"manager_login": [None, server.manager_login],
                              "manager_password": [old_hint or None, server.manager_password_hint]})
    _adapter_cache_drop(connection.schema_name, server.pk)


_adapters: dict[tuple, TradingPlatformAdapter] = {}
_adapters_lock = threading.Lock()


def _adapter_cache_drop(schema: str, server_pk: int) -> None:
    with _adapters_lock:
        for key in [k for k in _adapters if k[0] == schema and k[1] == server_pk]:
            _adapters.pop(key).close()


def adapter_for(server: TradingServerConfig) -> TradingPlatformAdapter:
    """One adapter (one manager session) per server configuration per process."""
    from tenant_apps.trading.adapters.mt5 import MT5WebAPIAdapter

    use_tls = server.use_tls
    if server.manager_login and server.manager_password_encrypted:
        login, secret = server.manager_login, server.manager_password_encrypted
    elif server.kind == TradingServerConfig.Kind.MT5_SIMULATOR:
        # The bundled simulator as `make run` starts it (plain HTTP, manager from its environment), until
        # staff store real credentials for the connection.
        login = int(os.environ.get("TRADING_SIM_MANAGER_LOGIN", "1000"))
        secret = crypto.encrypt(os.environ.get("TRADING_SIM_MANAGER_PASSWORD", "Manager-2026!"))
        use_tls = False
    else:
        raise ServerUnavailable(f"trading server {server.code} has no manager credentials configured")
    key = (connection.schema_name, server.pk, server.host, server.port, login,
           server.manager_password_encrypted, use_tls, server.verify_tls)
    with _adapters_lock:
        adapter = _adapters.get(key)
        if adapter is None:
            timeout = float(getattr(settings, "TRADING_ADAPTER_TIMEOUT", 10.0))
            adapter = MT5WebAPIAdapter(
                host=server.host, port=server.port, login=login,
                password=crypto.decrypt(secret), use_tls=use_tls,
                verify_tls=server.verify_tls, timeout=timeout, connect_timeout=min(timeout, 5.0),
                deal_window=timedelta(hours=float(getattr(settings, "TRADING_DEAL_WINDOW_HOURS", 6))))
            _adapters[key] = adapter
        return adapter


# --- rules ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LeverageRule:
    cap: int
    auto_approve_max: int
    text: str


def leverage_rule(*, client, account_type: AccountType, instrument_class: str | None = None) -> LeverageRule:
    """The jurisdiction's cap for this client's country and the account type's instrument class (or the class
    asked for).

    `rules["max_leverage"]` holds the legal entity's caps; `rules["max_leverage_by_country"][CC]` overrides
    them for one country; `rules["leverage_auto_approve_max"]` is the highest value applied without review.
    """
    from tenant_apps.crm.models import ClientRecord

    instrument_class = instrument_class or account_type.instrument_class or DEFAULT_INSTRUMENT_CLASS
    entity = account_type.legal_entity
    rules = entity.rules or {}
    country = (ClientRecord.objects.filter(user_id=client.pk).values_list("country", flat=True).first() or "").upper()
    caps = dict(rules.get("max_leverage") or {})
    caps.update((rules.get("max_leverage_by_country") or {}).get(country, {}))
    cap = int(caps.get(instrument_class, caps.get(DEFAULT_INSTRUMENT_CLASS, 1)))
    regulator = REGULATOR_SHORT.get(entity.jurisdiction, entity.regulator)
    label = INSTRUMENT_CLASS_LABEL.get(instrument_class, instrument_class)
    where = f" in {country}" if country and country in (rules.get("max_leverage_by_country") or {}) else ""
    text = f"{regulator} caps {label} at 1:{cap} for retail clients{where}"
    auto = min(cap, int(rules.get("leverage_auto_approve_max") or cap))
    return LeverageRule(cap=cap, auto_approve_max=auto, text=text)


def leverage_options(*, client, account_type: AccountType) -> list[int]:
    cap = leverage_rule(client=client, account_type=account_type).cap
    return [v for v in LEVERAGE_STEPS if v <= cap]


def _check_leverage(*, client, account_type: AccountType, leverage: int) -> LeverageRule:
    rule = leverage_rule(client=client, account_type=account_type)
    if int(leverage) < 1 or int(leverage) > rule.cap:
        raise LeverageNotAllowed(f"Leverage 1:{leverage} is not allowed: {rule.text}.")
    return rule


# --- opening accounts ---------------------------------------------------------------------------------------

def _password() -> str:
    """A server password MT5 accepts: 12 characters with lower, upper, digit and special."""
    alphabet = string.ascii_letters + string.digits
    core = [secrets.choice(string.ascii_lowercase), secrets.choice(string.ascii_uppercase),
            secrets.choice(string.digits), secrets.choice("!#$%*+-=?@")]
    core += [secrets.choice(alphabet) for _ in range(8)]
    secrets.SystemRandom().shuffle(core)
    return "".join(core)


def _server_for(account_type: AccountType) -> TradingServerConfig:
    server = TradingServerConfig.objects.filter(legal_entity=account_type.legal_entity, is_enabled=True) \
        .order_by("id").first()
    if server is None:
        raise ServerUnavailable(gettext("No trading server is configured for this account type."))
    return server


def _allocate_login(server: TradingServerConfig) -> int:
    """The next platform-chosen login on this server (the server row lock serialises allocations)."""
    TradingServerConfig.objects.select_for_update().filter(pk=server.pk).first()
    top = TradingAccount.objects.filter(server=server).order_by("-login").values_list("login", flat=True).first()
    return max(LOGIN_BASE, (top or 0) + 1)


def _account_open(*, client, account_type: AccountType, leverage: int | None, actor, demo: bool) -> TradingAccount:
    require_tenant()
    if account_type.is_demo != demo or not account_type.is_active:
        raise NotAllowed(gettext("This account type is not available here."), code="account_type_unavailable")
    leverage = int(leverage or account_type.default_leverage)
    _check_leverage(client=client, account_type=account_type, leverage=leverage)
    server = _server_for(account_type)
    with transaction.atomic():
        audit_lock()
        account = TradingAccount.objects.create(
            client=client, server=server, account_type=account_type, login=_allocate_login(server),
            currency=account_type.currency, leverage=leverage, is_demo=demo, platform_group=account_type.platform_group,
            status=AccountStatus.PENDING_CREATION, status_reason="Waiting for the trading server.",
            pending_password_encrypted=crypto.encrypt(_password()))
        audit_record(action="trading_account.requested", obj=account, actor=actor or client, subject=client,
                     changes={"login": [None, account.login], "type": [None, account_type.code],
                              "leverage": [None, leverage], "demo": [None, demo]})
        from tenant_apps.trading.tasks import account_create_on_server

        send_on_commit(account_create_on_server, account.pk)
    return account


def trading_account_open_demo(*, client, account_type: AccountType, leverage: int | None = None,
                              actor=None) -> TradingAccount:
    """A demo account at once (no KYC): created on the server inline; if the server is down, the worker
    finishes it (the message was queued anyway)."""
    from tenant_apps.compliance.selectors import client_may

    allowed, reason = client_may(client, "open_demo_account")
    if not allowed:
        raise NotAllowed(reason, code="demo_not_allowed")
    account = _account_open(client=client, account_type=account_type, leverage=leverage, actor=actor, demo=True)
    try:
        return trading_account_provision(account_id=account.pk)
    except ServerUnavailable:
        account.refresh_from_db()
        return account


def trading_account_request_live(*, client, account_type: AccountType, leverage: int | None = None,
                                 actor=None) -> TradingAccount:
    """A live account request: refused with compliance's reason until KYC allows it; created by a worker."""
    from tenant_apps.compliance.selectors import client_may

    allowed, reason = client_may(client, "open_live_account")
    if not allowed:
        raise NotAllowed(reason, code="kyc_required")
    return _account_open(client=client, account_type=account_type, leverage=leverage, actor=actor, demo=False)


def _creation_backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(CREATE_BACKOFF_MAX_S, CREATE_BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


def trading_account_provision(*, account_id: int) -> TradingAccount:
    """Create a pending account on its server (idempotent: the login is chosen before the first attempt, so a
    repeat after a lost answer meets 3004 and settles by reading the account). Raises ServerUnavailable when
    the server cannot be reached: the account stays pending with a visible reason and the caller retries."""
    require_tenant()
    account = TradingAccount.objects.select_related("server", "client").get(pk=account_id)
    if account.status != AccountStatus.PENDING_CREATION:
        return account
    marker = f"brokeros:{account.pk}"
    try:
        adapter = adapter_for(account.server)
        try:
            info = adapter.create_account(
                group=account.platform_group, leverage=account.leverage, name=account.client.full_name or account.client.email,
                email=account.client.email, password_main=crypto.decrypt(account.pending_password_encrypted),
                password_investor=_password(), login=account.login, comment=marker)
        except Rejected as exc:
            if exc.retcode != 3004:
                raise
            info = adapter.get_account(account.login)
            if info.comment != marker:
                # Someone else holds this login on the server: take the next one and try again later.
                with transaction.atomic():
                    locked = TradingAccount.objects.select_for_update().get(pk=account.pk)
                    locked.login = _allocate_login(account.server) + 1000
                    locked.save(update_fields=["login", "updated_at"])
                raise ServerUnavailable(f"login {account.login} is taken on the server; retrying with another") \
                    from exc
    except (Unavailable, ServerUnavailable) as exc:
        with transaction.atomic():
            locked = TradingAccount.objects.select_for_update().get(pk=account.pk)
            locked.creation_attempts += 1
            locked.next_attempt_at = timezone.now() + _creation_backoff(locked.creation_attempts)
            locked.status_reason = ("The trading server is not reachable right now; we retry automatically "
                                    f"(attempt {locked.creation_attempts}).")[:300]
            locked.save(update_fields=["creation_attempts", "next_attempt_at", "status_reason", "updated_at"])
        raise ServerUnavailable(str(exc)) from exc
    except TradingPlatformError as exc:
        with transaction.atomic():
            audit_lock()
            locked = TradingAccount.objects.select_for_update().get(pk=account.pk)
            if locked.status == AccountStatus.PENDING_CREATION:
                locked.status = AccountStatus.FAILED
                locked.status_reason = f"The trading server refused the account: {exc}"[:300]
                locked.save(update_fields=["status", "status_reason", "updated_at"])
                audit_record(action="trading_account.failed", obj=locked, actor="trading-provision",
                             subject=locked.client_id, reason=str(exc)[:300])
        return locked
    with transaction.atomic():
        audit_lock()
        locked = TradingAccount.objects.select_for_update().get(pk=account.pk)
        if locked.status != AccountStatus.PENDING_CREATION:
            return locked
        locked.status = AccountStatus.ACTIVE
        locked.status_reason = ""
        locked.created_on_server_at = timezone.now()
        locked.leverage = info.leverage
        locked.creation_attempts += 1
        locked.save()
        audit_record(action="trading_account.created", obj=locked, actor="trading-provision",
                     subject=locked.client_id, changes={"status": [AccountStatus.PENDING_CREATION, locked.status]})
        password = crypto.decrypt(locked.pending_password_encrypted)
        transaction.on_commit(lambda email=locked.client.email, login=locked.login, pw=password:
                              _email_credentials(email=email, login=login, password=pw))
    return locked


def _email_credentials(*, email: str, login: int, password: str) -> None:
    try:
        send_mail(subject=f"Your trading account {login}",
                  message=f"Your trading account {login} is ready.\nServer password: {password}\n"
                          "Change it in the trading terminal after your first sign-in.",
                  from_email=None, recipient_list=[email])
    except Exception:  # the password is still shown once in the portal
        log.exception("could not e-mail the credentials of trading account %s", login)


def trading_account_credentials_reveal(*, client, account_id: int) -> str:
    """The server password, exactly once: it is erased from the platform as it is shown."""
    with transaction.atomic():
        audit_lock()
        account = TradingAccount.objects.select_for_update().get(pk=account_id, client=client)
        if account.credentials_shown or not account.pending_password_encrypted \
                or account.status == AccountStatus.PENDING_CREATION:
            raise InvalidState(gettext("The password was already shown; reset it in the trading terminal or ask support."))
        password = crypto.decrypt(account.pending_password_encrypted)
        account.pending_password_encrypted = ""
        account.credentials_shown = True
        account.save(update_fields=["pending_password_encrypted", "credentials_shown", "updated_at"])
        audit_record(action="trading_account.credentials_shown", obj=account, actor=client, subject=client)
    return password


# --- leverage -----------------------------------------------------------------------------------------------

def _live_account(account_id: int, **filters) -> TradingAccount:
    return TradingAccount.objects.select_related("server", "account_type__legal_entity", "client") \
        .get(pk=account_id, **filters)


def _server_call(fn, *args):
    try:
        return fn(*args)
    except Unavailable as exc:
        raise ServerUnavailable(gettext("The trading server is not reachable right now; try again in a few minutes.")) from exc


def leverage_change_request(*, client, account_id: int, leverage: int) -> LeverageRequest:
    """A client's leverage change: refused over the jurisdiction's cap (naming the rule), applied on the server
    at once within the auto-approval limit, otherwise queued for staff."""
    account = _live_account(account_id, client=client)
    if account.status != AccountStatus.ACTIVE:
        raise InvalidState(gettext("Leverage can only be changed on an active account."))
    rule = _check_leverage(client=client, account_type=account.account_type, leverage=leverage)
    leverage = int(leverage)
    auto = leverage <= rule.auto_approve_max
    if auto:
        _server_call(adapter_for(account.server).change_leverage, account.login, leverage)
    with transaction.atomic():
        audit_lock()
        account = TradingAccount.objects.select_for_update().get(pk=account.pk)
        request = LeverageRequest.objects.create(
            account=account, requested=leverage, previous=account.leverage, within_limits=auto,
            state=LeverageRequestState.AUTO_APPROVED if auto else LeverageRequestState.PENDING,
            reason="" if auto else f"Above 1:{rule.auto_approve_max}: reviewed by our team.",
            decided_at=timezone.now() if auto else None)
        changes = {"requested": [None, leverage]}
        if auto:
            changes["leverage"] = [account.leverage, leverage]
            account.leverage = leverage
            account.save(update_fields=["leverage", "updated_at"])
        audit_record(action="trading_account.leverage_requested", obj=account, actor=client, subject=client,
                     changes=changes, reason=request.get_state_display())
    return request


def leverage_request_decide(*, request_id: int, approve: bool, actor, reason: str = "") -> LeverageRequest:
    request = LeverageRequest.objects.select_related("account__server", "account__account_type__legal_entity",
                                                     "account__client").get(pk=request_id)
    target = LeverageRequestState.APPROVED if approve else LeverageRequestState.REJECTED
    if not states.can_move(request.state, target, "staff", states.LEVERAGE_TRANSITIONS):
        raise InvalidState(f"This request is already {request.get_state_display().lower()}.")
    account = request.account
    if approve:
        _check_leverage(client=account.client, account_type=account.account_type, leverage=request.requested)
        _server_call(adapter_for(account.server).change_leverage, account.login, request.requested)
    with transaction.atomic():
        audit_lock()
        request = LeverageRequest.objects.select_for_update().get(pk=request.pk)
        locked = TradingAccount.objects.select_for_update().get(pk=account.pk)
        request.state, request.decided_by, request.decided_at, request.reason = target, actor, timezone.now(), reason[:300]
        request.save()
        changes = {"state": [LeverageRequestState.PENDING, target]}
        if approve:
            changes["leverage"] = [locked.leverage, request.requested]
            locked.leverage = request.requested
            locked.save(update_fields=["leverage", "updated_at"])
        audit_record(action="trading_account.leverage_decided", obj=locked, actor=actor, subject=locked.client_id,
                     changes=changes, reason=reason[:300])
    return request


def trading_account_change_leverage(*, account_id: int, leverage: int, actor, reason: str = "") -> TradingAccount:
    """Staff set the leverage directly (still within the jurisdiction's cap)."""
    account = _live_account(account_id)
    _check_leverage(client=account.client, account_type=account.account_type, leverage=leverage)
    _server_call(adapter_for(account.server).change_leverage, account.login, int(leverage))
    with transaction.atomic():
        audit_lock()
        locked = TradingAccount.objects.select_for_update().get(pk=account.pk)
        old = locked.leverage
        locked.leverage = int(leverage)
        locked.save(update_fields=["leverage", "updated_at"])
        audit_record(action="trading_account.leverage_changed", obj=locked, actor=actor, subject=locked.client_id,
                     changes={"leverage": [old, locked.leverage]}, reason=reason[:300])
    return locked


def trading_account_change_group(*, account_id: int, group: str, actor, reason: str = "") -> TradingAccount:
    account = _live_account(account_id)
    try:
        _server_call(adapter_for(account.server).change_group, account.login, group)
    except Rejected as exc:
        raise InvalidState(f"The server did not accept group {group}: {exc.reason}") from exc
    with transaction.atomic():
        audit_lock()
        locked = TradingAccount.objects.select_for_update().get(pk=account.pk)
        old = locked.platform_group
        locked.platform_group = group
        locked.save(update_fields=["platform_group", "updated_at"])
        audit_record(action="trading_account.group_changed", obj=locked, actor=actor, subject=locked.client_id,
                     changes={"platform_group": [old, group]}, reason=reason[:300])
    return locked


# --- block, unblock, archive ----------------------------------------------------------------------------------

def trading_account_set_blocked(*, account_id: int, blocked: bool, actor, reason: str = "") -> TradingAccount:
    """Block or unblock trading. Recorded at once; pushed to the server now, or by the next sync cycle when
    the server is unreachable (the account is marked push-pending, so the sync does not call it drift)."""
    target = AccountStatus.BLOCKED if blocked else AccountStatus.ACTIVE
    with transaction.atomic():
        audit_lock()
        account = TradingAccount.objects.select_for_update().select_related("server").get(pk=account_id)
        if account.status == target:
            return account
        if not states.can_move(account.status, target, "staff"):
            raise InvalidState(f"An account that is {account.get_status_display().lower()} cannot be "
                               f"{'blocked' if blocked else 'unblocked'}.")
        old = account.status
        account.status = target
        account.status_reason = reason[:300] if blocked else ""
        account.server_push_pending = True
        account.save(update_fields=["status", "status_reason", "server_push_pending", "updated_at"])
        audit_record(action="trading_account.blocked" if blocked else "trading_account.unblocked", obj=account,
                     actor=actor, subject=account.client_id, changes={"status": [old, target]}, reason=reason[:300])
    try:
        _push_rights(account, adapter_for(account.server))
    except (Unavailable, ServerUnavailable):
        log.warning("trading account %s: block state not pushed yet (server unreachable)", account.login)
    account.refresh_from_db()
    return account


def _push_rights(account: TradingAccount, adapter: TradingPlatformAdapter) -> None:
    adapter.set_trading_blocked(account.login, account.status == AccountStatus.BLOCKED)
    TradingAccount.objects.filter(pk=account.pk, status=account.status).update(server_push_pending=False)
    DriftReport.objects.filter(account=account, field="trading_blocked", resolved=False) \
        .update(resolved=True, resolved_at=timezone.now())


def trading_account_archive(*, account_id: int, actor, reason: str = "", client=None) -> TradingAccount:
    """Archive (close) an account: login disabled on the server, kept for history, audited."""
    filters = {"client": client} if client is not None else {}
    account = _live_account(account_id, **filters)
    who = "client" if client is not None else "staff"
    if not states.can_move(account.status, AccountStatus.ARCHIVED, who):
        raise InvalidState(gettext("This account cannot be archived now."))
    if account.created_on_server_at:
        _server_call(adapter_for(account.server).set_login_enabled, account.login, False)
    with transaction.atomic():
        audit_lock()
        locked = TradingAccount.objects.select_for_update().get(pk=account.pk)
        old = locked.status
        locked.status = AccountStatus.ARCHIVED
        locked.status_reason = reason[:300]
        locked.save(update_fields=["status", "status_reason", "updated_at"])
        audit_record(action="trading_account.archived", obj=locked, actor=actor, subject=locked.client_id,
                     changes={"status": [old, AccountStatus.ARCHIVED]}, reason=reason[:300])
    return locked


# --- money on the server --------------------------------------------------------------------------------------

def trading_balance_apply(*, account_id: int, amount: Decimal, kind: BalanceKind, reference: str,
                          actor=None) -> BalanceResult:
    """Apply a deposit/withdrawal/credit on the server exactly once per `reference` (the payments workflow
    calls this with its own idempotency key). Raises ServerUnavailable when the outcome is not settled yet:
    retry with the same reference."""
    account = _live_account(account_id)
    try:
        result = adapter_for(account.server).balance_operation(login=account.login, amount=amount, kind=kind,
                                                               reference=reference)
    except Unavailable as exc:
        raise ServerUnavailable(f"balance operation {reference} not settled yet: {exc}") from exc
    if result.applied_now:
        audit_record(action="trading_account.balance_applied", obj=account, actor=actor or "trading-balance",
                     subject=account.client_id, reason=f"{kind} {amount} ref {reference}"[:300],
                     changes={"ticket": [None, result.ticket]})
    return result


# --- sync -------------------------------------------------------------------------------------------------------

@dataclass
class SyncResult:
    ok: bool
    skipped: bool = False
    accounts: int = 0
    positions: int = 0
    deals_seen: int = 0
    deals_new: int = 0
    drift: int = 0
    error: str = ""


def _sync_backoff(failures: int) -> timedelta:
    return timedelta(seconds=min(SYNC_BACKOFF_MAX_S, SYNC_BACKOFF_BASE_S * 2 ** max(0, failures - 1)))


DEAL_COLUMNS = ("server_id, ticket, login, time, symbol, side, action, entry, volume_lots, price, profit, "
                "commission, swap, position_id, comment")


def _deal_staging(cursor) -> None:
    """A per-connection temporary staging table (columns only, no constraints; emptied at each commit). Asked
    for every time: a rolled-back transaction takes a table it created with it."""
    cursor.execute("CREATE TEMP TABLE IF NOT EXISTS trading_deal_incoming ON COMMIT DELETE ROWS AS "
                   f"SELECT {DEAL_COLUMNS} FROM trading_deal WITH NO DATA")


_SIDES = {0: "buy", 1: "sell"}  # DealAction.BUY / SELL → Side values; other actions have no side
_EPOCH_DAY = date(1970, 1, 1)
_day_prefix: dict[int, str] = {}


def _utc_text(epoch: int) -> str:
    """Epoch seconds → a PostgreSQL timestamptz literal, without a datetime per deal (day prefixes cached)."""
    day, second = divmod(epoch, 86_400)
    prefix = _day_prefix.get(day)
    if prefix is None:
        if len(_day_prefix) > 100_000:
            _day_prefix.clear()
        prefix = _day_prefix[day] = f"{(_EPOCH_DAY + timedelta(days=day)).isoformat()} "
    return f"{prefix}{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00"


def _deal_copy_text(server_id: int, rows) -> str:
    """COPY text of `DealRow`s: one tab-separated line per deal in DEAL_COLUMNS order."""
    sid = str(server_id)
    sides, utc_text, tsv = _SIDES, _utc_text, _tsv
    return "".join([
        f"{sid}\t{r.ticket}\t{r.login}\t{utc_text(r.time)}\t{tsv(r.symbol)}\t{sides.get(r.action, '')}\t"
        f"{r.action}\t{r.entry}\t{r.volume // 10_000}.{r.volume % 10_000:04d}\t{r.price}\t{r.profit}\t"
        f"{r.commission}\t{r.swap}\t{r.position_id}\t{tsv(r.comment[:64])}\n"
        for r in rows])


def deals_ingest(*, server_id: int, rows) -> int:
    """Store `DealRow`s once per (server, ticket). Returns how many were new. Call inside a transaction.

    Fast path: one COPY straight into trading_deal under a savepoint — the rows come after the stored cursor,
    so normally none is stored yet; the unique (server, ticket) constraint rejects the whole COPY if one is
    (a concurrent sync, a cursor reset). Then: COPY into a temporary table and INSERT … ON CONFLICT DO
    NOTHING, which keeps what is new."""
    if not rows:
        return 0
    text = _deal_copy_text(server_id, rows)
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                with cursor.cursor.copy(f"COPY trading_deal ({DEAL_COLUMNS}) FROM STDIN") as copy:
                    copy.write(text)
            return len(rows)
        except (UniqueViolation, IntegrityError):
            pass
        _deal_staging(cursor)
        with cursor.cursor.copy(f"COPY trading_deal_incoming ({DEAL_COLUMNS}) FROM STDIN") as copy:
            copy.write(text)
        cursor.execute(f"INSERT INTO trading_deal ({DEAL_COLUMNS}) SELECT {DEAL_COLUMNS} FROM trading_deal_incoming "
                       "ON CONFLICT (server_id, ticket) DO NOTHING")
        new = cursor.rowcount
        cursor.execute("DELETE FROM trading_deal_incoming")
    return new


def _tsv(text: str) -> str:
    if not text or text.isalnum():
        return text or ""
    return text.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _deal_groups(server: TradingServerConfig) -> str:
    groups = set(AccountType.objects.filter(legal_entity=server.legal_entity).values_list("platform_group", flat=True))
    groups |= set(TradingAccount.objects.filter(server=server).values_list("platform_group", flat=True).distinct())
    return ",".join(sorted(groups))


def server_sync_deals(*, server: TradingServerConfig, adapter: TradingPlatformAdapter, max_pages: int = 10_000,
                      page_size: int = DEAL_PAGE) -> tuple[int, int]:
    """Read deals after the stored cursor, page by page; each page and the new cursor commit together.

    A reader thread fetches and parses the next page (it needs only the previous page's cursor) while this
    thread writes the current one, so the server's answer time and the database time overlap."""
    group = _deal_groups(server)
    if not group:
        return 0, 0
    state, _ = SyncState.objects.get_or_create(server=server)
    if state.deal_cursor:
        first_call = {"cursor": DealCursor.from_token(state.deal_cursor)}
    else:
        first = TradingAccount.objects.filter(server=server).order_by("created_at") \
            .values_list("created_at", flat=True).first() or timezone.now()
        days = int(getattr(settings, "TRADING_DEAL_BACKFILL_DAYS", 90))
        first_call = {"from_time": min(first, timezone.now()) - timedelta(days=days)}
    pages: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def hand_over(item) -> None:
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def read() -> None:
        kwargs = first_call
        try:
            for _ in range(max_pages):
                page = adapter.list_deal_rows_since(group=group, limit=page_size, **kwargs)
                hand_over(page)
                if stop.is_set() or not page.has_more:
                    break
                kwargs = {"cursor": page.cursor}
        except BaseException as exc:  # handed to the writer, which raises it
            hand_over(exc)
            return
        hand_over(None)

    reader = threading.Thread(target=read, name=f"deal-reader-{server.pk}", daemon=True)
    reader.start()
    seen = new = 0
    try:
        while True:
            page = pages.get()
            if page is None:
                break
            if isinstance(page, BaseException):
                raise page
            with transaction.atomic():
                new += deals_ingest(server_id=server.pk, rows=page.rows)
                SyncState.objects.filter(pk=server.pk).update(deal_cursor=page.cursor.token)
            seen += len(page.rows)
    finally:
        stop.set()
        reader.join(timeout=30)
    return seen, new


def _sync_accounts(server: TradingServerConfig, adapter: TradingPlatformAdapter, result: SyncResult) -> None:
    accounts = list(TradingAccount.objects.filter(
        server=server, status__in=(AccountStatus.ACTIVE, AccountStatus.BLOCKED)).select_related("client"))
    if not accounts:
        return
    by_login = {a.login: a for a in accounts}
    now = timezone.now()
    # Staff changes the server has not taken yet go first; what the server shows after that is its own.
    for account in accounts:
        if account.server_push_pending:
            _push_rights(account, adapter)
            account.server_push_pending = False
    states_ = adapter.list_account_states(list(by_login))
    AccountSnapshot.objects.bulk_create(
        [AccountSnapshot(account=by_login[login], balance=s.balance, credit=s.credit, equity=s.equity,
                         margin=s.margin, free_margin=s.free_margin, margin_level=s.margin_level,
                         floating_profit=s.floating_profit, synced_at=now) for login, s in states_.items()],
        update_conflicts=True, unique_fields=["account"],
        update_fields=["balance", "credit", "equity", "margin", "free_margin", "margin_level", "floating_profit",
                       "synced_at"])
    result.accounts = len(states_)
    positions = adapter.list_positions(logins=list(by_login))
    with transaction.atomic():
        if positions:
            Position.objects.bulk_create(
                [Position(server=server, ticket=p.ticket, login=p.login, symbol=p.symbol, side=p.side.value,
                          volume_lots=p.volume_lots, price_open=p.price_open, price_current=p.price_current,
                          profit=p.profit, swap=p.swap, opened_at=p.time_create, synced_at=now) for p in positions],
                update_conflicts=True, unique_fields=["server", "ticket"],
                update_fields=["price_current", "profit", "swap", "volume_lots", "synced_at"])
        Position.objects.filter(server=server, login__in=list(by_login)) \
            .exclude(ticket__in=[p.ticket for p in positions]).delete()
    result.positions = len(positions)
    infos = adapter.list_accounts(list(by_login))  # batched: one request per 100 accounts, not one each
    result.drift = _detect_drift(server, accounts, infos)


def _drift_fields(account: TradingAccount, info) -> dict[str, tuple[str, str]]:
    return {
        "trading_blocked": (str(account.status == AccountStatus.BLOCKED).lower(), str(info.trading_blocked).lower()),
        "leverage": (str(account.leverage), str(info.leverage)),
        "group": (account.platform_group.casefold(), info.group.casefold()),
    }


def _detect_drift(server: TradingServerConfig, accounts: list[TradingAccount], infos: dict) -> int:
    """Compare what the server holds with what the platform decided; report (once, audited) what differs and
    resolve reports that no longer do. Queries: one read of the open reports, writes only for changes."""
    open_reports = {(r.account_id, r.field): r for r in DriftReport.objects.filter(account__server=server,
                                                                                    resolved=False)}
    resolved: list[int] = []
    found = 0
    for account in accounts:
        info = infos.get(account.login)
        if info is None:
            log.warning("trading account %s is not on server %s", account.login, server.code)
            continue
        for field, (ours, theirs) in _drift_fields(account, info).items():
            report = open_reports.get((account.pk, field))
            if ours == theirs:
                if report is not None:
                    resolved.append(report.pk)
                continue
            if report is not None:
                if report.server_value != theirs[:120]:
                    report.server_value = theirs[:120]
                    report.save(update_fields=["server_value"])
                continue
            try:
                with transaction.atomic():
                    audit_lock()
                    DriftReport.objects.create(account=account, field=field, platform_value=ours[:120],
                                               server_value=theirs[:120])
                    audit_record(action="trading_account.drift_detected", obj=account, actor="trading-sync",
                                 subject=account.client_id, changes={field: [ours, theirs]},
                                 reason="changed on the trading server outside BrokerOS")
            except IntegrityError:  # a concurrent sync reported it first (one open report per field)
                continue
            found += 1
    if resolved:
        DriftReport.objects.filter(pk__in=resolved).update(resolved=True, resolved_at=timezone.now())
    return found


def server_sync(*, server_id: int, force: bool = False, deals: bool = True) -> SyncResult:
    """One sync cycle of one server: push pending staff changes, snapshots, positions, drift, new deals.
    When the server is unreachable the state records since when and the next attempt backs off."""
    require_tenant()
    server = TradingServerConfig.objects.get(pk=server_id)
    state, _ = SyncState.objects.get_or_create(server=server)
    now = timezone.now()
    if not force and state.next_attempt_at and state.next_attempt_at > now:
        return SyncResult(ok=False, skipped=True, error=state.last_error)
    result = SyncResult(ok=True)
    try:
        adapter = adapter_for(server)
        _sync_accounts(server, adapter, result)
        if deals:
            result.deals_seen, result.deals_new = server_sync_deals(server=server, adapter=adapter)
    except (Unavailable, ServerUnavailable) as exc:
        failures = state.consecutive_failures + 1
        SyncState.objects.filter(pk=server.pk).update(
            last_attempt_at=now, unreachable_since=state.unreachable_since or now, last_error=str(exc)[:500],
            consecutive_failures=failures, next_attempt_at=now + _sync_backoff(failures),
            lag_seconds=int((now - (state.last_success_at or now)).total_seconds()))
        return SyncResult(ok=False, error=str(exc))
    done = timezone.now()
    SyncState.objects.filter(pk=server.pk).update(
        last_attempt_at=now, last_success_at=done, unreachable_since=None, last_error="", consecutive_failures=0,
        next_attempt_at=None, lag_seconds=0)
    return result


def sync_all_servers(*, force: bool = False) -> dict[str, SyncResult]:
    """Every enabled server of this brokerage that has accounts (the periodic job)."""
    require_tenant()
    results = {}
    for server in TradingServerConfig.objects.filter(is_enabled=True, accounts__isnull=False).distinct():
        try:
            results[server.code] = server_sync(server_id=server.pk, force=force)
        except TradingPlatformError as exc:  # e.g. AuthFailed: recorded, the other servers still sync
            SyncState.objects.filter(pk=server.pk).update(last_error=str(exc)[:500], last_attempt_at=timezone.now())
            results[server.code] = SyncResult(ok=False, error=str(exc))
    return results


def pending_accounts_retry() -> int:
    """Re-send creation jobs whose retry time has come (a safety net if a message was lost)."""
    from tenant_apps.trading.tasks import account_create_on_server

    due = TradingAccount.objects.filter(status=AccountStatus.PENDING_CREATION) \
        .filter(next_attempt_at__lte=timezone.now()).values_list("pk", flat=True)[:500]
    for pk in due:
        account_create_on_server.send(pk)
    return len(due)

