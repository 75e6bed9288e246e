"""Notes and the call/e-mail log on a client (issue 8, item 3): added from Client 360 with clients:edit, shown in
its own block to every reader of the client, audited; bad input is a 400 that changes nothing."""
import pytest
from django_tenants.utils import tenant_context

from tests.conftest import mfa_enrol
from tests.crm.conftest import client_user, staff


@pytest.fixture
def noted(sales_desk):
    with tenant_context(sales_desk.brokerage):
        mine = client_user("n.mine@example.test", owner=sales_desk.latam_sales, team=sales_desk.latam, name="Nora Mine")
        theirs = client_user("n.theirs@example.test", owner=sales_desk.duty_sales, team=sales_desk.duty)
        staff("sue.support@alpha.test", None, roles=("support",))
    mfa_enrol(sales_desk.brokerage, "sue.support@alpha.test")
    return {"mine": mine, "theirs": theirs}


def test_sales_logs_a_call_and_a_note_which_every_reader_sees_newest_first(sales_desk, noted, http):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.crm.models import ClientNote

    sales = http(sales_desk.brokerage, "lara.latam@alpha.test")
    url = f"/backoffice/clients/{noted['mine'].pk}/notes/"
    assert sales.post(url, {"kind": "call", "body": "Asked about spreads on gold", "outcome": "reached"}).status_code == 302
    assert sales.post(url, {"kind": "note", "body": "Prefers WhatsApp", "outcome": "ignored for notes"}).status_code == 302
    support_page = http(sales_desk.brokerage, "sue.support@alpha.test").get(
        f"/backoffice/clients/{noted['mine'].pk}/").content.decode()
    block = support_page.split('data-block="notes"', 1)[1].split("data-block=", 1)[0]
    assert block.index("Prefers WhatsApp") < block.index("Asked about spreads on gold")
    assert "reached" in block and "lara.latam@alpha.test" in block
    assert "Log a note" not in block  # support reads, may not write (no clients:edit)
    with tenant_context(sales_desk.brokerage):
        assert list(ClientNote.objects.order_by("id").values_list("kind", "outcome")) == [("call", "reached"), ("note", "")]
        assert AuditEntry.objects.filter(action="crm.note_added", subject_id=noted["mine"].pk).count() == 2


@pytest.mark.parametrize("data, message", [
    ({"kind": "fax", "body": "hello"}, "Select a valid choice"),
    ({"kind": "note", "body": ""}, "This field is required"),
    ({"kind": "call", "body": "x", "outcome": "y" * 101}, "at most 100 characters"),
])
def test_a_bad_note_is_a_400_and_changes_nothing(sales_desk, noted, http, data, message):
    from tenant_apps.crm.models import ClientNote

    response = http(sales_desk.brokerage, "lara.latam@alpha.test").post(
        f"/backoffice/clients/{noted['mine'].pk}/notes/", data)
    assert response.status_code == 400 and message in response.content.decode()
    with tenant_context(sales_desk.brokerage):
        assert not ClientNote.objects.exists()


def test_notes_need_clients_edit_and_the_client_in_scope(sales_desk, noted, http):
    from tenant_apps.crm.models import ClientNote

    sales = http(sales_desk.brokerage, "lara.latam@alpha.test")
    assert sales.post(f"/backoffice/clients/{noted['theirs'].pk}/notes/", {"kind": "note", "body": "x"}).status_code == 404
    support = http(sales_desk.brokerage, "sue.support@alpha.test")
    assert support.post(f"/backoffice/clients/{noted['mine'].pk}/notes/", {"kind": "note", "body": "x"}).status_code == 403
    with tenant_context(sales_desk.brokerage):
        assert not ClientNote.objects.exists()
