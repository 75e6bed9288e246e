"""The simulated trading server's state and operations: groups, accounts, positions, deals, prices; JSON snapshots.

Money is Decimal in the account's currency, rounded to the group's digits. One re-entrant lock guards it all;
the HTTP handlers, the market thread and the control endpoint take it for every read and write.
"""
from __future__ import annotations

import bisect
import math
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import msgspec

from tenant_apps.trading.simulator.models import (
    DEAL_BUY,
    DEAL_CREDIT,
    DEAL_SELL,
    ENTRY_IN,
    ENTRY_OUT,
    LEVERAGE_RANGE,
    MAX_BALANCE_OPERATION,
    REASON_CLIENT,
    RIGHT_ENABLED,
    RIGHT_TRADE_DISABLED,
    RIGHTS_DEFAULT,
    SYMBOLS,
    VOLUME_PER_LOT,
    ZERO,
    Account,
    AccountMoney,
    DealRec,
    Group,
    PositionRec,
    SimError,
    mask_matcher,
    parse_int,
    password_strong,
    q_money,
)


class SimStore:
    def __init__(self, *, auto_create_groups: bool = False, commission_per_lot: Decimal = Decimal("3.50"),
                 rollover_s: float = 3600.0, first_login: int = 500_000, groups: Iterable[str] = ()):
        self.lock = threading.RLock()
        self.auto_create_groups = auto_create_groups
        self.commission_per_lot = commission_per_lot
        self.rollover_s = rollover_s
        self.groups: dict[str, Group] = {}
        self.accounts: dict[int, Account] = {}
        self.positions: dict[int, PositionRec] = {}
        self.positions_by_login: dict[int, dict[int, PositionRec]] = {}
        self.deals_by_login: dict[int, list[DealRec]] = {}
        self.deals_by_ticket: dict[int, DealRec] = {}
        self.prices: dict[str, Decimal] = {name: spec.start for name, spec in SYMBOLS.items()}
        self.next_login = first_login
        self.next_deal = 1_000_001
        self.next_order = 2_000_001
        # Accounts the trade engine has state for (positions, or a deal since start), as MT5's account cache.
        self.active: set[int] = set()
        self.dirty = False
        for name in groups:
            self.group_upsert({"Group": name})

    # --- groups -----------------------------------------------------------------------------------------

    def group_get(self, name: str) -> Group | None:
        return self.groups.get(name.casefold())

    def group_upsert(self, fields: dict) -> Group:
        with self.lock:
            name = str(fields.get("Group") or "").strip()
            if not name:
                raise SimError(3, "group name missing")
            group = self.group_get(name) or Group(name=name, currency=self._currency_from_name(name))
            for key, attr, conv in (("Currency", "currency", str), ("CurrencyDigits", "currency_digits", int),
                                    ("MarginCall", "margin_call", Decimal), ("MarginStopOut", "margin_stop_out", Decimal)):
                if key in fields:
                    setattr(group, attr, conv(fields[key]))
            group.currency = group.currency.upper()
            self.groups[name.casefold()] = group
            self.dirty = True
            return group

    @staticmethod
    def _currency_from_name(name: str) -> str:
        """`real\\cysec\\standard-eur` → EUR (the platform's naming); anything else is USD."""
        match = re.search(r"-([a-zA-Z]{3})$", name)
        return match.group(1).upper() if match else "USD"

    def groups_matching(self, mask: str) -> list[Group]:
        matches = mask_matcher(mask)
        return [g for g in self.groups.values() if matches(g.name)]

    def _group_for_write(self, name: str) -> Group | None:
        group = self.group_get(name)
        if group is None and self.auto_create_groups and name.strip():
            group = self.group_upsert({"Group": name.strip()})
        return group

    def group_of(self, account: Account) -> Group:
        return self.group_get(account.group) or Group(name=account.group)

    def logins_in(self, mask: str) -> list[int]:
        matches = mask_matcher(mask)
        return [a.login for a in self.accounts.values() if matches(a.group)]

    # --- accounts ---------------------------------------------------------------------------------------

    def account(self, login: int) -> Account:
        account = self.accounts.get(login)
        if account is None:
            raise SimError(13, f"account {login} not found")
        return account

    def user_add(self, fields: dict) -> Account:
        import hashlib

        with self.lock:
            for required in ("Group", "Name", "Leverage"):
                if not str(fields.get(required) or "").strip():
                    raise SimError(3, f"{required} is required")
            group = self._group_for_write(str(fields["Group"]))
            if group is None:
                raise SimError(8, f"group {fields['Group']} not found")
            leverage = parse_int(fields["Leverage"], "Leverage")
            if leverage not in LEVERAGE_RANGE:
                raise SimError(3, "leverage out of range")
            pass_main = str(fields.get("PassMain") or "")
            pass_investor = str(fields.get("PassInvestor") or "")
            if not password_strong(pass_main) or (pass_investor and not password_strong(pass_investor)):
                raise SimError(3006, "password too weak")
            login = parse_int(fields.get("Login") or 0, "Login")
            if login and login in self.accounts:
                raise SimError(3004, f"account {login} exists")
            if not login:
                while self.next_login in self.accounts:
                    self.next_login += 1
                login = self.next_login
                self.next_login += 1
            now = int(time.time())
            account = Account(
                login=login, group=group.name, name=str(fields["Name"]), leverage=leverage,
                rights=parse_int(fields["Rights"], "Rights") if str(fields.get("Rights") or "").strip() else RIGHTS_DEFAULT,
                email=str(fields.get("Email") or ""), registration=now, last_access=now,
                comment=str(fields.get("Comment") or "")[:64], country=str(fields.get("Country") or ""),
                city=str(fields.get("City") or ""), address=str(fields.get("Address") or ""),
                phone=str(fields.get("Phone") or ""), id=str(fields.get("ID") or ""),
                status=str(fields.get("Status") or ""), agent=parse_int(fields.get("Agent") or 0, "Agent"),
                lead_source=str(fields.get("LeadSource") or ""), lead_campaign=str(fields.get("LeadCampaign") or ""),
                pass_main=hashlib.sha256(pass_main.encode()).hexdigest(),
                pass_investor=hashlib.sha256(pass_investor.encode()).hexdigest() if pass_investor else "",
            )
            self.accounts[login] = account
            self.dirty = True
            return account

    def user_update(self, login: int, fields: dict) -> Account:
        """Like MT5: values that are not valid are left unchanged, without an error."""
        with self.lock:
            account = self.account(login)
            if "Group" in fields:
                group = self._group_for_write(str(fields["Group"]))
                if group is not None:
                    account.group = group.name
            if "Leverage" in fields:
                try:
                    leverage = int(str(fields["Leverage"]).strip())
                except ValueError:
                    leverage = 0
                if leverage in LEVERAGE_RANGE:
                    account.leverage = leverage
            if "Rights" in fields:
                try:
                    account.rights = int(str(fields["Rights"]).strip())
                except ValueError:
                    pass
            for key, attr in (("Name", "name"), ("Email", "email"), ("Comment", "comment"), ("Country", "country"),
                              ("City", "city"), ("Address", "address"), ("Phone", "phone"), ("ID", "id"),
                              ("Status", "status"), ("LeadSource", "lead_source"), ("LeadCampaign", "lead_campaign")):
                if key in fields:
                    setattr(account, attr, str(fields[key]))
            self.dirty = True
            return account

    # --- money ------------------------------------------------------------------------------------------

    def convert(self, amount: Decimal, from_ccy: str, to_ccy: str) -> Decimal:
        """Between USD, EUR, GBP and JPY at the simulator's own prices (others count as USD)."""
        if from_ccy == to_ccy:
            return amount
        to_usd = {"EUR": self.prices["EURUSD"], "GBP": self.prices["GBPUSD"], "JPY": 1 / self.prices["USDJPY"]}
        usd = amount * to_usd.get(from_ccy, Decimal(1))
        return usd / to_usd.get(to_ccy, Decimal(1))

    def position_profit(self, p: PositionRec, currency: str) -> Decimal:
        spec = SYMBOLS[p.symbol]
        price = self.prices[p.symbol]
        diff = price - p.price_open if p.action == DEAL_BUY else p.price_open - price
        return self.convert(diff * Decimal(p.volume) / VOLUME_PER_LOT * spec.contract_size, spec.quote, currency)

    def position_storage(self, p: PositionRec, currency: str, now: float | None = None) -> Decimal:
        """Swap accrued so far: every `rollover_s` seconds counts as one rollover (a day on a real server)."""
        held = max(0.0, (now or time.time()) - p.time_create)
        rollovers = Decimal(str(math.floor(held / self.rollover_s * 100) / 100))
        charge = SYMBOLS[p.symbol].swap_per_lot_day * Decimal(p.volume) / VOLUME_PER_LOT * rollovers
        return -self.convert(charge, "USD", currency)

    def position_margin(self, p: PositionRec, account: Account, currency: str) -> Decimal:
        spec = SYMBOLS[p.symbol]
        notional = Decimal(p.volume) / VOLUME_PER_LOT * spec.contract_size * self.prices[p.symbol]
        return self.convert(notional, spec.quote, currency) / account.leverage

    def money(self, account: Account) -> AccountMoney:
        group = self.group_of(account)
        digits, ccy = group.currency_digits, group.currency
        profit = storage = margin = ZERO
        now = time.time()
        for p in self.positions_by_login.get(account.login, {}).values():
            profit += self.position_profit(p, ccy)
            storage += self.position_storage(p, ccy, now)
            margin += self.position_margin(p, account, ccy)
        profit, storage, margin = q_money(profit, digits), q_money(storage, digits), q_money(margin, digits)
        equity = account.balance + account.credit + profit + storage
        level = q_money(equity / margin * 100, 2) if margin else ZERO
        return AccountMoney(balance=account.balance, credit=account.credit, equity=equity, margin=margin,
                            free_margin=equity - margin, margin_level=level, profit=profit, storage=storage,
                            floating=profit + storage)

    def balance_operation(self, login: int, deal_type: int, amount: Decimal, comment: str,
                          check_margin: bool = True) -> DealRec:
        with self.lock:
            account = self.account(login)
            if deal_type not in (2, 3, 4, 5, 6):
                raise SimError(3, "bad balance operation type")
            if amount == 0:
                raise SimError(3, "zero amount")
            if abs(amount) > MAX_BALANCE_OPERATION:
                raise SimError(4005)
            digits = self.group_of(account).currency_digits
            amount = q_money(amount, digits)
            if deal_type == DEAL_CREDIT:
                if amount < 0 and -amount > account.credit:
                    raise SimError(10019, "more credit removed than issued")
            elif amount < 0 and check_margin:
                money = self.money(account)
                if -amount > money.free_margin or -amount > account.balance:
                    raise SimError(10019, "not enough money")
            if deal_type == DEAL_CREDIT:
                account.credit += amount
            else:
                account.balance += amount
            return self._add_deal(login=login, action=deal_type, entry=ENTRY_IN, symbol="", price=ZERO, volume=0,
                                  profit=amount, commission=ZERO, storage=ZERO, comment=comment[:31])

    # --- positions and deals ----------------------------------------------------------------------------

    def _add_deal(self, *, login: int, action: int, entry: int, symbol: str, price: Decimal, volume: int,
                  profit: Decimal, commission: Decimal, storage: Decimal, comment: str, order: int = 0,
                  position_id: int = 0, reason: int = REASON_CLIENT, at: float | None = None) -> DealRec:
        at = time.time() if at is None else at
        deal = DealRec(ticket=self.next_deal, login=login, order=order, position_id=position_id, action=action,
                       entry=entry, time=int(at), time_msc=int(at * 1000), symbol=symbol, price=price, volume=volume,
                       profit=profit, commission=commission, storage=storage, comment=comment, reason=reason)
        self.next_deal += 1
        self._index_deal(deal)
        self.active.add(login)
        self.dirty = True
        return deal

    def _index_deal(self, deal: DealRec) -> None:
        deals = self.deals_by_login.setdefault(deal.login, [])
        if not deals or deals[-1].key() <= deal.key():
            deals.append(deal)
        else:
            bisect.insort(deals, deal, key=DealRec.key)
        self.deals_by_ticket[deal.ticket] = deal

    def open_position(self, login: int, symbol: str, action: int, volume: int, comment: str = "",
                      at: float | None = None) -> PositionRec:
        with self.lock:
            account = self.account(login)
            if symbol not in SYMBOLS:
                raise SimError(3, f"unknown symbol {symbol}")
            if action not in (DEAL_BUY, DEAL_SELL) or volume <= 0:
                raise SimError(3, "bad side or volume")
            if account.rights & RIGHT_TRADE_DISABLED or not account.rights & RIGHT_ENABLED:
                raise SimError(10017)
            group = self.group_of(account)
            at = time.time() if at is None else at
            ticket = self.next_order
            self.next_order += 1
            position = PositionRec(ticket=ticket, login=login, symbol=symbol, action=action, volume=volume,
                                   price_open=self.prices[symbol], time_create=int(at), time_create_msc=int(at * 1000),
                                   comment=comment)
            commission = -q_money(self.convert(self.commission_per_lot * Decimal(volume) / VOLUME_PER_LOT, "USD",
                                               group.currency), group.currency_digits)
            account.balance += commission
            self.positions[ticket] = position
            self.positions_by_login.setdefault(login, {})[ticket] = position
            self._add_deal(login=login, action=action, entry=ENTRY_IN, symbol=symbol, price=position.price_open,
                           volume=volume, profit=ZERO, commission=commission, storage=ZERO, comment=comment,
                           order=ticket, position_id=ticket, at=at)
            return position

    def close_position(self, ticket: int, *, reason: int = REASON_CLIENT, comment: str = "",
                       at: float | None = None) -> DealRec:
        with self.lock:
            position = self.positions.get(ticket)
            if position is None:
                raise SimError(13, f"position {ticket} not found")
            account = self.account(position.login)
            group = self.group_of(account)
            digits, ccy = group.currency_digits, group.currency
            profit = q_money(self.position_profit(position, ccy), digits)
            storage = q_money(self.position_storage(position, ccy, at), digits)
            commission = -q_money(self.convert(self.commission_per_lot * Decimal(position.volume) / VOLUME_PER_LOT,
                                               "USD", ccy), digits)
            account.balance += profit + storage + commission
            del self.positions[ticket]
            self.positions_by_login[position.login].pop(ticket, None)
            order = self.next_order
            self.next_order += 1
            return self._add_deal(login=position.login, action=1 - position.action, entry=ENTRY_OUT,
                                  symbol=position.symbol, price=self.prices[position.symbol], volume=position.volume,
                                  profit=profit, commission=commission, storage=storage, comment=comment,
                                  order=order, position_id=ticket, reason=reason, at=at)

    def deals_between(self, login: int, start: int, end: int) -> list[DealRec]:
        deals = self.deals_by_login.get(login, [])
        lo = bisect.bisect_left(deals, (start, 0), key=DealRec.key)
        hi = bisect.bisect_right(deals, (end, 1 << 62), key=DealRec.key)
        return deals[lo:hi]

    def generate_history(self, logins: Iterable[int], per_login: int, start: int, end: int, rng) -> int:
        """Closed round trips (an IN and an OUT deal each) spread over [start, end], for benchmarks and demos.

        Tickets follow deal time across the whole batch, as on a real server; but they are all higher than
        the tickets of deals made before, although their times are in the past: generate history before a
        sync starts reading, as an import would be. Balances move by the trades' results."""
        names = sorted(SYMBOLS)
        events: list[tuple[int, int, dict]] = []  # (time, sequence, deal fields)
        with self.lock:
            for login in logins:
                account = self.account(login)
                group = self.group_of(account)
                digits = group.currency_digits
                trips = max(1, per_login // 2)
                step = max(1, (end - start) // trips)
                for i in range(trips):
                    symbol = names[rng.randrange(len(names))]
                    spec = SYMBOLS[symbol]
                    side = rng.randrange(2)
                    volume = rng.choice((100, 200, 500, 1000, 2000, 5000, 10000))
                    opened = start + i * step + rng.randrange(step)
                    closed = min(end, opened + rng.randrange(60, 6 * 3600))
                    price = q_money(spec.start * Decimal(str(1 + rng.gauss(0, 0.01))), spec.digits)
                    close = q_money(price * Decimal(str(1 + rng.gauss(0, 0.002))), spec.digits)
                    diff = close - price if side == DEAL_BUY else price - close
                    profit = q_money(self.convert(diff * Decimal(volume) / VOLUME_PER_LOT * spec.contract_size,
                                                  spec.quote, group.currency), digits)
                    commission = -q_money(self.convert(self.commission_per_lot * Decimal(volume) / VOLUME_PER_LOT,
                                                       "USD", group.currency), digits)
                    swap = -q_money(spec.swap_per_lot_day * Decimal(volume) / VOLUME_PER_LOT
                                    * Decimal((closed - opened) // 86_400), digits)
                    position_id = self.next_order
                    self.next_order += 2
                    common = dict(login=login, symbol=symbol, volume=volume, commission=commission, comment="")
                    events.append((opened, len(events), dict(common, action=side, entry=ENTRY_IN, price=price,
                                                             profit=ZERO, storage=ZERO, order=position_id,
                                                             position_id=position_id, at=opened)))
                    events.append((closed, len(events), dict(common, action=1 - side, entry=ENTRY_OUT, price=close,
                                                             profit=profit, storage=swap, order=position_id + 1,
                                                             position_id=position_id, at=closed)))
                    account.balance += profit + 2 * commission + swap
            events.sort(key=lambda e: (e[0], e[1]))
            for _, _, fields in events:
                self._add_deal(**fields)
        return len(events)

    # --- snapshots --------------------------------------------------------------------------------------

    def to_json(self) -> dict:
        with self.lock:
            def enc(obj) -> dict:
                return {f.name: str(v) if isinstance(v := getattr(obj, f.name), Decimal) else v
                        for f in fields(obj) if f.name != "wire"}

            return {
                "version": 1,
                "next_login": self.next_login, "next_deal": self.next_deal, "next_order": self.next_order,
                "prices": {k: str(v) for k, v in self.prices.items()},
                "groups": [enc(g) for g in self.groups.values()],
                "accounts": [enc(a) for a in self.accounts.values()],
                "positions": [enc(p) for p in self.positions.values()],
                "deals": [enc(d) for deals in self.deals_by_login.values() for d in deals],
            }

    def load_json(self, data: dict) -> None:
        def dec(cls, row: dict):
            kinds = {f: t for f, t in cls.__annotations__.items()}
            return cls(**{k: Decimal(v) if kinds.get(k) == "Decimal" else v for k, v in row.items() if k in kinds})

        with self.lock:
            self.next_login, self.next_deal, self.next_order = data["next_login"], data["next_deal"], data["next_order"]
            self.prices.update({k: Decimal(v) for k, v in data.get("prices", {}).items() if k in SYMBOLS})
            for row in data.get("groups", []):
                group = dec(Group, row)
                self.groups[group.name.casefold()] = group
            self.accounts = {a.login: a for a in (dec(Account, row) for row in data.get("accounts", []))}
            self.positions, self.positions_by_login = {}, {}
            for row in data.get("positions", []):
                p = dec(PositionRec, row)
                self.positions[p.ticket] = p
                self.positions_by_login.setdefault(p.login, {})[p.ticket] = p
            self.deals_by_login, self.deals_by_ticket = {}, {}
            for row in data.get("deals", []):
                self._index_deal(dec(DealRec, row))
            # After a restart only accounts with open positions have trading state, as on a real server.
            self.active = {p.login for p in self.positions.values()}
            self.dirty = False

    def save(self, path: str | os.PathLike) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = self.to_json()
        with self.lock:
            self.dirty = False
        fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(msgspec.json.encode(data))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, path: str | os.PathLike) -> bool:
        source = Path(path)
        if not source.exists():
            return False
        self.load_json(msgspec.json.decode(source.read_bytes()))
        return True
