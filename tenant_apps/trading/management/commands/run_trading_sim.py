"""Run the bundled MT5 Web API trading-server simulator in the foreground (make run starts it)."""
from __future__ import annotations

import os
import signal
from decimal import Decimal

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Run the MT5 Web API simulator: accounts, balances, positions and deals in its own store, live prices "
            "and random client trading. Plain HTTP for localhost (dev, tests); the real MT5 adapter talks HTTPS "
            "with TLS verification on. Pass --tls-cert/--tls-key to serve HTTPS.")
    requires_system_checks: list = []

    def add_arguments(self, parser):
        env = os.environ.get
        parser.add_argument("--host", default=env("TRADING_SIM_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(env("TRADING_SIM_PORT", "8443")))
        parser.add_argument("--manager-login", type=int, default=int(env("TRADING_SIM_MANAGER_LOGIN", "1000")))
        parser.add_argument("--manager-password", default=env("TRADING_SIM_MANAGER_PASSWORD", "Manager-2026!"))
        parser.add_argument("--control-token", default=env("TRADING_SIM_CONTROL_TOKEN", ""),
                            help="shared secret for POST /sim/control (header X-Sim-Token); empty turns it off")
        parser.add_argument("--snapshot", default=env("TRADING_SIM_SNAPSHOT", ".local/trading_sim.json"),
                            help="JSON file that keeps the simulator's data across restarts; '' for none")
        parser.add_argument("--no-trading", action="store_true", help="prices move, but no random client trading")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between market steps")
        parser.add_argument("--activity", type=float, default=0.05,
                            help="chance per step that a funded account opens or closes a position")
        parser.add_argument("--commission-per-lot", default="3.50")
        parser.add_argument("--rollover-seconds", type=float, default=3600.0,
                            help="how often swaps are charged (a day on a real server)")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--strict-groups", action="store_true",
                            help="refuse unknown groups (retcode 8) instead of creating them on first use")
        parser.add_argument("--tls-cert", default=None)
        parser.add_argument("--tls-key", default=None)

    def handle(self, *args, **o):
        # Imported here: the simulator is a test peer and demo engine, never loaded by product code.
        from tenant_apps.trading.simulator.server import SimConfig, TradingSimulator

        sim = TradingSimulator(SimConfig(
            host=o["host"], port=o["port"], manager_login=o["manager_login"],
            manager_password=o["manager_password"], control_token=o["control_token"] or None,
            snapshot_path=o["snapshot"] or None, market_thread=True, trading=not o["no_trading"],
            interval_s=o["interval"], activity=o["activity"], seed=o["seed"],
            auto_create_groups=not o["strict_groups"], commission_per_lot=Decimal(o["commission_per_lot"]),
            rollover_s=o["rollover_seconds"], tls_cert=o["tls_cert"], tls_key=o["tls_key"],
            verbose=o["verbosity"] > 1,
        ))
        signal.signal(signal.SIGTERM, lambda *_: sim.request_stop())
        sim.start()
        restored = f", restored {len(sim.store.accounts)} accounts from {o['snapshot']}" if sim.restored else ""
        self.stdout.write(f"trading simulator: {sim.url} (manager {o['manager_login']}, "
                          f"control API {'on' if o['control_token'] else 'off'}{restored})")
        try:
            sim.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()
            self.stdout.write("trading simulator stopped")
