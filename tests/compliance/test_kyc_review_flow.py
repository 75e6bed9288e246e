"""Scenario-1-like KYC over HTTP, the review queue, document access and four-eyes approvals."""
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from tenant_apps.compliance.models import KycCase, KycDocument
from tests.compliance import samples
from tests.compliance.conftest import PROFILE_POST, in_days
from tests.conftest import host_of


def upload(http, doc_type, data, name="scan.jpg", **extra):
    body = {"doc_type": doc_type, "file": SimpleUploadedFile(name, data), **extra}
    response = http.post("/verify/documents/", body)
    assert response.status_code == 302, response.content.decode()[-2000:]
    return response


def verified_ready(http):
    """Profile, an ID and a proof of address: everything but the submit."""
    assert http.post("/verify/profile/", PROFILE_POST).status_code == 302
    upload(http, "id_card", samples.jpeg_with_metadata(), expiry_date=str(in_days(900)))
    upload(http, "proof_of_address", samples.pdf(), name="bill.pdf", issue_date=str(in_days(-10)))


def audit_actions(brokerage, client):
    from tenant_apps.audit.models import AuditEntry

    with tenant_context(brokerage):
        # kyc.assessed is the screening/risk assessment's own entry (tenant_apps.kyc_checks), not this flow's.
        return list(AuditEntry.objects.filter(action__startswith="kyc.", subject_id=client.pk)
                    .exclude(action="kyc.assessed").order_by("seq").values_list("action", flat=True))


def test_rejected_id_then_resubmission_then_approval_with_the_exact_reason_shown(people, tenants, tenant_client):
    alpha = tenants["alpha"]
    me = tenant_client(alpha, people["client"].email)
    officer = tenant_client(alpha, people["officer"].email)

    page = me.get("/verify/").content.decode()
    assert "0 of 5 steps complete" in page and "Complete your profile" in page
    verified_ready(me)
    page = me.get("/verify/").content.decode()
    assert "4 of 5 steps complete" in page and 'action="/verify/submit/"' in page
    assert "Usually reviewed within 30 minutes during business hours." in page
    assert me.post("/verify/submit/").status_code == 302
    page = me.get("/verify/").content.decode()
    assert "5 of 5 steps complete" in page and "under review" in page

    queue = officer.get("/backoffice/kyc/").content.decode()
    assert people["client"].email in queue and 'hx-trigger="every 10s"' in queue
    with tenant_context(alpha):
        case = KycCase.objects.get(client=people["client"])
        id_doc = KycDocument.objects.get(doc_type="id_card")
    case_page = officer.get(f"/backoffice/kyc/{case.pk}/").content.decode()
    assert f"/backoffice/kyc/documents/{id_doc.pk}/file/" in case_page and "Maria Schmidt" in case_page
    response = officer.post(f"/backoffice/kyc/{case.pk}/", {"outcome": "request_resubmission",
                                                           "reason_code": "unreadable", "note": "blurred",
                                                           "document_ids": [id_doc.pk]})
    assert response.status_code == 302, response.content.decode()[-2000:]

    page = me.get("/verify/").content.decode()
    assert "We could not read your document: the picture is blurred, cut off or too dark." in page
    assert "Upload a new, sharp photo or scan of the whole document" in page
    assert "blurred" not in page.replace("blurred, cut off", "")  # the staff note stays with staff
    assert "3 of 5 steps complete" in page and "Upload an identity document" in page

    upload(me, "passport", samples.jpeg_with_metadata(), expiry_date=str(in_days(2000)))
    assert me.post("/verify/submit/").status_code == 302
    response = officer.post(f"/backoffice/kyc/{case.pk}/", {"outcome": "approve", "note": "clear now"})
    assert response.status_code == 302
    page = me.get("/verify/").content.decode()
    assert "Your account is verified" in page
    with tenant_context(alpha):
        case.refresh_from_db()
        assert case.state == "approved" and case.decided_by_id == people["officer"].pk
        states = dict(KycDocument.objects.values_list("doc_type", "state"))
        assert states == {"id_card": "rejected", "passport": "accepted", "proof_of_address": "accepted"}
    assert audit_actions(alpha, people["client"]) == [
        "kyc.profile_update", "kyc.document_upload", "kyc.document_upload", "kyc.submit",
        "kyc.request_resubmission", "kyc.documents_rejected", "kyc.document_upload", "kyc.submit", "kyc.approve"]


def test_submitting_with_steps_missing_is_refused_with_the_next_step(people, tenants, tenant_client):
    me = tenant_client(tenants["alpha"], people["client"].email)
    page = me.post("/verify/submit/", follow=True).content.decode()
    assert "Complete this step first: Complete your profile." in page
    with tenant_context(tenants["alpha"]):
        assert not KycCase.objects.filter(client=people["client"], state="pending_review").exists()


def test_a_reject_needs_a_listed_reason_and_a_note(people, tenants, tenant_client):
    alpha = tenants["alpha"]
    verified_ready(me := tenant_client(alpha, people["client"].email))
    me.post("/verify/submit/")
    with tenant_context(alpha):
        case = KycCase.objects.get(client=people["client"])
    officer = tenant_client(alpha, people["officer"].email)
    response = officer.post(f"/backoffice/kyc/{case.pk}/", {"outcome": "reject", "reason_code": "made_up"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Select a valid choice" in page and "A note is required" in page
    with tenant_context(alpha):
        case.refresh_from_db()
        assert case.state == "pending_review"


def test_only_compliance_and_managers_open_documents_and_refusals_are_logged(people, tenants, tenant_client, caplog):
    alpha = tenants["alpha"]
    verified_ready(tenant_client(alpha, people["client"].email))
    with tenant_context(alpha):
        doc = KycDocument.objects.get(doc_type="id_card")
    path = f"/backoffice/kyc/documents/{doc.pk}/file/"
    for who in ("officer", "manager"):
        response = tenant_client(alpha, people[who].email).get(path)
        assert response.status_code == 200, who
        assert response["Content-Type"] == "image/jpeg" and response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"] == f'inline; filename="id_card-{doc.pk}.jpg"'
        assert "sandbox" in response["Content-Security-Policy"]
    with caplog.at_level(logging.WARNING, logger="brokeros.access"):
        for who in ("sales", "support"):
            assert tenant_client(alpha, people[who].email).get(path).status_code == 403, who
    denied = [r.getMessage() for r in caplog.records if "access denied" in r.getMessage()]
    assert len(denied) == 2 and "kyc.sales@alpha.test" in denied[0] and "kyc.documents:view" in denied[0]
    # the owner sees their own file; another client of the same brokerage gets "not found"
    assert tenant_client(alpha, people["client"].email).get(f"/verify/documents/{doc.pk}/file/").status_code == 200
    assert tenant_client(alpha, people["other_client"].email).get(
        f"/verify/documents/{doc.pk}/file/").status_code == 404


def test_another_brokerage_can_never_fetch_a_document(people, tenants, tenant_client):
    alpha, beta = tenants["alpha"], tenants["beta"]
    verified_ready(tenant_client(alpha, people["client"].email))
    with tenant_context(alpha):
        doc = KycDocument.objects.get(doc_type="id_card")
    # Beta's compliance officer and client, on Beta's host: the id names nothing there.
    assert tenant_client(beta, people["beta_officer"].email).get(
        f"/backoffice/kyc/documents/{doc.pk}/file/").status_code == 404
    assert tenant_client(beta, people["beta_client"].email).get(f"/verify/documents/{doc.pk}/file/").status_code == 404
    # Beta's session presented on Alpha's host means nothing there.
    beta_session = tenant_client(beta, people["beta_officer"].email)
    beta_session.defaults["HTTP_HOST"] = host_of(alpha)
    response = beta_session.get(f"/backoffice/kyc/documents/{doc.pk}/file/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.fixture
def high_risk_case(people, tenants, tenant_client):
    alpha = tenants["alpha"]
    me = tenant_client(alpha, people["client"].email)
    verified_ready(me)
    me.post("/verify/submit/")
    with tenant_context(alpha):
        case = KycCase.objects.get(client=people["client"])
        case.risk_level = "high"
        case.save()
    return case


def test_a_high_risk_case_needs_two_different_approvers(high_risk_case, people, tenants, tenant_client):
    alpha = tenants["alpha"]
    url = f"/backoffice/kyc/{high_risk_case.pk}/"
    first = tenant_client(alpha, people["officer"].email)
    assert first.post(url, {"outcome": "approve", "note": "docs fine"}).status_code == 302
    with tenant_context(alpha):
        high_risk_case.refresh_from_db()
        assert high_risk_case.state == "pending_review"
        assert high_risk_case.first_approval_by_id == people["officer"].pk
    assert "1 of 2 approvals" in first.get("/backoffice/kyc/").content.decode()

    again = first.post(url, {"outcome": "approve", "note": "me again"})
    assert again.status_code == 400
    assert "a different approver must give the second" in again.content.decode()
    with tenant_context(alpha):
        high_risk_case.refresh_from_db()
        assert high_risk_case.state == "pending_review"

    assert tenant_client(alpha, people["officer2"].email).post(url, {"outcome": "approve"}).status_code == 302
    with tenant_context(alpha):
        high_risk_case.refresh_from_db()
        assert high_risk_case.state == "approved" and high_risk_case.decided_by_id == people["officer2"].pk
    actions = audit_actions(alpha, people["client"])
    assert actions[-2:] == ["kyc.first_approval", "kyc.approve"]


def test_a_low_risk_case_is_approved_by_one_reviewer(people, tenants, tenant_client):
    alpha = tenants["alpha"]
    me = tenant_client(alpha, people["client"].email)
    verified_ready(me)
    me.post("/verify/submit/")
    with tenant_context(alpha):
        case = KycCase.objects.get(client=people["client"])
    assert tenant_client(alpha, people["officer"].email).post(f"/backoffice/kyc/{case.pk}/",
                                                              {"outcome": "approve"}).status_code == 302
    with tenant_context(alpha):
        case.refresh_from_db()
        assert case.state == "approved"


def test_the_queue_filters_claims_and_flags_sla_breaches(people, tenants, tenant_client):
    import datetime

    from django.utils import timezone

    alpha = tenants["alpha"]
    for who in ("client", "other_client"):
        http = tenant_client(alpha, people[who].email)
        verified_ready(http)
        http.post("/verify/submit/")
    with tenant_context(alpha):
        old = KycCase.objects.get(client=people["other_client"])
        old.submitted_at = timezone.now() - datetime.timedelta(hours=2)
        old.risk_level = "high"
        old.save()
        fresh = KycCase.objects.get(client=people["client"])
    officer = tenant_client(alpha, people["officer"].email)
    page = officer.get("/backoffice/kyc/").content.decode()
    assert f'data-case="{old.pk}" data-breached="yes"' in page and f'data-case="{fresh.pk}" data-breached="no"' in page
    assert "SLA breached" in page
    assert str(fresh.pk) not in officer.get("/backoffice/kyc/?risk=high").content.decode().split("<tbody>")[1]
    assert f'data-case="{fresh.pk}"' not in officer.get("/backoffice/kyc/?age=60").content.decode()
    assert "No cases waiting" in officer.get("/backoffice/kyc/?country=FR").content.decode()

    assert officer.post(f"/backoffice/kyc/{fresh.pk}/assign/").status_code == 302
    mine = officer.get(f"/backoffice/kyc/?assignee={people['officer'].pk}", HTTP_HX_REQUEST="true").content.decode()
    assert f'data-case="{fresh.pk}"' in mine and f'data-case="{old.pk}"' not in mine and "<html" not in mine
    # assigning to someone who cannot decide KYC is refused
    response = officer.post(f"/backoffice/kyc/{old.pk}/assign/", {"assignee": people["sales"].pk}, follow=True)
    assert "cannot decide KYC cases" in response.content.decode()
    # support reads the queue but cannot decide
    support = tenant_client(alpha, people["support"].email)
    assert support.get("/backoffice/kyc/").status_code == 200
    assert support.post(f"/backoffice/kyc/{fresh.pk}/", {"outcome": "approve"}).status_code == 403


def test_submit_calls_the_assessment_when_the_module_exists(people, tenants, tenant_client, monkeypatch):
    import sys
    import types

    seen = []
    module = types.ModuleType("tenant_apps.compliance.assessment")
    module.assess_submission = lambda *, case: seen.append(case.pk)
    monkeypatch.setitem(sys.modules, "tenant_apps.compliance.assessment", module)
    import tenant_apps.compliance as package

    monkeypatch.setattr(package, "assessment", module, raising=False)
    me = tenant_client(tenants["alpha"], people["client"].email)
    verified_ready(me)
    me.post("/verify/submit/")
    with tenant_context(tenants["alpha"]):
        assert seen == [KycCase.objects.get(client=people["client"]).pk]


def test_a_rejected_client_sees_the_reason_and_no_submit_button(people, tenants, tenant_client):
    alpha = tenants["alpha"]
    me = tenant_client(alpha, people["client"].email)
    verified_ready(me)
    me.post("/verify/submit/")
    with tenant_context(alpha):
        case = KycCase.objects.get(client=people["client"])
    response = tenant_client(alpha, people["officer"].email).post(
        f"/backoffice/kyc/{case.pk}/", {"outcome": "reject", "reason_code": "compliance_decision",
                                        "note": "confirmed sanctions match"})
    assert response.status_code == 302
    page = me.get("/verify/").content.decode()
    assert "We are unable to offer you an account." in page and "contact support" in page
    assert 'action="/verify/submit/"' not in page and "sanctions" not in page
