"""Lead intake (issue 8, item 3): CSV import with preview → confirm, per-row errors with row numbers, duplicates on
normalised e-mail and phone against existing clients (merged or skipped) and within the file (skipped), routing of
imported leads, large files as a job with progress; the lead API with 201 / 400 / 409."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from tests.crm.conftest import client_user

CSV = """email,phone,name,country,language,source,campaign
 Maria.Lopez@Example.test ,+52 55 1234 5678,Maria Lopez,MX,es,google,black-friday
carlos@example.test,,Carlos Ruiz,CO,es,facebook,
MARIA.LOPEZ@example.test,,Maria again,MX,,,
other@example.test,+525512345678,Phone twin,MX,,,
not-an-email,,Broken,MX,,,
bad.phone@example.test,12,Bad Phone,MX,,,
existing@example.test,,Existing Filled,MX,,,
someone@example.test,+35799000111,Phone of a client,CY,,,
nowhere@example.test,,Nowhere,ZZ,xx,,
"""


@pytest.fixture
def existing(sales_desk):
    with tenant_context(sales_desk.brokerage):
        by_email = client_user("existing@example.test", owner=sales_desk.duty_sales, team=sales_desk.duty,
                               country="CY", name="")
        by_phone = client_user("phone.owner@example.test", phone="+35799000111", country="CY", name="Pat Phone")
    return {"email": by_email, "phone": by_phone}


def _upload(admin, text, name="leads.csv"):
    return admin.post("/backoffice/clients/leads/import/", {"file": SimpleUploadedFile(name, text.encode())})


def test_preview_reports_each_row_and_imports_nothing_until_confirmed(sales_desk, existing, http):
    from tenant_apps.crm.models import ClientRecord, LeadImport

    admin = http(sales_desk.brokerage, "admin@alpha.test")
    response = _upload(admin, CSV)
    assert response.status_code == 302
    with tenant_context(sales_desk.brokerage):
        imp = LeadImport.objects.get()
        verdicts = {r["row"]: (r["verdict"], r.get("message", "")) for r in imp.rows}
        assert ClientRecord.objects.filter(lead_source="import").count() == 0
    assert {n: v for n, (v, _m) in verdicts.items()} == {
        2: "new", 3: "new", 4: "duplicate", 5: "duplicate", 6: "error", 7: "error", 8: "merge", 9: "merge", 10: "error"}
    assert verdicts[4][1] == "Duplicate of row 2 in this file."      # same e-mail, other case and spaces
    assert verdicts[5][1] == "Duplicate of row 2 in this file."      # same phone, other formatting
    assert "email: Enter a valid e-mail address." in verdicts[6][1]
    assert verdicts[7][1].startswith("phone:")
    assert "country: Unknown country code ZZ" in verdicts[10][1] and "language: Unsupported language xx" in verdicts[10][1]
    page = admin.get(response["Location"]).content.decode()
    assert "9 rows: 2 new leads, 2 already clients (merge), 2 duplicates (skipped), 3 with errors." in page
    assert 'data-row="6"' in page and 'data-row="10"' in page and "Import 2 new leads" in page


def test_confirm_creates_routed_leads_merges_blanks_and_skips_the_rest(sales_desk, existing, http):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.crm.models import ClientRecord, LeadImport
    from tenant_apps.identity.models import User

    admin = http(sales_desk.brokerage, "admin@alpha.test")
    preview = _upload(admin, CSV)["Location"]
    import_id = int(preview.rstrip("/").split("/")[-1])
    done = admin.post(f"/backoffice/clients/leads/import/{import_id}/confirm/")
    assert done.status_code == 302
    page = admin.get(preview).content.decode()
    assert "Done: 2 leads created, 1 merged into existing clients, 3 skipped, 3 rows with errors." in page
    with tenant_context(sales_desk.brokerage):
        imp = LeadImport.objects.get(pk=import_id)
        assert (imp.status, imp.created_count, imp.merged_count, imp.skipped_count, imp.processed_rows) == (
            "done", 2, 1, 3, 9)
        maria = ClientRecord.objects.select_related("user", "team", "owner").get(user__email="maria.lopez@example.test")
        assert (maria.stage, maria.lead_source, maria.phone, maria.utm_source, maria.utm_campaign) == (
            "lead", "import", "+525512345678", "google", "black-friday")
        assert maria.user.full_name == "Maria Lopez" and not maria.user.has_usable_password()
        assert maria.team == sales_desk.latam and maria.owner == sales_desk.latam_sales  # routed: MX → LATAM
        carlos = ClientRecord.objects.select_related("team").get(user__email="carlos@example.test")
        assert carlos.team == sales_desk.latam and carlos.utm_source == "facebook"
        # e-mail match: the blank name is filled in; owner, team, country and stage are untouched
        merged = ClientRecord.objects.select_related("user").get(user=existing["email"])
        assert merged.user.full_name == "Existing Filled"
        assert (merged.owner_id, merged.team_id, merged.country, merged.stage) == (
            sales_desk.duty_sales.pk, sales_desk.duty.pk, "CY", "registered")
        # phone match with nothing blank to fill: skipped, unchanged
        assert User.objects.get(pk=existing["phone"].pk).full_name == "Pat Phone"
        assert not User.objects.filter(email__in=["someone@example.test", "other@example.test"]).exists()
        assert AuditEntry.objects.filter(action="crm.lead_created").count() == 2
        assert AuditEntry.objects.filter(action="crm.lead_merged", subject_id=existing["email"].pk).count() == 1
    again = admin.post(f"/backoffice/clients/leads/import/{import_id}/confirm/")
    assert again.status_code == 400 and "already confirmed" in again.content.decode()


@pytest.mark.parametrize("text, message", [
    ("name,phone\nA,1\n", "“email” is required"),
    ("email,shoe_size\na@example.test,42\n", "Unknown column(s): shoe_size"),
    ("email\n", "has a header but no rows"),
    ("", "The submitted file is empty"),
])
def test_an_unreadable_file_is_refused_with_the_reason_and_stores_nothing(sales_desk, http, text, message):
    from tenant_apps.crm.models import LeadImport

    response = _upload(http(sales_desk.brokerage, "admin@alpha.test"), text)
    assert response.status_code == 400 and message in response.content.decode()
    with tenant_context(sales_desk.brokerage):
        assert not LeadImport.objects.exists()


def test_a_file_that_is_not_utf8_is_refused(sales_desk, http):
    admin = http(sales_desk.brokerage, "admin@alpha.test")
    response = admin.post("/backoffice/clients/leads/import/",
                          {"file": SimpleUploadedFile("l.csv", "email,name\nj@example.test,Jos\xe9\n".encode("latin-1"))})
    assert response.status_code == 400 and "not UTF-8" in response.content.decode()


def test_a_large_import_runs_as_a_job_in_committed_batches_with_progress(sales_desk, monkeypatch, http,
                                                                       django_capture_on_commit_callbacks):
    from tenant_apps.crm import leads
    from tenant_apps.crm.models import ClientRecord, LeadImport
    from tenant_apps.identity.models import User

    monkeypatch.setattr(leads, "SYNC_LIMIT", 5)
    monkeypatch.setattr(leads, "BATCH", 4)
    text = "email,country\n" + "".join(f"bulk{i}@example.test,CO\n" for i in range(10))
    with tenant_context(sales_desk.brokerage):
        admin = User.objects.get(email="admin@alpha.test")
        imp = leads.lead_import_preview(actor=admin, filename="bulk.csv", content=text.encode())
        with django_capture_on_commit_callbacks() as queued:
            running = leads.lead_import_confirm(actor=admin, lead_import=imp)
        assert len(queued) == 1  # the job is sent after commit (not run: this test drives it below)
        assert running.status == "running" and ClientRecord.objects.filter(lead_source="import").count() == 0
        progress = http(sales_desk.brokerage, "admin@alpha.test").get(
            f"/backoffice/clients/leads/import/{imp.pk}/", HTTP_HX_REQUEST="true").content.decode()
        assert "Importing: 0 of 10 rows processed." in progress and 'hx-trigger="every 2s"' in progress
        seen = []
        original = leads._run_batch

        def spy(rows, **kwargs):
            seen.append(LeadImport.objects.get(pk=imp.pk).processed_rows)
            return original(rows, **kwargs)

        monkeypatch.setattr(leads, "_run_batch", spy)
        finished = leads.lead_import_run(import_id=imp.pk, actor=admin)
        assert seen == [0, 4, 8]
        assert (finished.status, finished.created_count, finished.processed_rows) == ("done", 10, 10)
        assert ClientRecord.objects.filter(lead_source="import", team=sales_desk.latam).count() == 10


# --- the lead API -----------------------------------------------------------------------------------------------

def test_api_creates_a_routed_lead_and_answers_409_for_duplicates_400_for_bad_input(sales_desk, existing, http):
    from tenant_apps.crm.models import ClientRecord

    admin = http(sales_desk.brokerage, "admin@alpha.test")
    created = admin.post("/api/v1/crm/leads/", {"email": " New.Lead@Example.test", "phone": "+57 601 234 5678",
                                                "country": "co", "name": "Nia Lead", "source": "partner-site"},
                         content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["stage"], body["team"], body["owner"]) == ("lead", "Desk LATAM", "lara.latam@alpha.test")
    for payload, field in (({"email": "NEW.LEAD@example.test"}, "email"),
                           ({"email": "fresh@example.test", "phone": "+576012345678"}, "phone"),
                           ({"email": "fresh2@example.test", "phone": "+357 99 000111"}, "phone")):
        dup = admin.post("/api/v1/crm/leads/", payload, content_type="application/json")
        assert dup.status_code == 409 and dup.json()["code"] == "duplicate" and dup.json()["field"] == field
    for payload, field in (({"email": "nope"}, "email"), ({"email": "x@example.test", "phone": "12"}, "phone"),
                           ({"email": "y@example.test", "country": "ZZ"}, "country"), ({}, "email")):
        bad = admin.post("/api/v1/crm/leads/", payload, content_type="application/json")
        assert bad.status_code == 400 and field in bad.json()["errors"], (payload, bad.content)
    with tenant_context(sales_desk.brokerage):
        record = ClientRecord.objects.get(user__email="new.lead@example.test")
        assert (record.lead_source, record.utm_source, record.phone) == ("api", "partner-site", "+576012345678")
        assert ClientRecord.objects.filter(lead_source="api").count() == 1


def test_sales_may_not_create_leads_by_api_or_import(sales_desk, http):
    sales = http(sales_desk.brokerage, "lara.latam@alpha.test")
    assert sales.post("/api/v1/crm/leads/", {"email": "s@example.test"}, content_type="application/json").status_code == 403
    assert _upload(sales, "email\na@example.test\n").status_code == 403
