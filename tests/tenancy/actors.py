"""Actors used only by the tenancy tests. Each one leaves evidence in Redis of the context it ran in,
so a test can tell whether a message ran at all, in which schema, and what that schema held."""
from __future__ import annotations

import json

from django.db import connection

from platform_core.redis import key, redis_client
from tenancy.workers import platform_actor, tenant_actor

QUEUE = "tenancy_tests"
# Short backoff: a message that is (wrongly) retried comes back within the test's wait, instead of 15 s later.
RETRIES = {"max_retries": 3, "min_backoff": 50, "max_backoff": 200}


def evidence_key(token: str) -> str:
    return key("tests", "tenancy", token)


def _record(token: str, **data) -> None:
    client = redis_client()
    client.rpush(evidence_key(token), json.dumps({"schema": connection.schema_name, **data}))
    client.expire(evidence_key(token), 600)


def evidence(token: str) -> list[dict]:
    """Every run of an actor for this token, oldest first: [{"schema": ..., ...}]."""
    return [json.loads(x) for x in redis_client().lrange(evidence_key(token), 0, -1)]


@tenant_actor(queue_name=QUEUE, **RETRIES)
def where_am_i(token: str):
    """Touches nothing: only says where it ran (a tenant actor that forgot require_tenant())."""
    _record(token)


@tenant_actor(queue_name=QUEUE, **RETRIES)
def client_create(token: str, email: str):
    from tenant_apps.identity.models import User, UserKind

    User.objects.create_user(email=email, kind=UserKind.CLIENT)
    _record(token, email=email)


@tenant_actor(queue_name=QUEUE, **RETRIES)
def users_count(token: str):
    from tenant_apps.identity.models import User

    _record(token, users=User.objects.count(), emails=sorted(User.objects.values_list("email", flat=True)))


@platform_actor(queue_name=QUEUE, **RETRIES)
def platform_where_am_i(token: str):
    from tenancy.models import Brokerage

    _record(token, brokerages=Brokerage.objects.brokerages().count())


@tenant_actor(queue_name=QUEUE, **RETRIES)
def fails_once(token: str):
    """Fails on its first run only: its retry must come back in the same brokerage."""
    _record(token)
    if len(evidence(token)) == 1:
        raise RuntimeError("first attempt fails")
