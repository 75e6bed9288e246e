"""Live data for the simulator: a random-walk price feed and random client trading (opens, closes, stop-outs)."""
from __future__ import annotations

import logging
import math
import random
import threading
from decimal import Decimal

from tenant_apps.trading.simulator.models import (
    DEAL_BUY,
    DEAL_SELL,
    REASON_SO,
    RIGHT_ENABLED,
    RIGHT_TRADE_DISABLED,
    SYMBOLS,
    SimError,
    q_money,
)
from tenant_apps.trading.simulator.store import SimStore

log = logging.getLogger(__name__)

LOT_CHOICES = (100, 200, 500, 1000, 2000, 5000, 10000, 20000)  # 0.01 … 2 lots in 1/10 000 lot


class Market:
    """`step()` moves every price once and lets a fraction (`activity`) of the funded, trade-enabled accounts
    act: close one of their positions or open a new one sized to use at most 30 % of the free margin.
    Accounts below their group's stop-out level lose their worst position. `run()` steps every `interval_s`."""

    def __init__(self, store: SimStore, *, seed: int | None = None, activity: float = 0.05,
                 interval_s: float = 1.0, max_positions: int = 3):
        self.store = store
        self.rng = random.Random(seed)
        self.activity = activity
        self.interval_s = interval_s
        self.max_positions = max_positions
        self.enabled = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick_prices(self) -> None:
        with self.store.lock:
            for name, spec in SYMBOLS.items():
                price = self.store.prices[name]
                moved = price * Decimal(str(math.exp(self.rng.gauss(0, spec.volatility))))
                # Drift back towards the start so a long demo stays in a plausible range.
                moved += (spec.start - moved) * Decimal("0.0005")
                self.store.prices[name] = q_money(moved, spec.digits)

    def step(self) -> dict[str, int]:
        done = {"opened": 0, "closed": 0, "stopped_out": 0}
        store = self.store
        with store.lock:
            self.tick_prices()
            for account in list(store.accounts.values()):
                positions = store.positions_by_login.get(account.login, {})
                if positions:
                    money = store.money(account)
                    if money.margin and money.margin_level < store.group_of(account).margin_stop_out:
                        worst = min(positions.values(), key=lambda p: store.position_profit(p, "USD"))
                        store.close_position(worst.ticket, reason=REASON_SO, comment=f"[so {money.margin_level}%]")
                        done["stopped_out"] += 1
                        continue
                if (not account.rights & RIGHT_ENABLED or account.rights & RIGHT_TRADE_DISABLED
                        or account.balance <= 0 or self.rng.random() >= self.activity):
                    continue
                if positions and (len(positions) >= self.max_positions or self.rng.random() < 0.45):
                    ticket = self.rng.choice(sorted(positions))
                    store.close_position(ticket)
                    done["closed"] += 1
                    continue
                if self._open_random(account):
                    done["opened"] += 1
        return done

    def _open_random(self, account) -> bool:
        store = self.store
        budget = store.money(account).free_margin * Decimal("0.3")
        symbol = self.rng.choice(sorted(SYMBOLS))
        side = self.rng.choice((DEAL_BUY, DEAL_SELL))
        choices = [v for v in LOT_CHOICES if v <= self.rng.choice(LOT_CHOICES)]
        for volume in sorted(choices, reverse=True):
            spec = SYMBOLS[symbol]
            notional = Decimal(volume) / 10_000 * spec.contract_size * store.prices[symbol]
            margin = store.convert(notional, spec.quote, store.group_of(account).currency) / account.leverage
            if margin <= budget:
                try:
                    store.open_position(account.login, symbol, side, volume)
                except SimError:
                    return False
                return True
        return False

    # --- background thread ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="trading-sim-market", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if self.enabled.is_set():
                    self.step()
                else:
                    self.tick_prices()
            except Exception:  # noqa: BLE001 - the demo engine keeps going
                log.exception("market step failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
