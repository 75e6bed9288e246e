"""`verify_audit_chain`: OK with the count on an intact chain; on a tampered copy, the exact broken link.

Tampering needs the trigger out of the way: the test disables it (the test's database user owns the table, as
an intruder with the application's login would) inside the test's transaction, which is rolled back.
"""
from __future__ import annotations

import re

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import tenant_context

from tenant_apps.audit.chain import entry_hash
from tenant_apps.audit.models import AuditEntry
from tenant_apps.audit.services import audit_record
from tests.audit.conftest import TABLE, head_seq


def verify(*args: str) -> tuple[str, CommandError | None]:
    """Run the command; returns (stdout, the CommandError it ended with or None)."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_audit_chain", *args, "--no-progress", stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    finally:
        connection.set_schema_to_public()
    return out.getvalue(), None


def _count(schema: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{schema}".{TABLE}')
        return cursor.fetchone()[0]


def _three_entries(alpha) -> list[AuditEntry]:
    with tenant_context(alpha):
        return [audit_record(action="test.verify", object_type="test.thing", object_id=str(i), reason=f"entry {i}")
                for i in range(3)]


def _tamper(sql: str, *params) -> None:
    """Run one statement on alpha's audit table with its guard off (until the test's rollback)."""
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "alpha".{TABLE} DISABLE TRIGGER USER')
        cursor.execute(sql, params)
        cursor.execute(f'ALTER TABLE "alpha".{TABLE} ENABLE TRIGGER USER')


def test_an_intact_chain_is_reported_ok_with_its_number_of_entries(db, tenants):
    _three_entries(tenants["alpha"])
    out, error = verify("--schema", "alpha")
    assert error is None, out
    assert out.strip() == f"alpha: OK, {_count('alpha')} entries"


def test_all_brokerages_are_checked_with_all(db, tenants):
    _three_entries(tenants["alpha"])
    out, error = verify("--all")
    assert error is None, out
    assert f"alpha: OK, {_count('alpha')} entries" in out and f"beta: OK, {_count('beta')} entries" in out


def test_an_entry_edited_in_place_is_reported_at_its_seq_with_expected_and_stored_hash(db, tenants):
    alpha = tenants["alpha"]
    _, middle, _ = _three_entries(alpha)
    _tamper(f'UPDATE "alpha".{TABLE} SET reason = %s WHERE seq = %s', "nothing to see", middle.seq)
    with tenant_context(alpha):
        expected = entry_hash(AuditEntry.objects.get(seq=middle.seq), prev_hash=middle.prev_hash)

    out, error = verify("--schema", "alpha")
    assert error is not None and error.returncode == 1 and "alpha" in str(error)
    assert (f"alpha: BROKEN at seq {middle.seq}: hash does not match — expected {expected}, stored {middle.hash}"
            in out), out
    assert f"({middle.seq - 1} entries before it verified)" in out


def test_an_entry_edited_and_rehashed_breaks_the_link_from_the_next_one(db, tenants):
    alpha = tenants["alpha"]
    _, middle, last = _three_entries(alpha)
    with tenant_context(alpha):
        forged = AuditEntry.objects.get(seq=middle.seq)
        forged.reason = "nothing to see"
        forged_hash = entry_hash(forged, prev_hash=forged.prev_hash)
    _tamper(f'UPDATE "alpha".{TABLE} SET reason = %s, hash = %s WHERE seq = %s', "nothing to see", forged_hash,
            middle.seq)

    out, error = verify("--schema", "alpha")
    assert error is not None
    assert f"BROKEN at seq {last.seq}: prev_hash (link to the entry before) does not match — expected {forged_hash}, " \
           f"stored {middle.hash}" in out, out


def test_a_deleted_entry_shows_as_a_gap_at_the_next_seq(db, tenants):
    _, middle, last = _three_entries(tenants["alpha"])
    _tamper(f'DELETE FROM "alpha".{TABLE} WHERE seq = %s', middle.seq)
    out, error = verify("--schema", "alpha")
    assert error is not None
    assert f"BROKEN at seq {last.seq}: expected seq {middle.seq} here (entries are missing)" in out, out


def test_a_tampered_brokerage_fails_the_all_run_while_the_others_still_report_ok(db, tenants):
    _, middle, _ = _three_entries(tenants["alpha"])
    _tamper(f'UPDATE "alpha".{TABLE} SET changes = %s::jsonb WHERE seq = %s', '{"amount": ["1", "1000000"]}',
            middle.seq)
    out, error = verify("--all")
    assert error is not None and str(error) == "Audit chain broken in: alpha."
    assert re.search(rf"^alpha: BROKEN at seq {middle.seq}: hash", out, re.M)
    assert re.search(r"^beta: OK, \d+ entries$", out, re.M)


def test_the_command_line_exits_non_zero_on_a_broken_chain(db, tenants, capsys):
    _, middle, _ = _three_entries(tenants["alpha"])
    _tamper(f'UPDATE "alpha".{TABLE} SET actor_label = %s WHERE seq = %s', "someone else", middle.seq)
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "verify_audit_chain", "--schema", "alpha", "--no-progress"])
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert f"BROKEN at seq {middle.seq}" in captured.out and "Audit chain broken in: alpha." in captured.err


def test_an_unknown_brokerage_is_a_clear_error(db, tenants):
    out, error = verify("--schema", "no-such-broker")
    assert error is not None and "No brokerage with the slug or schema 'no-such-broker'" in str(error)


def test_a_long_chain_is_read_in_chunks_not_all_at_once(db, tenants, monkeypatch):
    """With chunks of 100, every read of the audit table fetches at most 100 entries, and all are checked."""
    from django.test.utils import CaptureQueriesContext

    from tenant_apps.audit.management.commands import verify_audit_chain

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        for i in range(max(0, 250 - head_seq())):
            audit_record(action="test.bulk", object_type="test.thing", object_id=str(i))
        head = head_seq()
    monkeypatch.setattr(verify_audit_chain, "CHUNK", 100)
    with CaptureQueriesContext(connection) as queries:
        out, error = verify("--schema", "alpha")
    assert error is None and out.strip() == f"alpha: OK, {head} entries", out
    reads = [q["sql"] for q in queries.captured_queries if f"FROM \"{TABLE}\"" in q["sql"] and "LIMIT" in q["sql"]]
    entry_reads = [sql for sql in reads if "LIMIT 100" in sql]
    assert len(entry_reads) == -(-head // 100), reads  # ceil(head / 100) chunks, none unbounded
    assert all(re.search(r"LIMIT (1|100)$", sql) for sql in reads), reads
