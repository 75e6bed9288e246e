#!/usr/bin/env python3
"""Find or start PostgreSQL and Redis for `make run` / `make test`; print the environment to use them.

Order for each: the URL in the environment → the local default port → a project-local instance started
from the installed server binaries (data under .local/) → install the server package (apt, as root).
Prints `export DATABASE_URL=... REDIS_URL=...` lines; progress goes to stderr. Standard library only.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local"
PG_DIR = LOCAL / "pg"
REDIS_DIR = LOCAL / "redis"
PG_LOCAL_PORT = int(os.environ.get("BROKEROS_LOCAL_PG_PORT", "55432"))
REDIS_LOCAL_PORT = int(os.environ.get("BROKEROS_LOCAL_REDIS_PORT", "56379"))
DB_NAME = os.environ.get("BROKEROS_DB_NAME", "brokeros")


def say(msg: str) -> None:
    print(f"[services] {msg}", file=sys.stderr, flush=True)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def redis_ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(package: str) -> bool:
    if not (is_root() and shutil.which("apt-get")):
        return False
    say(f"installing {package} with apt-get (one-time)…")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
    return subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False, env=env,
                          capture_output=True).returncode == 0


# --- PostgreSQL ----------------------------------------------------------------------------

def pg_bindir() -> str | None:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    for d in dirs:
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def pg_usable(url: str) -> bool:
    p = urlparse(url)
    if not port_open(p.hostname or "127.0.0.1", p.port or 5432):
        return False
    try:
        import psycopg  # available in the project's virtualenv

        with psycopg.connect(host=p.hostname, port=p.port or 5432, user=p.username or "postgres",
                             password=p.password or None, dbname="postgres", connect_timeout=3):
            return True
    except Exception as exc:  # noqa: BLE001
        say(f"PostgreSQL at {p.hostname}:{p.port} refused us: {exc}")
        return False


def ensure_database(url: str) -> None:
    import psycopg

    p = urlparse(url)
    name = p.path.lstrip("/") or DB_NAME
    with psycopg.connect(host=p.hostname, port=p.port or 5432, user=p.username or "postgres",
                         password=p.password or None, dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            say(f"created database {name}")


def start_local_pg() -> str:
    bindir = pg_bindir()
    if bindir is None and apt_install("postgresql"):
        bindir = pg_bindir()
    if bindir is None:
        sys.exit("[services] No PostgreSQL found: install it (apt-get install postgresql) or set DATABASE_URL.")
    url = f"postgres://postgres@127.0.0.1:{PG_LOCAL_PORT}/{DB_NAME}"
    if pg_usable(url):
        return url
    runner: list[str] = []
    PG_DIR.mkdir(parents=True, exist_ok=True)
    if is_root():
        # initdb refuses to run as root: the cluster belongs to the postgres system user.
        subprocess.run(["chown", "-R", "postgres:postgres", str(PG_DIR)], check=True)
        runner = ["runuser", "-u", "postgres", "--"]
    if not (PG_DIR / "PG_VERSION").exists():
        say(f"initialising a project-local PostgreSQL cluster in {PG_DIR}")
        run(runner + [f"{bindir}/initdb", "-D", str(PG_DIR), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--locale=C.UTF-8"])
    say(f"starting PostgreSQL on 127.0.0.1:{PG_LOCAL_PORT}")
    opts = f"-p {PG_LOCAL_PORT} -k {PG_DIR} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if os.environ.get("CI"):
        opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    run(runner + [f"{bindir}/pg_ctl", "-D", str(PG_DIR), "-l", str(PG_DIR / "server.log"), "-o", opts, "-w", "start"])
    return url


def ensure_postgres() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        if not pg_usable(url):
            sys.exit(f"[services] DATABASE_URL is set but PostgreSQL does not answer at it: {url}")
        say("PostgreSQL: using DATABASE_URL")
    else:
        default = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
        if pg_usable(default):
            say("PostgreSQL: using the server on 127.0.0.1:5432")
            url = default
        else:
            url = start_local_pg()
    ensure_database(url)
    return url


# --- Redis ---------------------------------------------------------------------------------

def ensure_redis() -> str:
    url = os.environ.get("REDIS_URL")
    if url:
        p = urlparse(url)
        if not redis_ping(p.hostname or "127.0.0.1", p.port or 6379):
            sys.exit(f"[services] REDIS_URL is set but Redis does not answer at it: {url}")
        say("Redis: using REDIS_URL")
        return url
    if redis_ping("127.0.0.1", 6379):
        say("Redis: using the server on 127.0.0.1:6379")
        return "redis://127.0.0.1:6379/0"
    url = f"redis://127.0.0.1:{REDIS_LOCAL_PORT}/0"
    if redis_ping("127.0.0.1", REDIS_LOCAL_PORT):
        return url
    server = shutil.which("redis-server")
    if server is None and apt_install("redis-server"):
        server = shutil.which("redis-server")
    if server is None:
        sys.exit("[services] No Redis found: install it (apt-get install redis-server) or set REDIS_URL.")
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    say(f"starting Redis on 127.0.0.1:{REDIS_LOCAL_PORT}")
    run([server, "--port", str(REDIS_LOCAL_PORT), "--bind", "127.0.0.1", "--daemonize", "yes", "--dir", str(REDIS_DIR),
         "--pidfile", str(REDIS_DIR / "redis.pid"), "--logfile", str(REDIS_DIR / "redis.log"), "--save", "",
         "--appendonly", "no"])
    for _ in range(50):
        if redis_ping("127.0.0.1", REDIS_LOCAL_PORT):
            return url
        time.sleep(0.1)
    sys.exit("[services] Redis did not start; see .local/redis/redis.log")


def main() -> None:
    LOCAL.mkdir(exist_ok=True)
    db = ensure_postgres()
    redis = ensure_redis()
    print(f"export DATABASE_URL='{db}'")
    print(f"export REDIS_URL='{redis}'")


if __name__ == "__main__":
    main()
