"""Concurrency, proven with real threads, each on its own PostgreSQL connection, in a committed brokerage.

To make the race as hard as it can be, the test's own connection holds the contested account's row lock
while the threads start; it lets go only once every thread is queued behind it (pg_blocking_pids), so all
of them compete for the same row at the same instant.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from decimal import Decimal

from django.db import OperationalError, connection, transaction
from django_tenants.utils import tenant_context

from tenant_apps.ledger.errors import HoldNotActive, InsufficientAvailableBalance, LedgerError
from tenant_apps.ledger.models import AccountKind, Hold, HoldStatus, JournalEntry, LedgerAccount, Owner
from tenant_apps.ledger.selectors import account_available_balance, account_balance
from tenant_apps.ledger.services import (
    account_get_or_create,
    hold_capture,
    hold_place,
    hold_release,
    ledger_post,
    ledger_transfer,
)
from tests.ledger.conftest import clearing, deposit, house, wallet

D = Decimal
THREADS = 50
WAIT = 60  # seconds before a stuck race fails the test instead of hanging it


def race(brokerage, n: int, work: Callable[[int], object], *, hold_row: LedgerAccount | None = None) -> list:
    """Run work(i) for i in 0..n-1 on n threads, each with its own connection inside the brokerage, released
    together. Returns each thread's result or the exception it raised, in thread order."""
    results: list = [None] * n
    ready = threading.Barrier(n + 1, timeout=WAIT)

    def thread(i: int) -> None:
        try:
            with tenant_context(brokerage):
                connection.ensure_connection()
                ready.wait()
                results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=thread, args=(i,), name=f"ledger-race-{i}") for i in range(n)]
    if hold_row is None:
        for t in threads:
            t.start()
        ready.wait()
    else:
        with transaction.atomic():
            LedgerAccount.objects.select_for_update().get(pk=hold_row.pk)
            for t in threads:
                t.start()
            ready.wait()
            _wait_until_all_wait_for_locks(n)
    for t in threads:
        t.join(WAIT)
        assert not t.is_alive(), f"{t.name} is stuck"
    return results


def _wait_until_all_wait_for_locks(n: int) -> None:
    """Until n other connections to this (test) database wait on a lock: the first thread waits for ours, the
    rest queue behind it."""
    deadline = time.monotonic() + WAIT
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'")
            waiting = cursor.fetchone()[0]
        if waiting == n:
            return
        assert time.monotonic() < deadline, f"only {waiting} of {n} threads reached the lock"
        time.sleep(0.02)


def codes(results) -> dict[str, int]:
    tally: dict[str, int] = {}
    for r in results:
        key = r.code if isinstance(r, LedgerError) else ("ok" if not isinstance(r, Exception) else repr(r))
        tally[str(key)] = tally.get(str(key), 0) + 1
    return tally


def test_fifty_concurrent_holds_for_the_full_balance_let_exactly_one_through(in_scratch):
    client_wallet = wallet(1001)
    deposit(client_wallet, D("500.00"), key="race-holds-funding")

    results = race(in_scratch, THREADS, lambda i: hold_place(
        account=client_wallet, amount=D("500.00"), idempotency_key=f"race-hold-{i}", reason="Withdrawal request",
        reference=("payments.withdrawal", str(i))), hold_row=client_wallet)

    assert codes(results) == {"ok": 1, "insufficient_available_balance": THREADS - 1}
    refused = [r for r in results if isinstance(r, InsufficientAvailableBalance)]
    assert {str(r) for r in refused} == {"Insufficient available balance: 0.00 USD available, 500.00 needed."}
    assert Hold.objects.filter(account=client_wallet, status=HoldStatus.ACTIVE).count() == 1
    assert account_balance(account=client_wallet) == D("500.00")
    assert account_available_balance(account=client_wallet) == D("0.00")


def test_fifty_concurrent_debits_of_the_full_balance_let_exactly_one_through(in_scratch):
    client_wallet, payout = wallet(1002), clearing(provider="stripe")
    deposit(client_wallet, D("300.00"), key="race-debits-funding")

    results = race(in_scratch, THREADS, lambda i: ledger_transfer(
        idempotency_key=f"race-debit-{i}", source=client_wallet, destination=payout, amount=D("300.00"),
        kind="withdrawal.paid"), hold_row=client_wallet)

    assert codes(results) == {"ok": 1, "insufficient_available_balance": THREADS - 1}
    assert account_balance(account=client_wallet) == D("0.00")
    assert JournalEntry.objects.filter(idempotency_key__startswith="race-debit-").count() == 1


def test_fifty_concurrent_deliveries_of_one_posting_move_money_once(in_scratch):
    client_wallet, psp = wallet(1003), clearing()

    results = race(in_scratch, THREADS, lambda i: ledger_post(
        idempotency_key="psp:sandbox:evt_race", kind="deposit.credited", reference=("payments.deposit", "race"),
        lines=[(psp, D("-42.00")), (client_wallet, D("42.00"))]), hold_row=client_wallet)

    assert codes(results) == {"ok": THREADS}
    assert len({entry.pk for entry in results}) == 1
    assert [entry.replayed for entry in results].count(False) == 1
    assert account_balance(account=client_wallet) == D("42.00")


def test_fifty_concurrent_openings_of_one_account_make_one_account(in_scratch):
    owner = Owner.trading_account(880001)
    results = race(in_scratch, THREADS, lambda i: account_get_or_create(
        kind=AccountKind.CLIENT_TRADING_MIRROR, owner=owner, currency="USD"))

    assert codes(results) == {"ok": THREADS}
    assert len({account.pk for account in results}) == 1
    assert LedgerAccount.objects.filter(owner_type="trading_account", owner_id="880001").count() == 1


def test_a_hold_captured_and_released_at_the_same_moment_ends_exactly_one_way(in_scratch):
    client_wallet, payout = wallet(1004), clearing(provider="stripe")
    deposit(client_wallet, D("100.00"), key="race-close-funding")
    hold = hold_place(account=client_wallet, amount=D("60.00"), idempotency_key="race-close-hold")

    def close(i: int):
        if i % 2:
            return hold_release(hold=hold, reason="cancelled")
        return hold_capture(hold=hold, idempotency_key="race-close-hold:paid", kind="withdrawal.paid",
                            lines=[(client_wallet, D("-60.00")), (payout, D("60.00"))])

    results = race(in_scratch, 20, close, hold_row=client_wallet)

    hold.refresh_from_db()
    captures, releases = results[0::2], results[1::2]
    if hold.status == HoldStatus.CAPTURED:
        assert all(isinstance(r, JournalEntry) and r.pk == hold.capture_entry_id for r in captures)
        assert all(isinstance(r, HoldNotActive) for r in releases)
        assert account_balance(account=client_wallet) == D("40.00")
    else:
        assert hold.status == HoldStatus.RELEASED
        assert all(isinstance(r, HoldNotActive) for r in captures)
        assert all(isinstance(r, Hold) for r in releases)
        assert account_balance(account=client_wallet) == D("100.00")
    assert account_available_balance(account=client_wallet) == account_balance(account=client_wallet)


def test_a_transfer_storm_in_every_direction_never_deadlocks(in_scratch):
    """Wallets A, B, C pay each other in every direction from 24 threads at once, two- and three-line entries
    alike. Every posting locks its accounts in id order, so none waits in a cycle: no deadlock, no retry."""
    accounts = [wallet(2001), wallet(2002), wallet(2003)]
    for account in accounts:
        deposit(account, D("1000.00"), key=f"storm-funding-{account.pk}")
    fee = house(AccountKind.FEES)
    per_thread = 15

    def storm(i: int):
        rng = random.Random(i)
        moved = []
        for n in range(per_thread):
            source, destination = rng.sample(accounts, 2)
            lines = [(destination, D("1.00")), (source, D("-1.00"))]  # the credited account first half the time
            if n % 3 == 0:
                lines = [(source, D("-1.10")), (fee, D("0.10")), (destination, D("1.00"))]
            if rng.random() < 0.5:
                lines.reverse()
            ledger_post(idempotency_key=f"storm-{i}-{n}", kind="transfer.internal", lines=lines)
            moved.append(lines)
        return moved

    results = race(in_scratch, 24, storm)

    failures = [r for r in results if isinstance(r, Exception)]
    assert not [f for f in failures if isinstance(f, OperationalError)], "deadlock or serialization failure"
    assert not failures
    expected = {account.pk: D("1000.00") for account in accounts}
    for moved in results:
        for lines in moved:
            for account, amount in lines:
                if account.pk in expected:
                    expected[account.pk] += amount
    assert {a.pk: account_balance(account=a) for a in accounts} == expected
    assert sum(expected.values()) + account_balance(account=fee) == D("3000.00")
    assert JournalEntry.objects.filter(kind="transfer.internal", idempotency_key__startswith="storm-").count() == 24 * per_thread


def test_transactions_that_post_several_entries_each_never_deadlock_with_each_other(in_scratch):
    """Two postings (over different accounts, in either order) inside ONE transaction, from 16 threads at once.
    Every posting writes an audit entry, and the audit chain is a per-brokerage lock; ledger services take it
    before any account lock, so the lock order is the same in every transaction and no cycle can form."""
    accounts = [wallet(2101), wallet(2102), wallet(2103), wallet(2104)]
    for account in accounts:
        deposit(account, D("100.00"), key=f"multi-funding-{account.pk}")

    def two_postings(i: int):
        rng = random.Random(1000 + i)
        first, second = rng.sample([(accounts[0], accounts[1]), (accounts[2], accounts[3])], 2)
        with transaction.atomic():
            ledger_post(idempotency_key=f"multi-{i}-a", kind="transfer.internal",
                        lines=[(first[0], D("-1.00")), (first[1], D("1.00"))])
            ledger_post(idempotency_key=f"multi-{i}-b", kind="transfer.internal",
                        lines=[(second[1], D("-1.00")), (second[0], D("1.00"))])
        return True

    results = race(in_scratch, 16, two_postings)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert JournalEntry.objects.filter(kind="transfer.internal", idempotency_key__startswith="multi-").count() == 32
