"""Periodic work fans out over ACTIVE brokerages only, once per slot however many schedulers run;
the tenant-context helpers enter each brokerage, isolate one's failure, and refuse to run without one."""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.db import connection
from django.utils.module_loading import autodiscover_modules
from django_tenants.utils import schema_context, tenant_context

from platform_core.redis import key, redis_client
from tenancy import scheduler
from tenancy.context import (
    NoTenantError,
    current_schema,
    for_each_active_tenant,
    platform_context,
    require_tenant,
)
from tenancy.models import Brokerage, BrokerageKind, BrokerageStatus
from tenant_apps.identity.models import User
from tests.tenancy.conftest import queued_by

NOW_MS = 1_900_000_000_000  # a fixed instant; each test starts with no slot claimed


@pytest.fixture(autouse=True)
def _no_claimed_slots():
    def clear():
        names = list(redis_client().scan_iter(match=key("sched", "*"), count=1000))
        if names:
            redis_client().delete(*names)

    clear()
    yield
    clear()


@pytest.fixture
def registry():
    """The real periodic jobs (as run_scheduler loads them): at least one per-tenant and one platform job."""
    autodiscover_modules("tasks")
    jobs = dict(scheduler.REGISTRY)
    assert any(j.per_tenant for j in jobs.values()) and any(not j.per_tenant for j in jobs.values()), jobs
    return jobs


def _expected_messages(jobs, schemas) -> Counter:
    expected = Counter()
    for job in jobs.values():
        if job.per_tenant:
            expected.update({(job.name, schema): 1 for schema in schemas})
        else:
            expected[(job.name, "public")] += 1
    return expected


def _next_slot_of_every_job(jobs) -> int:
    return NOW_MS + max(j.every_s for j in jobs.values()) * 1000


# Rows of every kind and status besides alpha and beta; only an active brokerage may get tenant jobs.
ROWS = [(kind, status) for kind in (BrokerageKind.BROKERAGE, BrokerageKind.TEMPLATE, BrokerageKind.SPARE)
        for status in BrokerageStatus.values]


def test_tenant_jobs_go_to_every_active_brokerage_and_platform_jobs_go_once(db, tenants, broker, registry):
    for kind, status in ROWS:
        Brokerage.objects.create(name=f"{kind} {status}", slug=f"sched-{kind}-{status}",
                                 schema_name=f"sched_{kind}_{status}", kind=kind, status=status)
    active = {"alpha", "beta", "sched_brokerage_active"}
    assert set(Brokerage.objects.filter(kind="brokerage", status="active").values_list("schema_name", flat=True)) \
        == active

    sent = scheduler.fire_due_jobs(now_ms=NOW_MS)

    assert sent == {name: len(active) if job.per_tenant else 1 for name, job in registry.items()}
    assert queued_by(broker) == _expected_messages(registry, active)


def test_a_slot_fires_once_and_the_next_slot_fires_again(db, tenants, broker, registry):
    first = scheduler.fire_due_jobs(now_ms=NOW_MS)
    assert first and all(first.values())
    after_first = queued_by(broker)

    assert scheduler.fire_due_jobs(now_ms=NOW_MS) == {}
    assert scheduler.fire_due_jobs(now_ms=NOW_MS + 1) == {}, "same slot, a millisecond later"
    assert queued_by(broker) == after_first

    assert scheduler.fire_due_jobs(now_ms=_next_slot_of_every_job(registry)) == first
    assert queued_by(broker) == after_first + after_first


def test_concurrent_schedulers_fire_each_slot_once_between_them(db, tenants, broker, registry):
    # Each replica has its own database connection; only committed brokerages (alpha, beta) are visible.
    def replica(_):
        try:
            return scheduler.fire_due_jobs(now_ms=NOW_MS)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(replica, range(4)))

    fired = Counter()
    for result in results:
        fired.update(result)
    assert dict(fired) == {name: 2 if job.per_tenant else 1 for name, job in registry.items()}
    assert queued_by(broker) == _expected_messages(registry, {"alpha", "beta"})


# --- tenant context helpers -----------------------------------------------------------------

def _where(brokerage):
    return current_schema(), require_tenant().pk == brokerage.pk, User.objects.filter(
        email=f"admin@{brokerage.slug}.test").exists()


def test_for_each_active_tenant_runs_inside_every_active_brokerage_only(db, tenants):
    for kind, status in ROWS:
        if (kind, status) != (BrokerageKind.BROKERAGE, BrokerageStatus.ACTIVE):  # rows without a schema
            Brokerage.objects.create(name=f"{kind} {status}", slug=f"each-{kind}-{status}",
                                     schema_name=f"each_{kind}_{status}", kind=kind, status=status)

    results = for_each_active_tenant(_where)

    assert results == {"alpha": ("alpha", True, True), "beta": ("beta", True, True)}
    assert current_schema() == "public"


def test_one_brokerages_failure_is_reported_and_the_others_still_run(db, tenants):
    def fn(brokerage):
        if brokerage.slug == "alpha":  # alpha comes first (lowest id)
            raise ValueError("alpha's data is broken")
        return _where(brokerage)

    results = for_each_active_tenant(fn)

    assert list(results) == ["alpha", "beta"]
    assert isinstance(results["alpha"], ValueError) and str(results["alpha"]) == "alpha's data is broken"
    assert results["beta"] == ("beta", True, True)
    assert current_schema() == "public"


def test_for_each_active_tenant_can_stop_at_the_first_failure(db, tenants):
    seen = []

    def fn(brokerage):
        seen.append(brokerage.slug)
        raise ValueError(brokerage.slug)

    with pytest.raises(ValueError, match="alpha"):
        for_each_active_tenant(fn, stop_on_error=True)
    assert seen == ["alpha"]
    assert current_schema() == "public"


@contextmanager
def _platform_inside_alpha(tenants):
    with tenant_context(tenants["alpha"]), platform_context():
        yield


# Where require_tenant() is called → the brokerage it returns, or None when it must raise.
REQUIRE = {
    "public": (lambda t: schema_context("public"), None),
    "platform context inside alpha": (_platform_inside_alpha, None),
    "alpha": (lambda t: tenant_context(t["alpha"]), "alpha"),
    "beta": (lambda t: tenant_context(t["beta"]), "beta"),
}


@pytest.mark.parametrize("context, expected", REQUIRE.values(), ids=REQUIRE.keys())
def test_require_tenant_returns_the_brokerage_or_fails_loudly(db, tenants, context, expected):
    with context(tenants):
        if expected is None:
            with pytest.raises(NoTenantError, match="must run inside a brokerage"):
                require_tenant()
        else:
            assert require_tenant().slug == expected
