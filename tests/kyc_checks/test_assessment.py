"""Scenario 2: a clean low-risk application is approved automatically; a sanctions-like name (transliterated,
swapped order) stops for manual review, the hit visible to Compliance only; the client sees "under review"."""
from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import mfa_enrol

pytestmark = pytest.mark.django_db


def _assess(brokerage, client):
    from tenant_apps.compliance.assessment import assess_submission
    from tenant_apps.compliance.models import KycCase

    with tenant_context(brokerage):
        return assess_submission(case=KycCase.objects.get(client=client))


def _compliance_officer(brokerage, email):
    from tenant_apps.identity.services import staff_user_create

    with tenant_context(brokerage):
        staff_user_create(email=email, password="pw-officer-2026", role_codes=["compliance"])
    mfa_enrol(brokerage, email)


def test_a_clean_low_risk_application_is_approved_automatically(tenants, extract_list, make_client, tenant_client):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.kyc_checks.models import ComplianceTask, ScreeningCheck

    alpha = tenants["alpha"]
    client = make_client("alpha", "Emma Johansson")

    result = _assess(alpha, client)

    assert result.decision == "approved", result.reasons
    with tenant_context(alpha):
        case = KycCase.objects.get(client=client)
        assert case.state == "approved" and case.decided_by is None
        assert case.risk_level == "low"
        check = ScreeningCheck.objects.get(client=client)
        assert (check.status, check.input_name, check.list_version) == ("clear", "Emma Johansson",
                                                                         extract_list.version)
        assert check.input_nationality == "DE" and check.input_date_of_birth is not None
        assert not ComplianceTask.objects.filter(client=client).exists()
        assert AuditEntry.objects.filter(action="kyc.approve", object_id=str(case.pk)).exists()
    page = tenant_client(alpha, client.email).get("/verify/")
    assert page.status_code == 200
    assert "Your account is verified." in page.content.decode()


@pytest.mark.parametrize("typed_name", ["Jewgeni Prigoschin", "Prigozhin Yevgeniy Viktorovich"],
                         ids=["German transliteration", "swapped order"])
def test_a_sanctions_match_goes_to_manual_review_shown_to_compliance_only(tenants, extract_list, make_client,
                                                                          tenant_client, typed_name):
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.kyc_checks.models import ComplianceTask, ScreeningCheck

    alpha = tenants["alpha"]
    client = make_client("alpha", typed_name, nationality="", dob=None)

    result = _assess(alpha, client)

    assert result.decision == "manual_review"
    with tenant_context(alpha):
        case = KycCase.objects.get(client=client)
        assert case.state == "pending_review" and case.client_reason == ""
        check = ScreeningCheck.objects.get(client=client)
        assert check.status == "hit" and check.hits[0]["ent_num"] == 21171
        task = ComplianceTask.objects.get(client=client)
        assert task.kind == "screening_review" and "PRIGOZHIN" in task.note
    # The client: "under review", nothing about sanctions.
    portal = tenant_client(alpha, client.email).get("/verify/").content.decode()
    assert "under review" in portal
    assert "PRIGOZHIN" not in portal.upper().replace(typed_name.upper(), "") and "sanction" not in portal.lower()
    assert tenant_client(alpha, client.email).get(f"/backoffice/screening/{client.pk}/").status_code in (302, 403)
    # Compliance: the hit, its score and reasons.
    _compliance_officer(alpha, "officer.scn2@alpha.test")
    page = tenant_client(alpha, "officer.scn2@alpha.test").get(f"/backoffice/screening/{client.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "PRIGOZHIN, Yevgeniy Viktorovich" in html and "#21171" in html and "Possible match" in html


def test_compliance_records_a_disposition_and_a_pep_flag_over_http(tenants, extract_list, make_client,
                                                                   tenant_client):
    from tenant_apps.kyc_checks.models import ComplianceTask, RiskAssessment, ScreeningCheck

    alpha = tenants["alpha"]
    client = make_client("alpha", "Vladimir Putin", nationality="", dob=None)
    _assess(alpha, client)
    _compliance_officer(alpha, "officer.disp@alpha.test")
    officer = tenant_client(alpha, "officer.disp@alpha.test")
    with tenant_context(alpha):
        check = ScreeningCheck.objects.get(client=client)

    refused = officer.post(f"/backoffice/screening/{client.pk}/",
                           {"action": "disposition", "check_id": check.pk, "disposition": "true_match", "note": ""})
    assert refused.status_code == 400
    done = officer.post(f"/backoffice/screening/{client.pk}/", {"action": "disposition", "check_id": check.pk,
                                                                 "disposition": "true_match", "note": "same DOB"})
    assert done.status_code == 302
    officer.post(f"/backoffice/screening/{client.pk}/", {"action": "pep_on", "note": "minister"})
    with tenant_context(alpha):
        check.refresh_from_db()
        assert check.status == "hit"
        assert check.disposition == "true_match" and check.reviewed_by.email == "officer.disp@alpha.test"
        assert ComplianceTask.objects.get(client=client).status == "done", "the review closes the screening task"
        latest = RiskAssessment.objects.filter(client=client).first()
        assert latest.pep and any(f["code"] == "pep" for f in latest.factors)


def test_support_and_sales_cannot_open_the_screening_page(tenants, extract_list, make_client, tenant_client):
    from tenant_apps.identity.services import staff_user_create

    alpha = tenants["alpha"]
    client = make_client("alpha", "Emma Johansson", submit=False)
    with tenant_context(alpha):
        staff_user_create(email="support.scr@alpha.test", password="pw-2026-support", role_codes=["support"])
        staff_user_create(email="sales.scr@alpha.test", password="pw-2026-sales", role_codes=["sales"])
    mfa_enrol(alpha, "support.scr@alpha.test")
    for email in ("support.scr@alpha.test", "sales.scr@alpha.test"):
        assert tenant_client(alpha, email).get(f"/backoffice/screening/{client.pk}/").status_code == 403


def test_beta_staff_cannot_see_alphas_screening_and_alphas_results_stay_in_alpha(tenants, extract_list,
                                                                                make_client, tenant_client):
    from tenant_apps.kyc_checks.models import ScreeningCheck

    alpha, beta = tenants["alpha"], tenants["beta"]
    client = make_client("alpha", "Muammar Gaddafi", nationality="", dob=None)
    _assess(alpha, client)
    _compliance_officer(beta, "officer.iso@beta.test")

    answer = tenant_client(beta, "officer.iso@beta.test").get(f"/backoffice/screening/{client.pk}/")

    assert answer.status_code == 404 or "Gaddafi" not in answer.content.decode()
    with tenant_context(beta):
        assert not ScreeningCheck.objects.exists()
    with tenant_context(alpha):
        assert ScreeningCheck.objects.filter(client=client, status="hit").exists()


def test_a_hit_cleared_as_false_positive_stays_cleared_when_the_same_input_is_screened_again(
        tenants, extract_list, make_client):
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.kyc_checks.services import screening_check_run, screening_disposition_set

    alpha = tenants["alpha"]
    client = make_client("alpha", "Hasan Nasrallah", nationality="", dob=None)
    with tenant_context(alpha):
        officer = staff_user_create(email="fp.officer@alpha.test", role_codes=["compliance"])[0]
        first = screening_check_run(client=client)
        assert first.status == "hit"
        screening_disposition_set(check=first, disposition="false_positive", note="different person", actor=officer)
        again = screening_check_run(client=client, trigger="manual")

    assert again.status == "hit" and again.disposition == "false_positive"
    assert again.disposition_note.startswith(f"Carried over from screening {first.pk}")


def test_screening_review_needs_the_matrix_permission_in_the_service_too(tenants, extract_list, make_client):
    from tenant_apps.identity.permissions import PermissionDeniedError
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.kyc_checks.services import screening_check_run, screening_disposition_set

    client = make_client("alpha", "Vladimir Putin", nationality="", dob=None)
    with tenant_context(tenants["alpha"]):
        support = staff_user_create(email="support.fp@alpha.test", role_codes=["support"])[0]
        check = screening_check_run(client=client)
        with pytest.raises(PermissionDeniedError):
            screening_disposition_set(check=check, disposition="false_positive", note="x", actor=support)


def test_without_any_sanctions_list_an_application_waits_for_a_person(tenants, make_client):
    from tenant_apps.kyc_checks.models import ComplianceTask

    client = make_client("alpha", "Emma Johansson")

    result = _assess(tenants["alpha"], client)

    assert result.decision == "manual_review" and result.screening is None
    assert "screening_unavailable" in {f["code"] for f in result.risk.factors}
    with tenant_context(tenants["alpha"]):
        assert ComplianceTask.objects.get(client=client).kind == "manual_review"
