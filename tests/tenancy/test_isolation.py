"""The isolation proof: a brokerage's users, data, worker messages, cache entries and files are invisible
from every other brokerage and from the platform, whichever way they are reached."""
from __future__ import annotations

import logging
import re
import uuid

import pytest
from django.core.cache import cache
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django_tenants.utils import schema_context, tenant_context

from platform_core.redis import redis_client
from tenancy.logging import TenantContextFilter
from tenancy.workers import send_on_commit, send_to_tenant
from tenant_apps.identity.models import User, UserKind
from tenant_apps.identity.services import staff_user_create
from tests.conftest import OPERATOR_EMAIL, PASSWORD, TENANT_SPECS, sign_in
from tests.tenancy.actors import client_create, evidence, users_count, where_am_i
from tests.tenancy.conftest import queued_messages

BAD_LOGIN = b"The email address and/or password you specified are not correct."
OTHER = {"alpha": "beta", "beta": "alpha"}


def _client_count(client) -> int:
    page = client.get("/backoffice/")
    assert page.status_code == 200, page.status_code
    return int(re.search(rb'data-testid="client-count">(\d+)<', page.content).group(1))


def _users_with_email(schema: str, email: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}".identity_user WHERE email = %s', [email])
        return cursor.fetchone()[0]


# --- (a) requests ---------------------------------------------------------------------------

# (whose admin signs in, at which brokerage's host) for every pair of the two tenants.
LOGINS = [(owner, host) for owner in ("alpha", "beta") for host in ("alpha", "beta")]


@pytest.mark.parametrize("owner, host", LOGINS, ids=[f"{o}-admin-at-{h}" for o, h in LOGINS])
def test_a_brokerages_credentials_work_only_on_its_own_host(db, tenants, tenant_client, owner, host):
    client = tenant_client(tenants[host])
    response = sign_in(client, tenants[host], f"admin@{owner}.test")  # password, then the admin's TOTP code
    if owner == host:
        assert response.status_code == 302, response.content[:300]
        assert client.get("/backoffice/").status_code == 200
    else:
        assert response.status_code == 200
        assert BAD_LOGIN in response.content
        assert client.get("/backoffice/").status_code == 302


# Credentials the operator console must refuse with a form error (never a 500, never a session).
CONSOLE_REFUSES = {
    "alpha's admin": ("admin@alpha.test", PASSWORD),
    "beta's admin": ("admin@beta.test", PASSWORD),
    "the operator with a wrong password": (OPERATOR_EMAIL, "not-the-password-1"),
}


@pytest.mark.parametrize("email, password", CONSOLE_REFUSES.values(), ids=CONSOLE_REFUSES.keys())
def test_the_operator_console_refuses_brokerage_credentials(db, tenants, platform_client, email, password):
    response = platform_client.post("/login/", {"username": email, "password": password})
    assert response.status_code == 200
    assert b"alert-danger" in response.content
    assert platform_client.get("/").status_code == 302


def test_the_operator_signs_in_to_the_console(db, tenants, platform_client):
    response = platform_client.post("/login/", {"username": OPERATOR_EMAIL, "password": PASSWORD})
    assert response.status_code == 302
    assert platform_client.get("/").status_code == 200


@pytest.mark.parametrize("slug", ["alpha", "beta"])
def test_the_platform_operator_is_unknown_at_every_brokerage(db, tenants, tenant_client, slug):
    client = tenant_client(tenants[slug])
    response = client.post("/accounts/login/", {"login": OPERATOR_EMAIL, "password": PASSWORD})
    assert response.status_code == 200 and BAD_LOGIN in response.content


@pytest.mark.parametrize("slug", ["alpha", "beta"])
def test_users_created_in_one_brokerage_show_only_in_its_own_back_office(db, tenants, tenant_client, slug):
    here, there = tenants[slug], tenants[OTHER[slug]]
    back_office = {b.slug: tenant_client(b, f"admin@{b.slug}.test") for b in (here, there)}
    before = {s: _client_count(c) for s, c in back_office.items()}
    staff_email = f"sales-{uuid.uuid4().hex[:8]}@{slug}.test"
    with tenant_context(here):
        User.objects.create_user(email=f"trader-{uuid.uuid4().hex[:8]}@example.test", kind=UserKind.CLIENT)
        staff_user_create(email=staff_email, role_codes=["sales"], password=PASSWORD)

    after = {s: _client_count(c) for s, c in back_office.items()}
    assert after == {here.slug: before[here.slug] + 1, there.slug: before[there.slug]}
    assert staff_email.encode() in back_office[here.slug].get("/backoffice/").content
    assert staff_email.encode() not in back_office[there.slug].get("/backoffice/").content
    # ... and the new staff member can sign in here but not there.
    for brokerage, ok in ((here, True), (there, False)):
        response = tenant_client(brokerage).post("/accounts/login/", {"login": staff_email, "password": PASSWORD})
        assert (response.status_code == 302) is ok


@pytest.mark.parametrize("slug", ["alpha", "beta"])
def test_the_brokerage_api_answers_with_the_hosts_brokerage_only(db, tenants, tenant_client, slug):
    response = tenant_client(tenants[slug]).get("/api/v1/brokerage/")
    assert response.status_code == 200
    body = response.json()
    spec = TENANT_SPECS[slug]
    assert (body["slug"], body["name"], body["portal_name"], body["timezone"]) == (
        slug, spec["name"], spec["name"], spec["timezone_name"])
    assert body["account_types"], "the brokerage's own account types are listed"
    other = OTHER[slug]
    assert TENANT_SPECS[other]["name"].encode() not in response.content
    assert other.encode() not in response.content


# --- (b) worker messages --------------------------------------------------------------------

# Where a message is sent from → the schema stamped on it.
STAMPS = {
    "inside alpha": (lambda t: tenant_context(t["alpha"]), None, "alpha"),
    "inside beta": (lambda t: tenant_context(t["beta"]), None, "beta"),
    "in public": (lambda t: schema_context("public"), None, "public"),
    "inside alpha, explicitly for beta": (lambda t: tenant_context(t["alpha"]), "beta", "beta"),
}


@pytest.mark.parametrize("context, explicit, stamped", STAMPS.values(), ids=STAMPS.keys())
def test_a_message_is_stamped_with_the_schema_it_was_sent_from(db, tenants, broker, token, context, explicit,
                                                               stamped):
    with context(tenants):
        message = send_to_tenant(where_am_i, explicit, token) if explicit else where_am_i.send(token)
    assert message.options["tenant_schema"] == stamped
    [queued] = queued_messages(broker)
    assert queued["message_id"] == message.message_id
    assert queued["options"]["tenant_schema"] == stamped


@pytest.mark.parametrize("sender", ["alpha", "beta"])
def test_a_message_sent_inside_a_brokerage_writes_only_to_that_brokerages_schema(committed_db, tenants, drain,
                                                                                 token, sender):
    email = f"worker-{token}@example.test"
    try:
        with tenant_context(tenants[sender]):
            client_create.send(token, email)
        drain()
        assert [run["schema"] for run in evidence(token)] == [sender]
        found = {schema: _users_with_email(schema, email) for schema in ("alpha", "beta", "public")}
        assert found == {"alpha": 0, "beta": 0, "public": 0, sender: 1}
    finally:
        with connection.cursor() as cursor:
            for schema in ("alpha", "beta", "public"):
                cursor.execute(f'DELETE FROM "{schema}".identity_user WHERE email = %s', [email])


def test_a_worker_reads_only_the_senders_brokerage(committed_db, tenants, drain, token):
    for slug in ("alpha", "beta"):
        with tenant_context(tenants[slug]):
            users_count.send(token)
    drain()
    runs = {run["schema"]: run for run in evidence(token)}
    assert set(runs) == {"alpha", "beta"}
    for slug, run in runs.items():
        with tenant_context(tenants[slug]):
            expected = sorted(User.objects.values_list("email", flat=True))
        assert run["emails"] == expected and run["users"] == len(expected)
        assert f"admin@{slug}.test" in run["emails"]
        assert f"admin@{OTHER[slug]}.test" not in run["emails"]


class _Rollback(Exception):
    pass


def test_send_on_commit_sends_nothing_when_the_transaction_rolls_back(committed_db, tenants, broker, token):
    with pytest.raises(_Rollback), tenant_context(tenants["alpha"]), transaction.atomic():
        send_on_commit(where_am_i, token)
        raise _Rollback
    assert queued_messages(broker) == []


def test_send_on_commit_sends_after_commit_with_the_tenant_bound_at_call_time(committed_db, tenants, broker,
                                                                              token):
    with transaction.atomic():
        for slug in ("alpha", "beta"):
            with tenant_context(tenants[slug]):
                send_on_commit(where_am_i, f"{token}-{slug}")
        assert queued_messages(broker) == [], "sent before the transaction committed"
        assert connection.schema_name == "public"  # the commit below runs in neither brokerage
    sent = sorted((m["args"][0], m["options"]["tenant_schema"]) for m in queued_messages(broker))
    assert sent == [(f"{token}-alpha", "alpha"), (f"{token}-beta", "beta")]


# --- (c) cache ------------------------------------------------------------------------------

CONTEXTS = {
    "alpha": lambda t: tenant_context(t["alpha"]),
    "beta": lambda t: tenant_context(t["beta"]),
    "public": lambda t: schema_context("public"),
}


@pytest.mark.parametrize("writer", CONTEXTS)
def test_a_cache_entry_is_visible_only_in_the_context_that_wrote_it(tenants, token, writer):
    name = f"isolation-{token}"
    with CONTEXTS[writer](tenants):
        cache.set(name, f"secret of {writer}", 60)
    try:
        for reader, context in CONTEXTS.items():
            with context(tenants):
                assert cache.get(name) == (f"secret of {writer}" if reader == writer else None), reader
        raw_keys = list(redis_client().scan_iter(match=f"*:{name}", count=1000))
        assert len(raw_keys) == 1
        assert raw_keys[0].startswith(f"{writer}:")
    finally:
        with CONTEXTS[writer](tenants):
            cache.delete(name)


# --- (d) files ------------------------------------------------------------------------------

def test_each_brokerage_stores_files_under_its_own_schema_named_directory(tenants):
    paths = {}
    for slug in ("alpha", "beta"):
        with tenant_context(tenants[slug]):
            paths[slug] = default_storage.path("x.txt")
    assert paths["alpha"] != paths["beta"]
    for slug, path in paths.items():
        assert f"/{slug}/" in path and OTHER[slug] not in path.rsplit("/", 2)[-2]


def test_a_file_saved_in_one_brokerage_cannot_be_read_or_reached_from_another(tenants, token):
    name = f"kyc/{token}.txt"
    with tenant_context(tenants["alpha"]):
        saved = default_storage.save(name, ContentFile(b"alpha passport"))
    try:
        with tenant_context(tenants["alpha"]):
            assert default_storage.exists(saved)
        with tenant_context(tenants["beta"]):
            assert not default_storage.exists(saved)
            with pytest.raises(SuspiciousFileOperation):
                default_storage.path(f"../alpha/{saved}")
    finally:
        with tenant_context(tenants["alpha"]):
            default_storage.delete(saved)


# --- (e) logs -------------------------------------------------------------------------------

@pytest.mark.parametrize("schema", ["alpha", "beta", "public"])
def test_log_lines_carry_the_schema_they_were_written_in(tenants, schema):
    record = logging.LogRecord("brokeros", logging.INFO, __file__, 1, "hello", None, None)
    with CONTEXTS[schema](tenants):
        assert TenantContextFilter().filter(record) is True
    assert record.schema_name == schema
