#!/usr/bin/env python3
"""`make run`: start web, worker, scheduler, the trading-server simulator and the sandbox PSP, print every URL
and login, stop them all on Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
PORT = os.environ.get("PLATFORM_PORT", "8000")
SANDBOX_PSP_PORT = os.environ.get("SANDBOX_PSP_PORT", "8600")
# The bundled MT5 Web API simulator; 8443 is where provisioning's placeholder TradingServerConfig points.
# Plain HTTP on localhost only: the real MT5 adapter talks HTTPS with TLS verification on.
TRADING_SIM_PORT = os.environ.get("TRADING_SIM_PORT", "8443")
TRADING_SIM_MANAGER_LOGIN = os.environ.get("TRADING_SIM_MANAGER_LOGIN", "1000")
TRADING_SIM_MANAGER_PASSWORD = os.environ.get("TRADING_SIM_MANAGER_PASSWORD", "Manager-2026!")
TRADING_SIM_CONTROL_TOKEN = os.environ.get("TRADING_SIM_CONTROL_TOKEN", "dev-sim-control")

PROCESSES = {
    "web": [PY, "manage.py", "runserver", f"0.0.0.0:{PORT}", "--noreload"],
    "worker": [PY, "manage.py", "rundramatiq", "--processes", "1", "--threads", "4"],
    "scheduler": [PY, "manage.py", "run_scheduler"],
    "trading-sim": [PY, "manage.py", "run_trading_sim", "--host", "127.0.0.1", "--port", TRADING_SIM_PORT,
                    "--manager-login", TRADING_SIM_MANAGER_LOGIN, "--manager-password", TRADING_SIM_MANAGER_PASSWORD,
                    "--control-token", TRADING_SIM_CONTROL_TOKEN, "--snapshot", ".local/trading_sim.json"],
    # The bundled card PSP (hosted page, signed webhooks to each brokerage's host); brokerages reach it at
    # SANDBOX_PSP_URL, which defaults to this address.
    "sandbox-psp": [PY, "manage.py", "run_sandbox_psp", "--port", SANDBOX_PSP_PORT],
}


def print_trading_sim() -> None:
    print(f"Trading-server simulator (MT5 Web API): http://127.0.0.1:{TRADING_SIM_PORT}\n"
          f"  manager login {TRADING_SIM_MANAGER_LOGIN} / {TRADING_SIM_MANAGER_PASSWORD}; data kept in "
          f".local/trading_sim.json\n"
          f"  control: POST /sim/control with header X-Sim-Token: {TRADING_SIM_CONTROL_TOKEN}", flush=True)


def main() -> int:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    children: dict[str, subprocess.Popen] = {}
    for name, cmd in PROCESSES.items():
        children[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    time.sleep(2.5)
    subprocess.run([PY, "manage.py", "demo_logins"], cwd=ROOT, env=env, check=False)
    print(f"Sandbox PSP:     http://127.0.0.1:{SANDBOX_PSP_PORT}/  (hosted payment page; test cards listed there)",
          flush=True)
    print_trading_sim()
    stopping = False

    def stop(*_):
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nstopping web, worker, scheduler, trading simulator and sandbox PSP…", flush=True)
        for proc in children.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + 10
        for proc in children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, proc in children.items():
                if proc.poll() is not None:
                    print(f"{name} exited with code {proc.returncode}; stopping the rest.", flush=True)
                    stop()
                    return proc.returncode or 1
            time.sleep(0.5)
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
