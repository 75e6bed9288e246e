"""The per-process host cache: hits come from memory, and any routing change is seen by the next request."""
import pytest
from django.db import connection
from django.test import Client

from provisioning import schemas
from provisioning.services import provision_brokerage
from tenancy import routing
from tenancy.models import Brokerage, Domain
from tenancy.services import brokerage_change_status


@pytest.fixture
def cached_brokerage(committed_db):
    job = provision_brokerage(name="Cache Co", slug="cache-co", admin_email="a@cache.test")
    assert job.status == "succeeded", job.error
    yield job.brokerage
    connection.set_schema_to_public()
    schemas.drop_schema("cache_co")
    Domain.objects.filter(tenant__slug="cache-co").delete()
    Brokerage.objects.filter(slug="cache-co").delete()


def queries_for(client: Client, path: str = "/") -> tuple[int, int]:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    return status, sum(1 for q in captured.captured_queries if "tenancy_domain" in q["sql"])


def test_a_second_request_finds_its_brokerage_without_asking_the_database(cached_brokerage):
    client = Client(HTTP_HOST="cache-co.localhost")
    assert queries_for(client) == (200, 1)
    assert queries_for(client) == (200, 0)


def test_suspending_is_seen_by_the_very_next_request(cached_brokerage):
    client = Client(HTTP_HOST="cache-co.localhost")
    assert client.get("/").status_code == 200
    brokerage_change_status(brokerage_id=cached_brokerage.pk, action="suspend", reason="cache test")
    assert client.get("/").status_code == 503
    brokerage_change_status(brokerage_id=cached_brokerage.pk, action="resume")
    assert client.get("/").status_code == 200


def test_a_removed_domain_stops_answering_at_once(cached_brokerage):
    Domain.objects.create(domain="trade.cache-co.example", tenant=cached_brokerage, is_primary=False, is_custom=True)
    client = Client(HTTP_HOST="trade.cache-co.example")
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200
    Domain.objects.filter(domain="trade.cache-co.example").delete()
    assert client.get("/").status_code == 404


def test_another_process_bumping_the_version_empties_this_cache(cached_brokerage):
    from platform_core.redis import redis_client

    client = Client(HTTP_HOST="cache-co.localhost")
    client.get("/")
    assert queries_for(client)[1] == 0
    redis_client().incr(routing._version_key())  # what another web process does on a routing change
    assert queries_for(client)[1] == 1
