"""/readyz on every host: PostgreSQL + Redis + a live worker + session pooling; the pooling probe and its command."""
from __future__ import annotations

import time

import pytest
from django.core.management import CommandError, call_command

from platform_core.observability import readiness
from platform_core.redis import key, redis_client
from tenancy.workers import worker_heartbeats


def _no_heartbeats():
    client = redis_client()
    for name in list(client.scan_iter(match=key("heartbeat", "*"))):
        client.delete(name)


def test_readyz_is_503_without_a_worker_heartbeat(db, tenants, tenant_client, platform_client):
    _no_heartbeats()
    for client in (platform_client, tenant_client(tenants["alpha"])):
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "ok"
        assert body["checks"]["workers"] == 0
        assert body["checks"]["pooling"] == "ok"
        assert "no worker heartbeat" in body["reasons"]


def test_readyz_is_200_with_a_worker_running(db, tenants, tenant_client, platform_client, worker):
    deadline = time.monotonic() + 5
    while not worker_heartbeats() and time.monotonic() < deadline:
        time.sleep(0.05)
    for client in (platform_client, tenant_client(tenants["beta"])):
        response = client.get("/readyz")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["status"] == "ready" and body["reasons"] == []
        assert body["checks"]["workers"] >= 1


def test_readyz_refuses_transaction_pooling_with_the_fix(db, tenants, platform_client, worker, monkeypatch):
    monkeypatch.setattr(readiness, "pooling_probe", lambda rounds=5: (False, "pooled per transaction. "
                                                                     + readiness.POOLING_FIX))
    monkeypatch.setitem(readiness._probe_cache, "result", None)
    deadline = time.monotonic() + 5
    while not worker_heartbeats() and time.monotonic() < deadline:
        time.sleep(0.05)
    response = platform_client.get("/readyz")
    assert response.status_code == 503
    assert "pool_mode = session" in response.json()["checks"]["pooling"]
    readiness._probe_cache["result"] = None


def test_the_pooling_probe_passes_on_plain_postgresql(db):
    assert readiness.pooling_probe(rounds=10) == (True, "")


def test_check_pooling_command_passes_here_and_fails_with_the_fix(db, monkeypatch, capsys):
    call_command("check_pooling", "--rounds", "3")
    assert "pooling ok" in capsys.readouterr().out
    import tenancy.management.commands.check_pooling as command

    monkeypatch.setattr(command, "pooling_probe", lambda rounds: (False, readiness.POOLING_FIX))
    with pytest.raises(CommandError, match="pool_mode = session"):
        call_command("check_pooling")


def test_the_startup_check_logs_an_error_with_the_fix(monkeypatch, settings, caplog):
    settings.TESTING = False
    monkeypatch.setattr(readiness, "_startup_done", type(readiness._startup_done)())
    monkeypatch.setattr(readiness, "pooling_probe", lambda: (False, "pooled. " + readiness.POOLING_FIX))
    with caplog.at_level("ERROR"):
        readiness.startup_pooling_check()
        readiness.startup_pooling_check()  # once per process
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "pool_mode = session" in errors[0].getMessage()


def test_healthz_still_answers_without_workers(db, tenants, platform_client):
    _no_heartbeats()
    assert platform_client.get("/healthz").status_code == 200


def test_web_scope_readiness_leaves_the_workers_out(db, tenants, tenant_client, platform_client):
    _no_heartbeats()
    response = tenant_client(tenants["alpha"]).get("/readyz?scope=web")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["scope"] == "web" and "workers" not in body["checks"]
    assert body["checks"]["pooling"] == "ok"
    # the platform scope (the default) still needs a worker
    assert platform_client.get("/readyz").status_code == 503


def test_an_unknown_readiness_scope_is_a_clear_400(db, platform_client):
    response = platform_client.get("/readyz?scope=everything")
    assert response.status_code == 400
    assert "Unknown scope 'everything'" in response.json()["detail"]
