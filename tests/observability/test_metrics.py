"""/metrics: platform host only, bearer token (or an operator when no token is configured), tenant-labelled
series with the route PATTERN as label, a hard cap on tenant labels, webhook outcomes and scrape-time gauges."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context
from prometheus_client import REGISTRY

from platform_core.observability import metrics

TOKEN = "scrape-token-for-tests"


def _sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _scrape(platform_client) -> str:
    response = platform_client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


@pytest.fixture
def metrics_token(monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)


def test_metrics_are_refused_without_the_token_and_served_with_it(db, tenants, platform_client, metrics_token):
    assert platform_client.get("/metrics").status_code == 403
    assert platform_client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert platform_client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 403
    assert "http_requests_total" in _scrape(platform_client)


def test_with_a_token_configured_an_operator_session_is_not_enough(db, tenants, operator_client, metrics_token):
    assert operator_client.get("/metrics").status_code == 403


def test_without_a_token_only_a_signed_in_operator_scrapes(db, tenants, platform_client, operator_client,
                                                           monkeypatch):
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    assert Client(HTTP_HOST=platform_client.defaults["HTTP_HOST"]).get("/metrics").status_code == 403
    assert operator_client.get("/metrics").status_code == 200


def test_tenant_hosts_have_no_metrics(db, tenants, tenant_client, metrics_token):
    response = tenant_client(tenants["alpha"]).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 404


def test_requests_are_counted_per_tenant_under_the_route_pattern_not_the_path(db, tenants, tenant_client,
                                                                               platform_client, metrics_token):
    route = "/backoffice/clients/<int:client_id>/"
    labels = {"tenant": "alpha", "method": "GET", "route": route, "status": "302"}
    before = _sample("http_requests_total", **labels)
    before_beta = _sample("http_requests_total", **{**labels, "tenant": "beta"})
    client = tenant_client(tenants["alpha"])
    for client_id in (48151, 62342):  # anonymous: both redirect to sign-in, after the URL resolved
        assert client.get(f"/backoffice/clients/{client_id}/").status_code == 302

    assert _sample("http_requests_total", **labels) == before + 2  # two ids → one series
    assert _sample("http_requests_total", **{**labels, "tenant": "beta"}) == before_beta
    assert _sample("http_request_duration_seconds_count", tenant="alpha", route=route) >= 2
    text = _scrape(platform_client)
    assert f'http_requests_total{{method="GET",route="{route}",status="302",tenant="alpha"}}' in text
    assert "48151" not in text and "62342" not in text


def test_unknown_hosts_and_unresolved_paths_share_bounded_labels(db, tenants, tenant_client):
    before = _sample("http_requests_total", tenant="unknown", method="GET", route="unmatched", status="404")
    Client(HTTP_HOST="nobody.example.org").get("/anything/12345/")
    Client(HTTP_HOST="nobody2.example.org").get("/other/")
    assert _sample("http_requests_total", tenant="unknown", method="GET", route="unmatched", status="404") \
        == before + 2
    weird = {"tenant": "alpha", "method": "other", "route": "unmatched"}
    status_before = {s: _sample("http_requests_total", **weird, status=s) for s in ("404", "405", "400")}
    tenant_client(tenants["alpha"]).generic("BREW", "/no-such-page-9876/")
    assert sum(_sample("http_requests_total", **weird, status=s) for s in status_before) \
        == sum(status_before.values()) + 1


def test_the_tenant_label_is_capped(tenant_labels, monkeypatch):
    monkeypatch.setenv("METRICS_MAX_TENANTS", "2")
    assert metrics.tenant_label("alpha") == "alpha"
    assert metrics.tenant_label("beta") == "beta"
    assert metrics.tenant_label("gamma") == "other"  # the cap is reached: no third series
    assert metrics.tenant_label("alpha") == "alpha"  # already labelled ones keep their label
    assert metrics.tenant_label("public") == "public"
    assert metrics.tenant_label(None) == "unknown"
    assert metrics.tenant_label("Robert'); DROP") == "unknown"


def test_webhook_outcomes_are_counted_with_bounded_provider_labels(db, tenants, tenant_client):
    client = tenant_client(tenants["alpha"])
    unknown = {"tenant": "alpha", "provider": "unknown", "outcome": "unknown_provider"}
    refused = {"tenant": "alpha", "provider": "sandbox", "outcome": "refused"}
    before_unknown, before_refused = _sample("webhook_outcomes_total", **unknown), \
        _sample("webhook_outcomes_total", **refused)

    assert client.post("/webhooks/psp/made-up-1/", b"{}", content_type="application/json").status_code == 404
    assert client.post("/webhooks/psp/made-up-2/", b"{}", content_type="application/json").status_code == 404
    assert client.post("/webhooks/kyc/sumsub/", b"{}", content_type="application/json").status_code == 404
    assert client.post("/webhooks/psp/sandbox/", b"{}", content_type="application/json").status_code == 400

    assert _sample("webhook_outcomes_total", **unknown) == before_unknown + 3
    assert _sample("webhook_outcomes_total", **refused) == before_refused + 1
    assert _sample("webhook_outcomes_total", tenant="alpha", provider="made-up-1", outcome="unknown_provider") == 0


def test_scrape_time_gauges_report_sync_lag_queue_depth_and_workers(db, tenants, broker, platform_client,
                                                                   metrics_token, django_assert_max_num_queries):
    from tenancy.workers import send_to_tenant
    from tenant_apps.trading.models import SyncState, TradingServerConfig
    from tests.observability.actors import log_a_line

    with tenant_context(tenants["alpha"]):
        server = TradingServerConfig.objects.filter(is_enabled=True).first()
        assert server is not None, "provisioning gives every brokerage a trading server"
        SyncState.objects.update_or_create(server=server, defaults={
            "last_success_at": timezone.now() - timedelta(seconds=600)})
    for _ in range(3):
        send_to_tenant(log_a_line, "beta", "queued")
    metrics._sync_lag_cache["at"] = 0.0

    with django_assert_max_num_queries(3):  # one catalog query + one UNION ALL, however many tenants
        rows = metrics.sync_lag_rows()
    [(schema, code, lag)] = [r for r in rows if r[0] == "alpha"]
    assert code == server.code and 595 <= lag <= 700
    text = _scrape(platform_client)
    line = next(x for x in text.splitlines()
                if x.startswith(f'trading_sync_lag_seconds{{server="{server.code}",tenant="alpha"}}'))
    assert 595 <= float(line.rsplit(" ", 1)[1]) <= 700
    assert 'worker_queue_depth{tenant="beta"} 3.0' in text
    assert "worker_live " in text
    with django_assert_max_num_queries(0):  # cached for 30 s
        assert metrics.sync_lag_rows() == rows
    metrics._sync_lag_cache["at"] = 0.0


def test_worker_counters_are_counted_and_served_on_the_worker_metrics_port(committed_db, tenants, broker,
                                                                          monkeypatch):
    import socket
    import urllib.request

    import dramatiq
    from django_tenants.utils import tenant_context

    from tests.conftest import declare_all_actors, stop_worker
    from tests.observability.actors import QUEUE, log_a_line

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WORKER_METRICS_PORT", str(port))
    labels = {"tenant": "alpha", "queue": QUEUE, "actor": "log_a_line"}
    before = _sample("worker_messages_processed_total", **labels)
    declare_all_actors()
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        with tenant_context(tenants["alpha"]):
            log_a_line.send("counted")
        broker.join(QUEUE, timeout=10_000)
        worker.join()
        assert _sample("worker_messages_processed_total", **labels) == before + 1
        assert _sample("worker_message_duration_seconds_count", queue=QUEUE, actor="log_a_line") >= 1
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert 'worker_messages_processed_total{actor="log_a_line",queue="observability_tests",tenant="alpha"}' \
            in text
    finally:
        stop_worker(broker, worker)
        from platform_core.observability.workers import ObservabilityMiddleware

        for m in broker.middleware:
            if isinstance(m, ObservabilityMiddleware) and getattr(m, "metrics_server", None):
                server, thread = m.metrics_server
                server.shutdown()
                server.server_close()
                m.metrics_server = None
