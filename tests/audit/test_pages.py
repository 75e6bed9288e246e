"""Back-office audit pages: who may see and export, what the timeline shows, exports for a regulator, and
that no input makes them fail."""
from __future__ import annotations

import csv
import hashlib
import io
import json
from urllib.parse import urlencode

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.audit.chain import HASHED_FIELDS
from tenant_apps.audit.models import AuditEntry
from tenant_apps.audit.selectors import audit_for_user
from tenant_apps.audit.services import audit_record
from tenant_apps.identity.models import User, UserKind
from tests.audit.conftest import ADMIN, staff
from tests.conftest import PASSWORD, mfa_enrol
from themes.models import Theme
from themes.services import theme_update

LOGIN = "login"
# Who reaches the audit pages: the "audit" row of the permission matrix (view and export alike).
OUTCOMES = {
    "anonymous": LOGIN, "client": 403, "sales": 403, "support": 403, "finance": 403,
    "compliance": 200, "manager": 200, "super_admin": 200,
}
PAGES = ["/backoffice/audit/", "/backoffice/audit/themes.theme/{theme}/", "/backoffice/audit/export/user/{admin}.csv",
         "/backoffice/audit/export/user/{admin}.json"]


@pytest.fixture
def visitor(db, tenants, tenant_client):
    """visitor(role) → a client on Alpha's host, signed in as a user holding just that role (or anonymous)."""
    alpha = tenants["alpha"]

    def make(role: str):
        if role == "anonymous":
            return tenant_client(alpha)
        with tenant_context(alpha):
            if role == "client":
                email = "trader.audit@alpha.test"
                User.objects.create_user(email=email, password=PASSWORD, kind=UserKind.CLIENT)
            elif role == "super_admin":
                email = ADMIN
            else:
                email = staff(role).email
        if role != "client":
            mfa_enrol(alpha, email)  # staff with audit rights must use two-factor sign-in first
        return tenant_client(alpha, email)

    return make


@pytest.fixture
def ids(db, tenants):
    with tenant_context(tenants["alpha"]):
        return {"theme": Theme.objects.get().pk, "admin": User.objects.get(email=ADMIN).pk}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", OUTCOMES)
def test_only_compliance_managers_and_super_admins_reach_the_audit_pages(visitor, ids, role, page):
    path = page.format(**ids)
    response = visitor(role).get(path)
    expected = OUTCOMES[role]
    if expected == LOGIN:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    else:
        assert response.status_code == expected, (role, path)
    if expected != 200:  # nothing of the trail leaks with a refusal
        assert b'data-testid="audit-entries"' not in response.content and b"prev_hash" not in response.content


def _page_rows(response) -> list[str]:
    """The data-action of each entry row on a page, in order."""
    import re

    return re.findall(r'<tr data-seq="\d+" data-action="([^"]+)"', response.content.decode())


def test_a_manager_sees_the_latest_entries_with_who_what_and_old_to_new(visitor, tenants):
    alpha = tenants["alpha"]
    with tenant_context(alpha):
        admin = User.objects.get(email=ADMIN)
        old = Theme.objects.get().support_phone
        theme_update(actor=admin, support_phone="+357 25 123456")
    manager = visitor("manager")
    response = manager.get("/backoffice/audit/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "theme.updated" in _page_rows(response)
    assert "support_phone" in body and "+357 25 123456" in body and (old or "—") in body
    assert ADMIN in body and "super_admin" in body
    assert 'href="/backoffice/audit/"' in body  # the nav link, shown because the manager may view


def test_filters_narrow_the_list_and_older_entries_are_one_link_away(visitor, tenants):
    with tenant_context(tenants["alpha"]):
        admin = User.objects.get(email=ADMIN)
        for i in range(55):
            audit_record(action=f"test.step_{i % 2}", object_type="test.paged", object_id=str(i),
                         actor=admin if i % 5 == 0 else None)
    manager = visitor("manager")

    first = manager.get("/backoffice/audit/?" + urlencode({"object_type": "test.paged"}))
    rows = _page_rows(first)
    assert len(rows) == 50 and set(rows) == {"test.step_0", "test.step_1"}
    older = first.content.decode().split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "object_type=test.paged" in older
    second = manager.get("/backoffice/audit/" + older)
    assert len(_page_rows(second)) == 5 and 'rel="next"' not in second.content.decode()

    by_action = manager.get("/backoffice/audit/?" + urlencode({"object_type": "test.paged", "action": "test.step_1"}))
    assert set(_page_rows(by_action)) == {"test.step_1"} and len(_page_rows(by_action)) == 27
    for actor in ("ADMIN@alpha", str(admin.pk)):  # part of the e-mail, any case; or the user id
        by_actor = manager.get("/backoffice/audit/?" + urlencode({"object_type": "test.paged", "actor": actor}))
        assert len(_page_rows(by_actor)) == 11, actor
    nothing = manager.get("/backoffice/audit/?" + urlencode({"object_type": "test.none"}))
    assert _page_rows(nothing) == [] and "No audit entries" in nothing.content.decode()


def test_an_objects_timeline_shows_only_that_objects_entries(visitor, tenants, ids):
    with tenant_context(tenants["alpha"]):
        audit_record(action="test.other", object_type="test.thing", object_id=str(ids["theme"]))
        audit_record(action="theme.noted", object_type="themes.theme", object_id=str(ids["theme"]), reason="Checked")
    response = visitor("compliance").get(f"/backoffice/audit/themes.theme/{ids['theme']}/")
    assert response.status_code == 200
    rows = _page_rows(response)
    assert rows[0] == "theme.noted" and "test.other" not in rows
    assert set(rows) <= {"theme.noted", "theme.preset_applied", "theme.updated", "theme.image_uploaded",
                         "theme.image_removed"}


def _history(tenants, *, exporter_role: str, visitor):
    """A user with a history (created by the admin, acted, was changed) plus unrelated entries around it."""
    from tenant_apps.identity.services import staff_user_create

    with tenant_context(tenants["alpha"]):
        admin = User.objects.get(email=ADMIN)
        person, _ = staff_user_create(email="person.audit@alpha.test", role_codes=["super_admin"], actor=admin)
        theme_update(actor=person, legal_footer="Footer by the person, with a comma, and \"quotes\"")
        staff_user_create(email=person.email, role_codes=["finance"], actor=admin)
        audit_record(action="test.unrelated", object_type="test.thing", object_id="x", actor=admin)
        audit_record(action="kyc.noted", object_type="test.kyccase", object_id="77", actor=admin, subject=person,
                     reason="=HYPERLINK(\"http://evil\")")
        expected = list(audit_for_user(person.pk).values_list("seq", flat=True))
    return person, expected, visitor(exporter_role)


def test_the_csv_export_holds_exactly_the_persons_history_in_order(visitor, tenants):
    person, expected, client = _history(tenants, exporter_role="compliance", visitor=visitor)
    response = client.get(f"/backoffice/audit/export/user/{person.pk}.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="audit-alpha-user-{person.pk}.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    # Its own export is on the record too, and part of the history handed over.
    assert [int(r["seq"]) for r in rows[:-1]] == expected and rows[-1]["action"] == "audit.exported"
    assert [r["action"] for r in rows] == ["staff.created", "theme.updated", "staff.roles_changed", "kyc.noted",
                                           "audit.exported"]
    assert rows[1]["actor_label"] == person.email and "Footer by the person" in rows[1]["changes"]
    assert rows[3]["reason"].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
    assert rows[-1]["actor_label"] == "compliance.audit@alpha.test"


def test_the_json_export_lets_a_regulator_recompute_every_hash(visitor, tenants):
    person, expected, client = _history(tenants, exporter_role="manager", visitor=visitor)
    response = client.get(f"/backoffice/audit/export/user/{person.pk}.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    document = json.loads(b"".join(response.streaming_content))
    assert (document["brokerage"], document["user_id"], document["user_email"]) == ("alpha", person.pk, person.email)
    entries = document["entries"]
    assert [e["seq"] for e in entries[:-1]] == expected and entries[-1]["action"] == "audit.exported"
    assert entries[3]["reason"] == "=HYPERLINK(\"http://evil\")"  # exact values here
    for e in entries:  # the recipe from the export alone: no database, no BrokerOS code
        payload = json.dumps({k: e[k] for k in HASHED_FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256((e["prev_hash"] + payload).encode()).hexdigest() == e["hash"], e["seq"]
    with tenant_context(tenants["alpha"]):
        assert {e["seq"]: e["hash"] for e in entries} == dict(
            AuditEntry.objects.filter(seq__in=[e["seq"] for e in entries]).values_list("seq", "hash"))


def test_the_history_of_a_deleted_user_can_still_be_exported_but_an_unknown_id_is_not_found(visitor, tenants):
    with tenant_context(tenants["alpha"]):
        audit_record(action="test.gone", object_type="identity.user", object_id="987654")
    manager = visitor("manager")
    response = manager.get("/backoffice/audit/export/user/987654.json")
    assert response.status_code == 200
    assert [e["action"] for e in json.loads(b"".join(response.streaming_content))["entries"]] == [
        "test.gone", "audit.exported"]
    assert manager.get("/backoffice/audit/export/user/987655.csv").status_code == 404


# Anything a visitor can put in the address: never a 500. 400 = field errors shown, 404 = no such page.
BAD_INPUT = [
    ("/backoffice/audit/?object_type=../../etc/passwd", 400, "Use the form app.model"),
    ("/backoffice/audit/?object_type=" + "a" * 300, 400, "at most 64 characters"),
    ("/backoffice/audit/?object_type=%00", 400, "Null characters are not allowed"),
    ("/backoffice/audit/?action=%27%3B+DROP+TABLE+audit_auditentry%3B--", 400, "Lower-case letters"),
    ("/backoffice/audit/?actor=%00admin", 400, "Null characters are not allowed"),
    ("/backoffice/audit/?actor=" + "9" * 40, 400, "No user has an id that large"),
    ("/backoffice/audit/?actor=" + "x" * 300, 400, "at most 254 characters"),
    ("/backoffice/audit/?actor=%F0%9F%98%80%E2%80%AE", 200, ""),
    ("/backoffice/audit/?actor=%C2%B2", 200, ""),  # "²": a digit to str.isdigit, not to int()
    ("/backoffice/audit/?before=%C2%B2", 400, "Enter a whole number"),
    ("/backoffice/audit/?before=abc", 400, "Enter a whole number"),
    ("/backoffice/audit/?before=-5", 400, "greater than or equal to 1"),
    ("/backoffice/audit/?before=" + "9" * 30, 400, "less than or equal to"),
    ("/backoffice/audit/?before=1&before=2&object_type=a&object_type=b", 200, ""),
    ("/backoffice/audit/identity.user/%00/", 404, ""),
    ("/backoffice/audit/identity.user/" + "1" * 80 + "/", 404, ""),
    ("/backoffice/audit/NOT-A-TYPE/1/", 404, ""),
    ("/backoffice/audit/identity.user/1/?before=%00", 200, ""),
    ("/backoffice/audit/identity.user/%C2%B2/", 200, ""),
    ("/backoffice/audit/identity.user/1/?before=%C2%B2", 200, ""),
    ("/backoffice/audit/identity.user/1/?before=" + "9" * 40, 200, ""),
    ("/backoffice/audit/export/user/" + "9" * 30 + ".csv", 404, ""),
    ("/backoffice/audit/export/user/-1.csv", 404, ""),
    ("/backoffice/audit/export/user/1.xml", 404, ""),
]


@pytest.mark.parametrize(("path", "status", "message"), BAD_INPUT, ids=[p for p, _, _ in BAD_INPUT])
def test_bad_input_gets_a_field_error_or_not_found_never_a_server_error(visitor, path, status, message):
    response = visitor("manager").get(path)
    assert response.status_code == status, response.content.decode()[:500]
    if message:
        assert message in response.content.decode()
