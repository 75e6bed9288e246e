"""Recording entries: the hash chain, what an entry says about its actor, and JSON-safe old → new values."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import RequestFactory
from django_tenants.utils import tenant_context

from tenancy.context import NoTenantError
from tenant_apps.audit.chain import GENESIS, HASHED_FIELDS, canonical_payload, entry_hash
from tenant_apps.audit.models import AppendOnlyError, AuditEntry
from tenant_apps.audit.services import audit_record, audit_request_origin, audit_snapshot, diff_fields
from tests.audit.conftest import ADMIN, head_seq, staff


def _independent_hash(row: dict, prev_hash: str) -> str:
    """The documented recipe, written out again without the app's helpers."""
    payload = {k: row[k] for k in HASHED_FIELDS}
    payload["at"] = row["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + text).encode()).hexdigest()


def test_each_new_entry_links_to_the_one_before_and_its_hash_covers_prev_hash_and_every_field(in_alpha):
    start = head_seq()
    made = [
        audit_record(action="test.first", object_type="test.thing", object_id=1, changes={"a": [None, "1"]}),
        audit_record(action="test.second", object_type="test.thing", object_id=1, reason="Because.\nTwo lines, ünïcode"),
        audit_record(action="test.third", object_type="test.thing", object_id="x-2", changes={"n": [1, 2]}),
    ]
    rows = list(AuditEntry.objects.filter(seq__gt=start).order_by("seq").values())
    assert [r["seq"] for r in rows] == [start + 1, start + 2, start + 3] == [e.seq for e in made]
    before = AuditEntry.objects.filter(seq=start).values_list("hash", flat=True).first() or GENESIS
    for row in rows:
        assert row["prev_hash"] == before
        assert row["hash"] == _independent_hash(row, before)  # read back from the database, not the object
        before = row["hash"]
    assert rows[0]["at"] <= rows[1]["at"] <= rows[2]["at"]


@pytest.mark.parametrize("field", HASHED_FIELDS)
def test_changing_any_hashed_field_changes_the_hash(in_alpha, field):
    entry = audit_record(action="test.hashed", object_type="test.thing", object_id=7, changes={"k": ["a", "b"]},
                         actor=staff("manager"), reason="r")
    replacement = {"seq": entry.seq + 1, "at": entry.at + timedelta(microseconds=1), "actor_type": "worker",
                   "actor_id": 999, "actor_label": "someone else", "actor_roles": ["super_admin"], "ip": "10.9.9.9",
                   "user_agent": "curl", "object_type": "test.other", "object_id": "8", "subject_id": 12345,
                   "action": "test.hidden", "changes": {"k": ["a", "c"]}, "reason": "r2"}[field]
    tampered = AuditEntry(**{f: getattr(entry, f) for f in HASHED_FIELDS})
    setattr(tampered, field, replacement)
    assert entry_hash(tampered, prev_hash=entry.prev_hash) != entry.hash
    assert entry_hash(entry, prev_hash="f" * 64) != entry.hash  # and the link to the entry before


def test_a_new_brokerage_chain_starts_at_genesis_with_its_provisioning_recorded_as_the_platform(in_alpha):
    theme, created = AuditEntry.objects.order_by("seq")[:2]
    assert (theme.seq, theme.prev_hash, created.seq, created.prev_hash) == (1, GENESIS, 2, theme.hash)
    assert (theme.action, theme.actor_label) == ("theme.preset_applied", "system:platform")
    assert theme.changes["preset"] == [None, "midnight"] and theme.changes["portal_name"] == [None, "Alpha Trading"]
    assert (created.action, created.actor_type, created.actor_label) == ("staff.created", "system", "system:platform")
    assert created.actor_id is None and created.ip == ""
    assert created.changes["email"] == [None, ADMIN] and created.changes["roles"] == [[], ["super_admin"]]


def test_a_human_actor_is_recorded_with_roles_ip_and_user_agent_and_a_system_actor_with_neither(in_alpha):
    from tenant_apps.identity.models import Role

    manager = staff("manager")
    manager.roles.add(Role.objects.get(code="compliance"))
    request = RequestFactory().get("/", REMOTE_ADDR="2001:DB8::0001", HTTP_USER_AGENT="Mozilla/5.0 (Test)")
    request.user = manager

    by_request = audit_record(action="test.human", object_type="test.thing", object_id=1, request=request)
    with audit_request_origin(request):  # what the middleware does for every request
        by_origin = audit_record(action="test.human", object_type="test.thing", object_id=1, actor=manager)
        by_system = audit_record(action="test.job", object_type="test.thing", object_id=1, actor="kyc-expiry",
                                 actor_type="worker")

    for entry in (by_request, by_origin):
        entry = AuditEntry.objects.get(seq=entry.seq)
        assert (entry.actor_type, entry.actor_id, entry.actor_label) == ("user", manager.pk, manager.email)
        assert entry.actor_roles == ["compliance", "manager"]
        assert (entry.ip, entry.user_agent) == ("2001:db8::1", "Mozilla/5.0 (Test)")
    system = AuditEntry.objects.get(seq=by_system.seq)
    assert (system.actor_type, system.actor_id, system.actor_label) == ("worker", None, "worker:kyc-expiry")
    assert (system.ip, system.user_agent, system.actor_roles) == ("", "", [])


def test_a_platform_operator_acting_inside_a_brokerage_is_never_recorded_under_a_local_user_id(in_alpha):
    from tenant_apps.identity.models import User, UserKind

    operator = User(pk=staff("sales").pk, email="ops@platform.test", kind=UserKind.OPERATOR)  # same id as a local user
    entry = audit_record(action="test.operator", object_type="test.thing", object_id=1, actor=operator)
    assert (entry.actor_type, entry.actor_id, entry.actor_label) == ("system", None, "system:operator:ops@platform.test")


def test_recording_outside_a_brokerage_fails_loudly(db, tenants):
    connection.set_schema_to_public()
    with pytest.raises(NoTenantError):
        audit_record(action="test.nowhere", object_type="test.thing", object_id=1)


@pytest.mark.parametrize("bad", [
    {"action": "Theme Updated"}, {"action": "updated"}, {"action": "x." + "y" * 70},
    {"object_type": ""}, {"object_type": "t" * 65}, {"object_id": "9" * 65}, {"actor_type": "robot"},
    {"subject": "someone"}, {"subject": "²"}, {"subject": 10**20},
])
def test_malformed_entries_are_refused_before_anything_is_written(in_alpha, bad):
    start = head_seq()
    kwargs = {"action": "test.ok", "object_type": "test.thing", "object_id": 1, **bad}
    with pytest.raises(ValueError):
        audit_record(**kwargs)
    assert head_seq() == start


def test_an_entry_cannot_be_saved_again_or_deleted_through_the_orm(in_alpha):
    entry = audit_record(action="test.orm", object_type="test.thing", object_id=1)
    entry.reason = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert AuditEntry.objects.get(seq=entry.seq).reason == ""


def test_diff_fields_gives_json_safe_old_and_new_values_of_changed_fields_only(in_alpha):
    @dataclasses.dataclass
    class Thing:
        amount: Decimal
        when: datetime
        day: date
        ratio: float
        name: str
        tags: set

    before = Thing(Decimal("10.50"), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), date(2026, 1, 2), 0.1, "same", {"b", "a"})
    after = dataclasses.replace(before, amount=Decimal("11.00"), when=datetime(2026, 1, 3, tzinfo=UTC), ratio=0.25,
                                tags={"a", "c"})
    changes = diff_fields(before, after, ["amount", "when", "day", "ratio", "name", "tags"])
    assert changes == {
        "amount": ["10.50", "11.00"],
        "when": ["2026-01-02T03:04:05+00:00", "2026-01-03T00:00:00+00:00"],
        "ratio": ["0.1", "0.25"],
        "tags": [["a", "b"], ["a", "c"]],
    }
    assert diff_fields(None, {"amount": Decimal("5")}, ["amount"]) == {"amount": [None, "5"]}  # a creation
    snapshot = audit_snapshot(before, ["amount", "when"])
    assert diff_fields(snapshot, after, ["amount", "when"]) == {k: changes[k] for k in ("amount", "when")}
    # What was stored is exactly what the hash was computed over (no float or Decimal to drift).
    entry = audit_record(action="test.diff", object_type="test.thing", object_id=1, changes=changes)
    stored = AuditEntry.objects.get(seq=entry.seq)
    assert stored.changes == changes and canonical_payload(stored) == canonical_payload(entry)


def test_a_float_cannot_reach_the_hashed_payload(in_alpha):
    entry = AuditEntry(seq=1, at=datetime.now(UTC), actor_type="system", actor_label="system:x", object_type="t.t",
                       action="t.t", changes={"ratio": [0.1, 0.2]})
    with pytest.raises(ValueError, match="float"):
        canonical_payload(entry)


def test_entries_of_one_brokerage_never_appear_in_another(tenants, db):
    with tenant_context(tenants["alpha"]):
        marker = audit_record(action="test.isolated", object_type="test.thing", object_id="only-alpha")
    with tenant_context(tenants["beta"]):
        assert not AuditEntry.objects.filter(object_id="only-alpha").exists()
        assert not AuditEntry.objects.filter(hash=marker.hash).exists()


def test_a_subject_given_as_text_is_stored_as_the_number_the_hash_was_computed_over(in_alpha):
    entry = audit_record(action="test.subject", object_type="test.kyccase", object_id="3", subject="42")
    stored = AuditEntry.objects.get(seq=entry.seq)
    assert stored.subject_id == 42 and entry_hash(stored, prev_hash=stored.prev_hash) == entry.hash
