"""Structured logs: every line one JSON object carrying tenant, request_id, user_id (web) and message_id/actor
(workers); X-Request-ID echoed when sane, replaced when not."""
from __future__ import annotations

import logging
import re
import uuid

import pytest
from django_tenants.utils import tenant_context

from tests.observability.actors import QUEUE, log_a_line

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _access_line(records: list[dict], request_id: str) -> dict:
    [line] = [r for r in records if r["event"] == "request" and r["request_id"] == request_id]
    return line


def test_a_requests_log_line_is_json_with_tenant_request_id_and_user(db, tenants, tenant_client, json_logs):
    from tenant_apps.identity.models import User

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        admin_id = User.objects.get(email="admin@alpha.test").pk
    response = tenant_client(alpha, "admin@alpha.test").get("/backoffice/clients/", HTTP_X_REQUEST_ID="req-alpha-1")

    assert response["X-Request-ID"] == "req-alpha-1"
    records = json_logs.records()  # every captured line parses as one JSON object
    line = _access_line(records, "req-alpha-1")
    assert line["tenant"] == "alpha"
    assert line["user_id"] == admin_id
    assert line["logger"] == "brokeros.request"
    assert line["level"] == "info"
    assert line["route"] == "/backoffice/clients/"
    assert line["status"] == response.status_code
    assert line["method"] == "GET"
    assert line["timestamp"].endswith("Z")
    assert "HTTP_COOKIE" not in str(records) and "sessionid" not in str(records)


def test_an_anonymous_request_logs_no_user_and_context_is_cleared_after(db, tenants, tenant_client, json_logs):
    tenant_client(tenants["beta"]).get("/accounts/login/", HTTP_X_REQUEST_ID="anon-beta")
    line = _access_line(json_logs.records(), "anon-beta")
    assert (line["tenant"], line["user_id"]) == ("beta", None)

    logging.getLogger("tests.observability").info("after the request")
    [after] = [r for r in json_logs.records() if r["event"] == "after the request"]
    assert after["request_id"] is None, "request context leaked past the end of the request"


@pytest.mark.parametrize("incoming", ["has spaces in it", "x" * 65, "semi;colon", ""])
def test_a_bad_incoming_request_id_is_replaced_with_a_new_one(db, tenants, tenant_client, json_logs, incoming):
    response = tenant_client(tenants["alpha"]).get("/accounts/login/", HTTP_X_REQUEST_ID=incoming)
    request_id = response["X-Request-ID"]
    assert HEX32.match(request_id), request_id
    assert _access_line(json_logs.records(), request_id)["tenant"] == "alpha"


def test_two_requests_without_an_id_get_different_ones(db, tenants, tenant_client):
    client = tenant_client(tenants["alpha"])
    first, second = (client.get("/accounts/login/")["X-Request-ID"] for _ in range(2))
    assert HEX32.match(first) and HEX32.match(second) and first != second


def test_probes_and_unknown_hosts_carry_a_request_id_too(db, tenants, platform_client, json_logs):
    from django.test import Client

    assert HEX32.match(platform_client.get("/healthz")["X-Request-ID"])
    response = Client(HTTP_HOST="nobody.example.org").get("/", HTTP_X_REQUEST_ID="lost-1")
    assert response.status_code == 404
    line = _access_line(json_logs.records(), "lost-1")
    assert line["tenant"] == "public" and line["route"] == "unmatched"


def test_the_plain_format_still_shows_tenant_and_request_id(db, tenants, tenant_client, plain_logs):
    tenant_client(tenants["alpha"]).get("/accounts/login/", HTTP_X_REQUEST_ID="plain-1")
    [line] = [x for x in plain_logs.lines() if "req=plain-1" in x]
    assert "[alpha req=plain-1 user=-] brokeros.request: request" in line
    assert "route=/accounts/login/" in line


def test_a_worker_messages_log_lines_carry_message_id_actor_and_tenant(committed_db, tenants, broker, worker,
                                                                      json_logs):
    token = uuid.uuid4().hex
    with tenant_context(tenants["alpha"]):
        message = log_a_line.send(token)
    broker.join(QUEUE, timeout=10_000)
    worker.join()

    [line] = [r for r in json_logs.records() if r["event"] == f"working on {token}"]
    assert line["message_id"] == message.message_id
    assert line["actor"] == "log_a_line"
    assert line["tenant"] == "alpha"
    assert line["queue"] == QUEUE
    assert line["request_id"] is None
