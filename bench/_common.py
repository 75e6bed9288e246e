"""What every benchmark needs: its own throw-away database beside the configured one, a log line with the time on
stderr (stdout keeps the figures and the closing JSON line), and a free local port."""
from __future__ import annotations

import os
import socket
import sys
import time
from urllib.parse import urlparse, urlunparse


def bench_database_url(suffix: str) -> str:
    """DATABASE_URL (or the local default) with `suffix` appended to the database name, e.g. brokeros_bench_sync."""
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brokeros")
    p = urlparse(url)
    return urlunparse(p._replace(path=f"/{p.path.lstrip('/') or 'brokeros'}{suffix}"))


def recreate_database(url: str) -> None:
    """Drop (with FORCE: a previous run's stray connections) and create the database the URL names."""
    import psycopg

    p = urlparse(url)
    name = p.path.lstrip("/")
    with psycopg.connect(host=p.hostname, port=p.port or 5432, user=p.username or "postgres",
                         password=p.password or None, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, host: str, timeout_s: float = 60) -> None:
    """Wait until the web app on 127.0.0.1:port answers /healthz for `host` with 200."""
    import http.client

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz", headers={"Host": host})
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the web app did not come up")
