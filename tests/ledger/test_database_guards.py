"""The database itself refuses what would break the books — raw SQL with the application's login included —
in every brokerage, however its schema was built (migrations, blueprint replay, spare-pool rename)."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import tenant_context

from provisioning import schemas
from provisioning.services import provision_brokerage
from tenant_apps.ledger.models import (
    KIND_OWNER_TYPE,
    NON_NEGATIVE_KINDS,
    AccountKind,
    Hold,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Owner,
)
from tenant_apps.ledger.selectors import INTEGRITY_CHECKS, ledger_integrity_problems
from tenant_apps.ledger.services import account_get_or_create, hold_capture, hold_place
from tests.ledger.conftest import clearing, deposit, house, refreshed, wallet

D = Decimal

GUARD_TRIGGERS = {
    ("ledger_journalentry", "ledger_journalentry_append_only"),
    ("ledger_journalentry", "ledger_journalentry_no_truncate"),
    ("ledger_journalentry", "ledger_entry_has_lines"),
    ("ledger_journalline", "ledger_journalline_append_only"),
    ("ledger_journalline", "ledger_journalline_no_truncate"),
    ("ledger_journalline", "ledger_journalline_apply"),
    ("ledger_journalline", "ledger_entry_balanced"),
    ("ledger_ledgeraccount", "ledger_ledgeraccount_guard"),
    ("ledger_ledgeraccount", "ledger_ledgeraccount_no_truncate"),
    ("ledger_ledgeraccount", "ledger_client_available_not_negative"),
    ("ledger_hold", "ledger_hold_guard"),
    ("ledger_hold", "ledger_hold_apply"),
    ("ledger_hold", "ledger_hold_no_truncate"),
}
GUARD_FUNCTIONS = {"ledger_refuse_change", "ledger_account_guard", "ledger_line_apply", "ledger_entry_balanced_check",
                   "ledger_entry_lines_check", "ledger_available_check", "ledger_hold_guard", "ledger_hold_apply"}
DEFERRED = {"ledger_entry_balanced", "ledger_entry_has_lines", "ledger_client_available_not_negative"}


def refused_by(excinfo) -> str:
    """The rule the database named (the constraint of a CHECK/FK, or the CONSTRAINT our triggers raise with)."""
    return excinfo.value.__cause__.diag.constraint_name


def run_refused(sql_or_steps, params=None, *, at_commit: bool = False):
    """Run raw SQL (or a function of a cursor) in a savepoint and return the IntegrityError the database raised.
    at_commit: fire the deferred constraint triggers as commit would (SET CONSTRAINTS ALL IMMEDIATE) before the
    savepoint ends. Everything the attempt writes is inside the savepoint, so nothing of it is left queued."""
    with pytest.raises(IntegrityError) as refused, transaction.atomic(), connection.cursor() as cursor:
        if callable(sql_or_steps):
            sql_or_steps(cursor)
        else:
            cursor.execute(sql_or_steps, params)
        if at_commit:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return refused


@pytest.fixture
def books(in_alpha):
    """A funded wallet with a hold on part of it, a captured hold, and the entries behind them."""
    client_wallet, psp = wallet(1), clearing()
    funding = deposit(client_wallet, D("100.00"))
    hold = hold_place(account=client_wallet, amount=D("10.00"), idempotency_key="held", reason="Withdrawal")
    captured = hold_place(account=client_wallet, amount=D("5.00"), idempotency_key="spent", reason="Withdrawal")
    hold_capture(hold=captured, idempotency_key="spent:paid", kind="withdrawal.paid",
                 lines=[(client_wallet, D("-5.00")), (psp, D("5.00"))])
    return {"wallet": client_wallet, "psp": psp, "entry": funding, "line": funding.lines.all()[1], "hold": hold,
            "captured": captured}


def snapshot():
    return (list(JournalEntry.objects.order_by("id").values_list("id", "kind", "description")),
            list(JournalLine.objects.order_by("id").values_list("id", "entry_id", "account_id", "amount", "account_seq",
                                                                "balance_after")),
            list(LedgerAccount.objects.order_by("id").values_list("id", "kind", "owner_id", "currency", "balance", "held",
                                                                  "line_count")),
            list(Hold.objects.order_by("id").values_list("id", "status", "amount", "closed_at")))


# TRUNCATE refuses to run while the transaction has trigger events queued; an intruder's TRUNCATE runs in a
# fresh transaction, which this reproduces.
FIRE_PENDING = "SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED; "
# (raw SQL an intruder with the application's login might try, the rule that refuses it)
TAMPERING = {
    "edit a line's amount": ("UPDATE ledger_journalline SET amount = amount * 2 WHERE id = {line}", "ledger_append_only"),
    "move a line to another account": ("UPDATE ledger_journalline SET account_id = {psp} WHERE id = {line}", "ledger_append_only"),
    "delete a line": ("DELETE FROM ledger_journalline WHERE id = {line}", "ledger_append_only"),
    "delete every line": ("DELETE FROM ledger_journalline", "ledger_append_only"),
    "truncate the lines": (FIRE_PENDING + "TRUNCATE ledger_journalline CASCADE", "ledger_append_only"),
    "edit an entry": ("UPDATE ledger_journalentry SET description = 'nothing happened' WHERE id = {entry}", "ledger_append_only"),
    "delete an entry": ("DELETE FROM ledger_journalentry WHERE id = {entry}", "ledger_append_only"),
    "truncate the entries": (FIRE_PENDING + "TRUNCATE ledger_journalentry CASCADE", "ledger_append_only"),
    "truncate the accounts": (FIRE_PENDING + "TRUNCATE ledger_ledgeraccount CASCADE", "ledger_append_only"),
    "truncate the holds": (FIRE_PENDING + "TRUNCATE ledger_hold", "ledger_append_only"),
    "set a balance": ("UPDATE ledger_ledgeraccount SET balance = balance + 1000 WHERE id = {wallet}", "ledger_balance_from_lines_only"),
    "forget what is held": ("UPDATE ledger_ledgeraccount SET held = 0 WHERE id = {wallet}", "ledger_balance_from_lines_only"),
    "change an account's currency": ("UPDATE ledger_ledgeraccount SET currency = 'EUR' WHERE id = {wallet}", "ledger_account_identity_fixed"),
    "give an account to someone else": ("UPDATE ledger_ledgeraccount SET owner_id = '2' WHERE id = {wallet}", "ledger_account_identity_fixed"),
    "delete an account": ("DELETE FROM ledger_ledgeraccount WHERE id = {wallet}", "ledger_append_only"),
    "open an account with money in it": (
        "INSERT INTO ledger_ledgeraccount (kind, owner_type, owner_id, currency, decimal_places, balance, held, "
        "line_count) VALUES ('client_wallet', 'client', '9', 'USD', 2, 1000, 0, 0)", "ledger_account_opens_empty"),
    "renumber an account's lines": ("UPDATE ledger_ledgeraccount SET line_count = 0 WHERE id = {wallet}",
                                    "ledger_balance_from_lines_only"),
    "delete a hold": ("DELETE FROM ledger_hold WHERE id = {hold}", "ledger_append_only"),
    "shrink a hold": ("UPDATE ledger_hold SET amount = 1 WHERE id = {hold}", "ledger_hold_transition"),
    "reopen a captured hold": ("UPDATE ledger_hold SET status = 'active', closed_at = NULL, captured_amount = NULL, "
                               "capture_entry_id = NULL WHERE id = {captured}", "ledger_hold_transition"),
    "place a hold already closed": (
        "INSERT INTO ledger_hold (account_id, amount, currency, decimal_places, status, idempotency_key, fingerprint, "
        "reason, object_type, object_id, closed_at) VALUES ({wallet}, 1, 'USD', 2, 'released', 'x', repeat('0', 64), "
        "'', '', '', now())", "ledger_hold_transition"),
    "a line in another currency than its account": (
        "INSERT INTO ledger_journalline (entry_id, account_id, amount, currency, decimal_places, account_seq, "
        "balance_after) VALUES ({entry}, {wallet}, 1, 'EUR', 2, 0, 0)", "ledger_line_account_currency"),
    "a line finer than its currency": (
        "INSERT INTO ledger_journalline (entry_id, account_id, amount, currency, decimal_places, account_seq, "
        "balance_after) VALUES ({entry}, {wallet}, 0.001, 'USD', 2, 0, 0)", "ledger_line_amount_scale"),
    "a line claiming another precision than its account": (
        "INSERT INTO ledger_journalline (entry_id, account_id, amount, currency, decimal_places, account_seq, "
        "balance_after) VALUES ({entry}, {wallet}, 0.001, 'USD', 3, 0, 0)", "ledger_line_account_currency"),
    "a zero line": (
        "INSERT INTO ledger_journalline (entry_id, account_id, amount, currency, decimal_places, account_seq, "
        "balance_after) VALUES ({entry}, {wallet}, 0, 'USD', 2, 0, 0)", "ledger_line_amount_scale"),
    "a hold in another currency than its account": (
        "INSERT INTO ledger_hold (account_id, amount, currency, decimal_places, status, idempotency_key, fingerprint, "
        "reason, object_type, object_id) VALUES ({wallet}, 1, 'EUR', 2, 'active', 'y', repeat('0', 64), '', '', '')",
        "ledger_hold_account_currency"),
}


@pytest.mark.parametrize("attempt", TAMPERING)
def test_raw_sql_that_would_rewrite_the_books_is_refused(books, attempt):
    sql, rule = TAMPERING[attempt]
    before = snapshot()
    refused = run_refused(sql.format(**{name: getattr(obj, "pk", obj) for name, obj in books.items()}))
    assert refused_by(refused) == rule, str(refused.value)
    assert snapshot() == before


def test_the_orm_cannot_set_a_balance_either(books):
    account = refreshed(books["wallet"])
    account.balance = D("1000000.00")
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        account.save()
    assert refused_by(refused) == "ledger_balance_from_lines_only"


def _raw_entry(cursor, key: str) -> int:
    cursor.execute(
        "INSERT INTO ledger_journalentry (idempotency_key, fingerprint, kind, description, object_type, object_id, metadata) "
        "VALUES (%s, repeat('0', 64), 'test.raw', '', '', '', '{}') RETURNING id", [key])
    return cursor.fetchone()[0]


def _raw_line(cursor, entry_id: int, account: LedgerAccount, amount: str) -> None:
    cursor.execute(
        "INSERT INTO ledger_journalline (entry_id, account_id, amount, currency, decimal_places, account_seq, "
        "balance_after) VALUES (%s, %s, %s, %s, %s, 0, 0)", [entry_id, account.pk, D(amount), account.currency, account.decimal_places])


# --- refused at commit (real commits, in the scratch brokerage) ------------------------------------------

def test_an_unbalanced_entry_inserted_by_raw_sql_is_refused_at_commit(in_scratch):
    client_wallet, psp = wallet(1), clearing()
    with pytest.raises(IntegrityError) as refused:
        with transaction.atomic(), connection.cursor() as cursor:
            entry_id = _raw_entry(cursor, "raw-unbalanced")
            _raw_line(cursor, entry_id, psp, "-100.00")
            _raw_line(cursor, entry_id, client_wallet, "99.99")
            # Inside the transaction the lines are accepted one by one: only the whole entry is judged.
            cursor.execute("SELECT count(*) FROM ledger_journalline WHERE entry_id = %s", [entry_id])
            assert cursor.fetchone()[0] == 2
    assert refused_by(refused) == "ledger_entry_balanced"
    assert "does not balance in USD: its lines sum to -0.01" in str(refused.value)
    assert not JournalEntry.objects.filter(idempotency_key="raw-unbalanced").exists()
    assert refreshed(client_wallet).balance == 0


def test_an_entry_without_lines_is_refused_at_commit(in_scratch):
    with pytest.raises(IntegrityError) as refused:
        with transaction.atomic(), connection.cursor() as cursor:
            _raw_entry(cursor, "raw-empty")
    assert refused_by(refused) == "ledger_entry_has_lines"
    assert not JournalEntry.objects.filter(idempotency_key="raw-empty").exists()


def test_a_raw_sql_overdraft_of_a_client_wallet_is_refused_at_commit(in_scratch):
    client_wallet, psp = wallet(2), clearing()
    deposit(client_wallet, D("100.00"), key="scratch-overdraft-funding")
    with pytest.raises(IntegrityError) as refused:
        with transaction.atomic(), connection.cursor() as cursor:
            entry_id = _raw_entry(cursor, "raw-overdraft")
            _raw_line(cursor, entry_id, client_wallet, "-100.01")
            _raw_line(cursor, entry_id, psp, "100.01")
    assert refused_by(refused) == "ledger_client_available_not_negative"
    assert refreshed(client_wallet).balance == D("100.00")


def test_a_raw_sql_hold_beyond_the_available_balance_is_refused_at_commit(in_scratch):
    client_wallet = wallet(3)
    deposit(client_wallet, D("50.00"), key="scratch-hold-funding")
    hold_place(account=client_wallet, amount=D("20.00"), idempotency_key="scratch-hold-1")
    with pytest.raises(IntegrityError) as refused:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_hold (account_id, amount, currency, decimal_places, status, idempotency_key, "
                "fingerprint, reason, object_type, object_id) VALUES (%s, 30.01, 'USD', 2, 'active', 'raw-hold', "
                "repeat('0', 64), '', '', '')", [client_wallet.pk])
    assert refused_by(refused) == "ledger_client_available_not_negative"
    assert refreshed(client_wallet).held == D("20.00")


def test_a_client_wallet_may_dip_below_zero_inside_a_transaction_that_ends_above_it(in_scratch):
    client_wallet, psp = wallet(4), clearing()
    deposit(client_wallet, D("10.00"), key="scratch-dip-funding")
    with transaction.atomic(), connection.cursor() as cursor:
        entry_id = _raw_entry(cursor, "raw-dip")
        _raw_line(cursor, entry_id, client_wallet, "-15.00")
        _raw_line(cursor, entry_id, psp, "15.00")
        assert refreshed(client_wallet).balance == D("-5.00")
        second = _raw_entry(cursor, "raw-dip-back")
        _raw_line(cursor, second, psp, "-5.00")
        _raw_line(cursor, second, client_wallet, "5.00")
    assert refreshed(client_wallet).balance == 0


# --- the database's rules agree with the code's tables ----------------------------------------------

def _owner_for(kind: str) -> Owner | None:
    return {"client": Owner.client(7), "trading_account": Owner.trading_account(7), "ib": Owner.ib(7),
            "provider": Owner.provider("p7"), "": None}[KIND_OWNER_TYPE[kind]]


def _raw_posting(key: str, lines: list[tuple[LedgerAccount, str]]):
    """Steps for run_refused: one entry and its lines, written by raw SQL."""

    def steps(cursor):
        entry_id = _raw_entry(cursor, key)
        for account, amount in lines:
            _raw_line(cursor, entry_id, account, amount)

    return steps


@pytest.mark.parametrize("kind", AccountKind.values)
def test_the_database_refuses_a_negative_available_balance_exactly_for_client_and_ib_kinds(in_alpha, kind):
    account = account_get_or_create(kind=kind, owner=_owner_for(kind), currency="USD")
    counter = house(AccountKind.SUSPENSE) if kind != AccountKind.SUSPENSE else house(AccountKind.BROKER_REVENUE)
    overdraft = _raw_posting(f"negative-{kind}", [(counter, "1.00"), (account, "-1.00")])
    if kind in NON_NEGATIVE_KINDS:
        refused = run_refused(overdraft, at_commit=True)
        assert refused_by(refused) == "ledger_client_available_not_negative"
        assert refreshed(account).balance == 0
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            overdraft(cursor)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        assert refreshed(account).balance == D("-1.00")


def test_the_deferred_available_check_names_the_same_kinds_as_the_code(in_alpha):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = 'alpha' AND t.tgname = 'ledger_client_available_not_negative'")
        definition = cursor.fetchone()[0]
    kinds = re.search(r"\^\(([a-z_|]+)\)\$", definition).group(1).split("|")
    assert set(kinds) == set(NON_NEGATIVE_KINDS)


def _guards_in(schema: str) -> tuple[set, set, set]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, t.tgdeferrable AND t.tginitdeferred FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND NOT t.tgisinternal AND c.relname LIKE 'ledger%%' AND t.tgenabled = 'O'", [schema])
        rows = cursor.fetchall()
        cursor.execute("SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                       "WHERE n.nspname = %s AND p.proname LIKE 'ledger%%'", [schema])
        functions = {r[0] for r in cursor.fetchall()}
    return {(r[0], r[1]) for r in rows}, {r[1] for r in rows if r[2]}, functions


@pytest.mark.parametrize("schema", ["alpha", "beta", "brokeros_template"])
def test_every_ledger_guard_is_in_place_and_enabled(db, tenants, schema):
    triggers, deferred, functions = _guards_in(schema)
    assert triggers == GUARD_TRIGGERS
    assert deferred == DEFERRED
    assert functions == GUARD_FUNCTIONS


@pytest.mark.parametrize("method", ["blueprint", "pool"])
def test_a_brokerage_just_built_by_the_fast_path_enforces_the_ledger_rules(db, tenants, method):
    if method == "pool":
        schemas.spare_create()  # built by blueprint replay, then renamed by the claim
    job = provision_brokerage(name="Fresh Ledger", slug="fresh-ledger", admin_email="a@fresh-ledger.test", method=method)
    assert job.status == "succeeded" and job.method == method, job.error
    assert _guards_in("fresh_ledger") == (GUARD_TRIGGERS, DEFERRED, GUARD_FUNCTIONS)
    with tenant_context(job.brokerage):
        client_wallet, psp = wallet(1), clearing()
        entry = deposit(client_wallet, D("10.00"))
        assert refreshed(client_wallet).balance == D("10.00")  # the balance trigger works under the new name
        refused = run_refused(f"DELETE FROM ledger_journalline WHERE entry_id = {entry.pk}")
        assert refused_by(refused) == "ledger_append_only" and "on fresh_ledger.ledger_journalline" in str(refused.value)
        refused = run_refused(_raw_posting("overdraft", [(psp, "10.01"), (client_wallet, "-10.01")]), at_commit=True)
        assert refused_by(refused) == "ledger_client_available_not_negative"
        refused = run_refused(_raw_posting("unbalanced", [(psp, "-1.00"), (client_wallet, "0.99")]), at_commit=True)
        assert refused_by(refused) == "ledger_entry_balanced"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'fresh_ledger'")
        assert cursor.fetchone() is not None


@pytest.mark.slow
def test_the_ledger_schema_is_identical_on_the_migrations_blueprint_and_pool_paths(committed_db):
    made: list[str] = []
    try:
        schemas.build_by_migrations("ldg_cmp_migrated")
        made.append("ldg_cmp_migrated")
        with transaction.atomic():
            schemas.build_by_blueprint("ldg_cmp_blueprint")
        made.append("ldg_cmp_blueprint")
        spare = schemas.spare_create()
        made.append(spare)
        with transaction.atomic():
            assert schemas.spare_claim("ldg_cmp_pool")
        made.append("ldg_cmp_pool")

        def ledger_part(schema: str) -> dict:
            """The signature's items that belong to the ledger (each item starts with its table or name)."""
            signature = schemas.schema_signature(schema)
            part = {field: {item for item in getattr(signature, field) if str(item[0]).startswith("ledger")}
                    for field in ("columns", "indexes", "constraints", "sequences", "triggers", "functions")}
            part["tables"] = {table for table in signature.tables if table.startswith("ledger")}
            part["migrations"] = {m for m in signature.migrations if m[0] == "ledger"}
            return part

        reference = ledger_part("ldg_cmp_migrated")
        assert len(reference["triggers"]) == len(GUARD_TRIGGERS) and len(reference["functions"]) == len(GUARD_FUNCTIONS)
        assert {c[1] for c in reference["constraints"]} >= {"ledger_line_account_currency", "ledger_hold_account_currency",
                                                            "ledger_account_scale", "ledger_line_amount_scale"}
        for other in ("ldg_cmp_blueprint", "ldg_cmp_pool"):
            assert ledger_part(other) == reference, other
    finally:
        from tenancy.models import Brokerage

        for schema in made:
            schemas.drop_schema(schema)
            Brokerage.objects.filter(schema_name=schema, kind="spare").delete()  # if the claim never happened


# --- the invariant check used after every test can fail ------------------------------------------------

CORRUPTIONS = {
    "entry does not balance in a currency": "UPDATE ledger_journalline SET amount = amount + 1 WHERE id = {line}",
    "entry has fewer than two lines": "INSERT INTO ledger_journalentry (idempotency_key, fingerprint, kind, description, "
                                      "object_type, object_id, metadata) VALUES ('lonely', repeat('0', 64), 'x', '', '', '', '{{}}')",
    "cached balance differs from the sum of the account's lines": "UPDATE ledger_ledgeraccount SET balance = balance + 1 WHERE id = {wallet}",
    "held amount differs from the account's active holds": "UPDATE ledger_ledgeraccount SET held = 0 WHERE id = {wallet}",
    "a line's running balance is not the sum of the lines before it": "UPDATE ledger_journalline SET balance_after = 7 WHERE id = {line}",
    "account's lines are not numbered 1..n (n = its line count)": "UPDATE ledger_journalline SET account_seq = 9 WHERE id = {line}",
    "line currency or precision differs from its account's": "UPDATE ledger_journalline SET decimal_places = 3 WHERE id = {line}",
    "client account's available balance is below zero": "UPDATE ledger_hold SET amount = 1000 WHERE id = {hold}; "
                                                        "UPDATE ledger_ledgeraccount SET held = 1000 WHERE id = {wallet}",
    "captured hold does not match its entry's debit of the account": "UPDATE ledger_hold SET captured_amount = 1 WHERE id = {captured}",
    "balances of a currency do not sum to zero (trial balance)": "UPDATE ledger_ledgeraccount SET balance = balance + 1 WHERE id = {psp}",
}


def test_every_integrity_rule_has_a_corruption_case():
    assert set(CORRUPTIONS) == set(INTEGRITY_CHECKS)


@pytest.mark.parametrize("rule", CORRUPTIONS)
def test_the_invariant_check_reports_books_corrupted_behind_the_triggers_back(books, rule):
    """A superuser can switch triggers off (session_replication_role = replica); the check still sees it."""
    assert ledger_integrity_problems() == []
    savepoint = transaction.savepoint()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(CORRUPTIONS[rule].format(**{name: getattr(obj, "pk", obj) for name, obj in books.items()}))
            cursor.execute("SET LOCAL session_replication_role = origin")
        problems = ledger_integrity_problems()
        assert any(problem.startswith(f"{rule}:") for problem in problems), problems
    finally:
        transaction.savepoint_rollback(savepoint)
    assert ledger_integrity_problems() == []


# --- the guards survive an export and restore, and migration 0002 reverses cleanly ---------------------

def test_a_restored_copy_of_a_brokerage_keeps_its_books_and_its_guards(in_scratch, tmp_path):
    from provisioning.transfer import brokerage_export, brokerage_restore

    client_wallet = wallet(5001)
    deposit(client_wallet, D("70.00"), key="restore-funding")
    hold_place(account=client_wallet, amount=D("20.00"), idempotency_key="restore-hold")
    accounts = list(LedgerAccount.objects.order_by("id").values_list("id", "balance", "held", "line_count"))
    archive = brokerage_export(slug=in_scratch.slug, out_path=tmp_path / "scratch.tar.gz").path
    connection.set_schema_to_public()
    copy = brokerage_restore(archive=archive, slug="ledger-restored")
    try:
        assert _guards_in("ledger_restored") == (GUARD_TRIGGERS, DEFERRED, GUARD_FUNCTIONS)
        with tenant_context(copy):
            assert list(LedgerAccount.objects.order_by("id").values_list("id", "balance", "held", "line_count")) == accounts
            assert ledger_integrity_problems() == []
            refused = run_refused(f"UPDATE ledger_ledgeraccount SET balance = 0 WHERE id = {client_wallet.pk}")
            assert refused_by(refused) == "ledger_balance_from_lines_only"
            restored_wallet = LedgerAccount.objects.get(pk=client_wallet.pk)
            with pytest.raises(IntegrityError) as refused:
                with transaction.atomic(), connection.cursor() as cursor:
                    _raw_posting("restored-overdraft", [(restored_wallet, "-50.01"), (clearing(), "50.01")])(cursor)
            assert refused_by(refused) == "ledger_client_available_not_negative"
    finally:
        from tenancy.models import Brokerage, Domain

        connection.set_schema_to_public()
        schemas.drop_schema("ledger_restored")
        Domain.objects.filter(tenant__slug="ledger-restored").delete()
        Brokerage.objects.filter(slug="ledger-restored").delete()


def test_the_guard_migration_reverses_and_reapplies(in_scratch):
    from django.core.management import call_command

    schema = in_scratch.schema_name
    connection.set_schema_to_public()
    call_command("migrate_schemas", "ledger", "0001", schema_name=schema, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    assert _guards_in(schema) == (set(), set(), set())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                       "WHERE n.nspname = %s AND c.conname IN ('ledger_line_account_currency', "
                       "'ledger_hold_account_currency')", [schema])
        assert cursor.fetchone()[0] == 0
    call_command("migrate_schemas", "ledger", schema_name=schema, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    assert _guards_in(schema) == (GUARD_TRIGGERS, DEFERRED, GUARD_FUNCTIONS)
