"""The MetaTrader 5 Manager Web API adapter: the `TradingPlatformAdapter` commands over an `MT5Session`."""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tenant_apps.trading.adapters.base import (
    AccountInfo,
    AccountState,
    BalanceKind,
    BalanceOutcomeUnknown,
    BalanceResult,
    Deal,
    DealAction,
    DealCursor,
    DealPage,
    DealRow,
    DealRowPage,
    GroupInfo,
    NotFound,
    Position,
    Rejected,
    Rights,
    TradingPlatformAdapter,
    Unavailable,
    deal_from_row,
)
from tenant_apps.trading.adapters.mt5 import protocol as proto
from tenant_apps.trading.adapters.mt5 import records
from tenant_apps.trading.adapters.mt5.session import MT5Session

log = logging.getLogger(__name__)

# Logins per batch request (keeps URLs short).
LOGINS_PER_REQUEST = 100
# How far past "now" deal queries reach: MT5 times may be trade-server local time, up to a day ahead of UTC.
QUERY_HORIZON_S = 86_400
# Re-read this many seconds before the cursor (deals of one second may commit out of order); filtered by ticket.
DEAL_OVERLAP_S = 5
BALANCE_COMMENT_PREFIX = "BRK:"

_BALANCE_TYPES: dict[BalanceKind, tuple[DealAction, int]] = {
    BalanceKind.DEPOSIT: (DealAction.BALANCE, 1),
    BalanceKind.WITHDRAWAL: (DealAction.BALANCE, -1),
    BalanceKind.CREDIT: (DealAction.CREDIT, 1),
    BalanceKind.CREDIT_REMOVAL: (DealAction.CREDIT, -1),
}


def balance_comment(reference: str) -> str:
    """The deal comment that carries an idempotency reference: 28 characters (MT5 keeps 31)."""
    if not reference:
        raise ValueError("a balance operation needs a non-empty reference")
    return BALANCE_COMMENT_PREFIX + hashlib.sha256(reference.encode()).hexdigest()[:24]


def _ticket_of(row: DealRow) -> int:
    return row.ticket


def _chunks(logins: Sequence[int]) -> Iterator[list[int]]:
    items = [int(x) for x in logins]
    for start in range(0, len(items), LOGINS_PER_REQUEST):
        yield items[start:start + LOGINS_PER_REQUEST]


class MT5WebAPIAdapter(MT5Session, TradingPlatformAdapter):
    """A manager session on an MT5 server's Web API (connection options: see `MT5Session`).

    `balance_lookback` is how far back a balance reference is looked up (retries must come within it);
    `deal_window` the time slice of one batch deal read; `clock_slack` how long after a moment deal times
    before it may still appear (server clock uncertainty).
    """

    def __init__(
        self, *, host: str, port: int, login: int, password: str, verify_tls: bool = True, use_tls: bool = True,
        ca_bundle: str | None = None, timeout: float = 10.0, connect_timeout: float = 5.0,
        agent: str = "BrokerOS", server_utc_offset: timedelta = timedelta(0), idle_reconnect_s: float = 170.0,
        ping_before_write_s: float = 15.0, balance_lookback: timedelta = timedelta(days=7),
        deal_window: timedelta = timedelta(hours=6), clock_slack: timedelta = timedelta(hours=26),
    ):
        super().__init__(host=host, port=port, login=login, password=password, verify_tls=verify_tls,
                         use_tls=use_tls, ca_bundle=ca_bundle, timeout=timeout, connect_timeout=connect_timeout,
                         agent=agent, server_utc_offset=server_utc_offset, idle_reconnect_s=idle_reconnect_s,
                         ping_before_write_s=ping_before_write_s)
        self._lookback_s = int(balance_lookback.total_seconds())
        self._window_s = max(60, int(deal_window.total_seconds()))
        self._slack_s = int(clock_slack.total_seconds())
        self._user_batch = True  # until the server turns out not to know /api/user/get_batch

    # --- interface: accounts ----------------------------------------------------------------------------

    def create_account(
        self, *, group: str, leverage: int, name: str, email: str, password_main: str, password_investor: str,
        currency: str | None = None, login: int | None = None, comment: str = "",
    ) -> AccountInfo:
        if currency:
            group_info = self.get_group(group)
            if group_info.currency.upper() != currency.upper():
                raise Rejected(f"group {group} keeps accounts in {group_info.currency}, not {currency.upper()}")
        # Passwords travel only in the body, never in a URL that may be logged.
        params = {"login": int(login or 0), "group": group, "name": name, "leverage": int(leverage)}
        body = {"Login": str(int(login or 0)), "Group": group, "Name": name, "Leverage": str(int(leverage)),
                "Email": email, "PassMain": password_main, "PassInvestor": password_investor, "Comment": comment}
        payload = self._call("/api/user/add", params, body=body, idempotent=False)
        answer = self._answer(payload)
        if isinstance(answer, dict) and answer.get("Login") and answer.get("Group"):
            return records.account_info(answer, self._utc)
        new_login = proto.to_int((answer or {}).get("Login") if isinstance(answer, dict) else None) \
            or proto.to_int(payload.get("login"))
        if not new_login:
            raise proto.MalformedResponse("user/add answered without a login")
        return self.get_account(new_login)

    def get_account(self, login: int) -> AccountInfo:
        payload = self._call("/api/user/get", {"login": int(login)})
        return records.account_info(self._answer_object(payload, "user/get"), self._utc)

    def list_accounts(self, logins: Sequence[int]) -> dict[int, AccountInfo]:
        """/api/user/get_batch, 100 logins a request (a server without the command: one /api/user/get each)."""
        found: dict[int, AccountInfo] = {}
        for chunk in _chunks(logins):
            if not self._user_batch:
                found.update(super().list_accounts(chunk))
                continue
            try:
                payload = self._call("/api/user/get_batch", {"login": proto.login_list(chunk)})
            except NotFound:
                continue
            except Rejected as exc:
                if "HTTP 404" not in exc.message:
                    raise
                log.info("%r has no /api/user/get_batch; reading user records one by one", self)
                self._user_batch = False
                found.update(super().list_accounts(chunk))
                continue
            for rec in self._answer_list(payload):
                info = records.account_info(rec, self._utc)
                found[info.login] = info
        return found

    def _update(self, login: int, params: dict[str, Any], what: str, applied) -> AccountInfo:
        payload = self._call("/api/user/update", {"login": int(login), **params})
        answer = self._answer(payload)
        info = records.account_info(answer, self._utc) if isinstance(answer, dict) and answer.get("Login") \
            else self.get_account(login)
        if not applied(info):
            # The server leaves invalid values unchanged without an error.
            raise Rejected(f"user/update: the server left the {what} of {login} unchanged "
                           f"(value not accepted): {params}")
        return info

    def change_leverage(self, login: int, leverage: int) -> AccountInfo:
        leverage = int(leverage)
        return self._update(login, {"leverage": leverage}, "leverage", lambda i: i.leverage == leverage)

    def change_group(self, login: int, group: str) -> AccountInfo:
        return self._update(login, {"group": group}, "group", lambda i: i.group.casefold() == group.casefold())

    def _change_rights(self, login: int, *, set_bits: int = 0, clear_bits: int = 0) -> AccountInfo:
        """Read the mask, change the bits, write the whole mask back (the update replaces it)."""
        current = self.get_account(login)
        wanted = (current.rights | set_bits) & ~clear_bits
        if wanted == current.rights:
            return current
        return self._update(login, {"rights": wanted}, "rights", lambda i: i.rights == wanted)

    def set_trading_blocked(self, login: int, blocked: bool) -> AccountInfo:
        bit = int(Rights.TRADE_DISABLED)
        return self._change_rights(login, set_bits=bit if blocked else 0, clear_bits=0 if blocked else bit)

    def set_login_enabled(self, login: int, enabled: bool) -> AccountInfo:
        bit = int(Rights.ENABLED)
        return self._change_rights(login, set_bits=bit if enabled else 0, clear_bits=0 if enabled else bit)

    # --- interface: money -------------------------------------------------------------------------------

    def balance_operation(
        self, *, login: int, amount: Decimal, kind: BalanceKind, reference: str, first_attempt: bool = False,
    ) -> BalanceResult:
        """Apply a deposit, withdrawal or credit exactly once per `reference`.

        MT5 balance operations are not idempotent, so the reference travels in the deal comment and the deal
        history is the record of what happened. The rule:

        1. comment = "BRK:" + the first 24 hex digits of SHA-256(reference) — 28 characters, under MT5's 31,
           identical on every attempt.
        2. Unless `first_attempt` is True (the caller is certain this reference never went out before), the
           login's deals of the last `balance_lookback` are searched first (/api/deal/get_batch) for a deal
           with that comment; if there is one, its ticket is returned with applied_now=False and nothing is
           sent.
        3. Otherwise /api/trade/balance is sent once; the adapter never re-sends it by itself.
        4. If that exchange fails after the request may have reached the server (read timeout, connection
           lost before the answer), the history is searched again on a fresh session: a match is returned
           with applied_now=False; no match (or the search failing too) raises BalanceOutcomeUnknown,
           because the server may still apply it late — the caller retries later with the same reference
           and step 2 settles it. A failure before sending (connection refused, login refused) raises
           Unavailable / AuthFailed; retrying those is safe.
        5. A deal with the comment but another type or amount raises Rejected: one reference, one operation.

        So a retry must come within `balance_lookback` of the first attempt, with the same reference, amount
        and kind. Withdrawals keep MT5's margin check (retcode 10019 when free margin or balance is short).
        """
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            raise ValueError(f"amount must be a positive Decimal, got {amount!r}")
        action, sign = _BALANCE_TYPES[BalanceKind(kind)]
        signed = amount * sign
        comment = balance_comment(reference)
        if not first_attempt:
            found = self._find_balance_deal(login, comment, action, signed)
            if found is not None:
                return BalanceResult(ticket=found.ticket, applied_now=False, comment=comment)
        try:
            payload = self._call("/api/trade/balance", {
                "login": int(login), "type": int(action), "balance": format(signed, "f"),
                "comment": comment, "check_margin": 1,
            }, idempotent=False)
        except Unavailable as exc:
            if not exc.maybe_sent:
                raise
            log.warning("balance operation %s on %s: outcome unknown (%s); checking the deal history",
                        comment, login, exc)
            try:
                found = self._find_balance_deal(login, comment, action, signed)
            except Unavailable as again:
                raise BalanceOutcomeUnknown(f"balance operation {comment} on {login} may have been applied; "
                                            f"history not reachable: {again}", maybe_sent=True) from exc
            if found is None:
                raise BalanceOutcomeUnknown(f"balance operation {comment} on {login} is not in the history yet; "
                                            "retry later with the same reference", maybe_sent=True) from exc
            return BalanceResult(ticket=found.ticket, applied_now=False, comment=comment)
        answer = self._answer(payload) or {}
        ticket = proto.to_int(answer.get("Ticket") if isinstance(answer, dict) else None)
        if not ticket:
            raise proto.MalformedResponse("trade/balance answered without a ticket")
        return BalanceResult(ticket=ticket, applied_now=True, comment=comment)

    def _find_balance_deal(self, login: int, comment: str, action: DealAction, signed: Decimal) -> Deal | None:
        now = self._server_now()
        payload = self._call("/api/deal/get_batch", {
            "login": int(login), "from": max(0, now - self._lookback_s), "to": now + QUERY_HORIZON_S,
        })
        for rec in self._answer_list(payload):
            if str(rec.get("Comment") or "") != comment:
                continue
            deal = records.deal(rec, self._utc)
            # The server rounds to the currency's digits; compare at the precision it reported.
            same_amount = signed.quantize(Decimal(1).scaleb(min(0, deal.profit.as_tuple().exponent))) == deal.profit
            if deal.action != action or not same_amount:
                raise Rejected(f"reference {comment} was already used for another operation "
                               f"(deal {deal.ticket}: action {deal.action}, amount {deal.profit})")
            return deal
        return None

    def get_account_state(self, login: int) -> AccountState:
        # /api/user/account/get only knows accounts with positions or trading since the server restarted;
        # for the others the user record has everything (balance and credit, nothing open).
        try:
            payload = self._call("/api/user/account/get", {"login": int(login)})
            answer = self._answer(payload)
            if isinstance(answer, list):
                answer = answer[0] if answer else None
            if isinstance(answer, dict) and answer.get("Login"):
                return records.account_state(answer)
        except NotFound:
            pass
        return records.idle_state(self.get_account(login))

    def list_account_states(self, logins: Sequence[int]) -> dict[int, AccountState]:
        states: dict[int, AccountState] = {}
        for chunk in _chunks(logins):
            try:
                payload = self._call("/api/user/account/get_batch", {"login": proto.login_list(chunk)})
                for rec in self._answer_list(payload):
                    state = records.account_state(rec)
                    states[state.login] = state
            except NotFound:
                pass
            idle = [login for login in chunk if login not in states]
            if idle:
                states.update((login, records.idle_state(info)) for login, info in self.list_accounts(idle).items())
        return states

    # --- interface: positions and deals -----------------------------------------------------------------

    @staticmethod
    def _selector(logins: Sequence[int] | None, group: str | None) -> None:
        if (logins is None) == (group is None):
            raise ValueError("give exactly one of logins or group")

    def list_positions(self, *, logins: Sequence[int] | None = None, group: str | None = None) -> tuple[Position, ...]:
        self._selector(logins, group)
        requests = [{"group": group}] if group is not None else \
            [{"login": proto.login_list(chunk)} for chunk in _chunks(logins or [])]
        positions: list[Position] = []
        for params in requests:
            positions += [records.position(rec, self._utc) for rec in self._answer_list(
                self._call("/api/position/get_batch", params))]
        return tuple(positions)

    def list_deals_since(
        self, *, cursor: DealCursor | None = None, from_time: datetime | None = None,
        logins: Sequence[int] | None = None, group: str | None = None, limit: int = 1000,
    ) -> DealPage:
        """Incremental deal reading.

        Deal tickets grow with deal time (the server allocates them in order), so "ticket > cursor.ticket,
        time ≥ cursor.time − a few seconds" is exactly the set of deals not yet delivered.
        One login: /api/deal/get_page in pages of ≤ 100. Several logins or a group: /api/deal/get_batch over
        time windows of `deal_window`; windows older than `clock_slack` (server clock uncertainty) are
        final and the cursor moves past them even when empty, the recent stretch is read up to now + a day.
        """
        page = self.list_deal_rows_since(cursor=cursor, from_time=from_time, logins=logins, group=group,
                                         limit=limit)
        return DealPage(deals=tuple(deal_from_row(row) for row in page.rows), cursor=page.cursor,
                        has_more=page.has_more)

    def list_deal_rows_since(
        self, *, cursor: DealCursor | None = None, from_time: datetime | None = None,
        logins: Sequence[int] | None = None, group: str | None = None, limit: int = 1000,
    ) -> DealRowPage:
        """`list_deals_since` parsed straight into `DealRow`s (no Decimal or datetime per deal): the sync's path."""
        self._selector(logins, group)
        if limit < 1:
            raise ValueError("limit must be positive")
        if cursor is None:
            if from_time is None or from_time.tzinfo is None:
                raise ValueError("give a cursor or a timezone-aware from_time")
            cursor = DealCursor(time=int(from_time.timestamp()) + self._offset_s, ticket=0)
        if logins is not None and len(logins) == 0:
            return DealRowPage(rows=[], cursor=cursor, has_more=False)
        if logins is not None and len(logins) == 1:
            return self._deals_by_page(int(logins[0]), cursor, limit)
        return self._deals_by_window(logins, group, cursor, limit)

    def _page_result(self, fresh: dict[int, DealRow], cursor: DealCursor, limit: int, more: bool,
                     settled_until: int | None = None) -> DealRowPage:
        rows = sorted(fresh.values(), key=_ticket_of)
        truncated = len(rows) > limit
        if truncated:
            del rows[limit:]
        if truncated or (rows and settled_until is None):
            last = rows[-1]
            next_cursor = DealCursor(time=max(cursor.time, last.time + self._offset_s), ticket=last.ticket)
        elif settled_until is not None:
            # Every deal up to `settled_until` is in hand: the next read starts after it.
            top = rows[-1].ticket if rows else cursor.ticket
            next_cursor = DealCursor(time=max(cursor.time, settled_until + 1), ticket=max(cursor.ticket, top))
        else:
            next_cursor = cursor
        return DealRowPage(rows=rows, cursor=next_cursor, has_more=truncated or more)

    def _deals_by_page(self, login: int, cursor: DealCursor, limit: int) -> DealRowPage:
        start = max(0, cursor.time - DEAL_OVERLAP_S)
        end = self._server_now() + QUERY_HORIZON_S
        fresh: dict[int, DealRow] = {}
        offset = 0
        exhausted = False
        while len(fresh) <= limit:
            recs = self._answer_list(self._call("/api/deal/get_page", {
                "login": login, "from": start, "to": end, "offset": offset, "total": proto.PAGE_LIMIT,
            }, decode=records.decode_deal_answer))
            for row in records.deal_rows(recs, self._offset_s):
                if row.ticket > cursor.ticket:
                    fresh[row.ticket] = row
            offset += len(recs)
            if len(recs) < proto.PAGE_LIMIT:
                exhausted = True
                break
        return self._page_result(fresh, cursor, limit, more=not exhausted)

    def _deals_by_window(self, logins: Sequence[int] | None, group: str | None, cursor: DealCursor,
                         limit: int) -> DealRowPage:
        now = self._server_now()
        start = max(0, cursor.time - DEAL_OVERLAP_S)
        settled_before = now - self._slack_s
        if start + self._window_s <= settled_before:
            end, settled = start + self._window_s, True
        else:
            end, settled = now + QUERY_HORIZON_S, False
        requests = [{"group": group}] if group is not None else \
            [{"login": proto.login_list(chunk)} for chunk in _chunks(logins or [])]
        fresh: dict[int, DealRow] = {}
        floor = cursor.ticket
        for params in requests:
            recs = self._answer_list(self._call("/api/deal/get_batch", {**params, "from": start, "to": end},
                                                decode=records.decode_deal_answer))
            for row in records.deal_rows(recs, self._offset_s):
                if row.ticket > floor:
                    fresh[row.ticket] = row
        return self._page_result(fresh, cursor, limit, more=settled, settled_until=end if settled else None)

    # --- interface: groups ------------------------------------------------------------------------------

    def get_group(self, name: str) -> GroupInfo:
        payload = self._call("/api/group/get", {"group": name})
        return records.group(self._answer_object(payload, "group/get"))

    def list_groups(self, mask: str = "*") -> tuple[GroupInfo, ...]:
        payload = self._call("/api/group/get", {"mask": mask})
        return tuple(records.group(rec) for rec in self._answer_list(payload))
