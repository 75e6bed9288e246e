"""Ledger tests: money helpers, a scratch brokerage for committed multi-connection tests, and the books'
invariants checked after every test in every brokerage these tests touch.

Ledger rows are append-only by trigger, so committed tests can't clean up after themselves row by row: they
run in a scratch brokerage provisioned for this package and dropped (schema, domain, brokerage row) after it.
Tests on alpha and beta use the per-test transaction, which rolls back.
"""
from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from provisioning import schemas
from tenancy.models import Brokerage, Domain
from tenant_apps.ledger.models import AccountKind, LedgerAccount, Owner
from tenant_apps.ledger.selectors import ledger_integrity_problems
from tenant_apps.ledger.services import account_get_or_create, ledger_post

SCRATCH_SLUG = "ledger-scratch"
SCRATCH_SCHEMA = "ledger_scratch"
# Brokerages (besides alpha and beta) whose ledgers the invariant check covers while they exist.
_EXTRA_BROKERAGES: list[Brokerage] = []


def usd(value: str) -> Decimal:
    return Decimal(value)


def wallet(client_id: int, currency: str = "USD") -> LedgerAccount:
    return account_get_or_create(kind=AccountKind.CLIENT_WALLET, owner=Owner.client(client_id), currency=currency)


def clearing(currency: str = "USD", provider: str = "sandbox") -> LedgerAccount:
    return account_get_or_create(kind=AccountKind.PSP_CLEARING, owner=Owner.provider(provider), currency=currency)


def house(kind: str = AccountKind.BROKER_REVENUE, currency: str = "USD") -> LedgerAccount:
    return account_get_or_create(kind=kind, owner=None, currency=currency)


def deposit(account: LedgerAccount, amount: Decimal, *, key: str | None = None, provider: str = "sandbox"):
    """Credit a client account from PSP clearing, as a successful deposit would."""
    source = clearing(account.currency, provider)
    return ledger_post(idempotency_key=key or f"test-deposit:{account.pk}:{amount}:{source.pk}",
                       lines=[(source, -amount), (account, amount)], kind="deposit.credited",
                       description="Test deposit")


def refreshed(account: LedgerAccount) -> LedgerAccount:
    return LedgerAccount.objects.get(pk=account.pk)


@pytest.fixture
def alpha(db, tenants):
    return tenants["alpha"]


@pytest.fixture
def beta(db, tenants):
    return tenants["beta"]


@pytest.fixture
def in_alpha(alpha):
    """The test body runs inside Alpha's schema (and its changes roll back with the test)."""
    with tenant_context(alpha):
        yield alpha


def _drop_scratch() -> None:
    connection.set_schema_to_public()
    schemas.drop_schema(SCRATCH_SCHEMA)
    Domain.objects.filter(tenant__slug=SCRATCH_SLUG).delete()
    Brokerage.objects.filter(slug=SCRATCH_SLUG).delete()
    shutil.rmtree(Path(settings.MEDIA_ROOT) / SCRATCH_SCHEMA, ignore_errors=True)


@pytest.fixture(scope="package")
def scratch_brokerage(django_db_setup, django_db_blocker, tenants):
    """A committed brokerage built by blueprint replay for tests that need real commits and many connections;
    dropped with everything in it after the ledger tests."""
    from provisioning.services import provision_brokerage

    with django_db_blocker.unblock():
        _drop_scratch()  # a previous run killed before its teardown
        job = provision_brokerage(name="Ledger Scratch", slug=SCRATCH_SLUG, admin_email="admin@ledger-scratch.test",
                                  method="blueprint")
        assert job.status == "succeeded", job.error
        brokerage = job.brokerage
        connection.set_schema_to_public()
    _EXTRA_BROKERAGES.append(brokerage)
    yield brokerage
    _EXTRA_BROKERAGES.remove(brokerage)
    with django_db_blocker.unblock():
        _drop_scratch()


@pytest.fixture
def in_scratch(committed_db, scratch_brokerage):
    with tenant_context(scratch_brokerage):
        yield scratch_brokerage


@pytest.fixture(autouse=True)
def ledger_invariants(request):
    """After every test that touched the database: in alpha, beta and the scratch brokerage, every entry
    balances per currency, cached balances and held amounts equal their lines and active holds, running
    balances are consistent, and no client account's available balance is negative.

    Inside the per-test transaction, SET CONSTRAINTS ALL IMMEDIATE first fires what commit would fire (the
    deferred balance and available-balance triggers), so a state that commit would refuse fails here too."""
    names = set(request.fixturenames)
    if not names & {"db", "transactional_db", "committed_db"}:
        yield
        return
    in_test_transaction = "db" in names
    # Set the database fixture up before this one, so the check below runs before its rollback or re-block.
    request.getfixturevalue(next(name for name in ("db", "transactional_db", "committed_db") if name in names))
    tenants = request.getfixturevalue("tenants")
    yield
    connection.set_schema_to_public()
    if in_test_transaction:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    problems: dict[str, list[str]] = {}
    for brokerage in [tenants["alpha"], tenants["beta"], *_EXTRA_BROKERAGES]:
        with tenant_context(brokerage):
            found = ledger_integrity_problems()
        if found:
            problems[brokerage.slug] = found
    connection.set_schema_to_public()
    assert not problems, f"ledger invariants broken after the test: {problems}"
