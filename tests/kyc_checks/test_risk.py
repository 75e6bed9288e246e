"""Risk factors: each one is scored with its points and named for Compliance, and each stops auto-approval."""
from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.kyc_checks import risk

pytestmark = pytest.mark.django_db


def _assess(brokerage, client):
    from tenant_apps.compliance.assessment import assess_submission
    from tenant_apps.compliance.models import KycCase

    with tenant_context(brokerage):
        return assess_submission(case=KycCase.objects.get(client=client))


def _codes(result) -> set[str]:
    return {f["code"] for f in result.risk.factors}


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"country": "IR", "nationality": "IR"}, "country_call_for_action"),
    ({"country": "NG", "nationality": "NG"}, "country_increased_monitoring"),
    ({"country": "US", "nationality": "US"}, "country_restricted"),  # CySEC preset restricts US clients
    ({"source_of_funds": ""}, "source_of_funds_missing"),
], ids=["FATF call for action", "FATF grey list", "restricted by the jurisdiction", "no source of funds"])
def test_each_country_and_funds_factor_is_scored_and_named(tenants, extract_list, make_client, kwargs, code):
    client = make_client("alpha", "Emma Johansson", **kwargs)

    result = _assess(tenants["alpha"], client)

    assert code in _codes(result)
    assert result.risk.score == min(100, sum(f["points"] for f in result.risk.factors))
    assert result.risk.score >= risk.POINTS[code]


def test_a_grey_list_country_alone_is_medium_risk_and_goes_to_manual_review(tenants, extract_list, make_client):
    from tenant_apps.compliance.models import KycCase

    client = make_client("alpha", "Emma Johansson", country="NG", nationality="NG")

    result = _assess(tenants["alpha"], client)

    assert result.decision == "manual_review"
    assert any("risk" in r for r in result.reasons)
    with tenant_context(tenants["alpha"]):
        assert KycCase.objects.get(client=client).risk_level in ("medium", "high")


def test_a_name_on_the_profile_differing_from_the_account_name_is_a_mismatch(tenants, extract_list, make_client):
    from tenant_apps.compliance.models import ClientProfile

    client = make_client("alpha", "Emma Johansson")
    with tenant_context(tenants["alpha"]):
        ClientProfile.objects.filter(client=client).update(full_name="Carlos Alberto Mendes")

    result = _assess(tenants["alpha"], client)

    assert "name_mismatch" in _codes(result) and result.decision == "manual_review"


def test_a_pep_flag_set_by_compliance_carries_into_the_next_assessment(tenants, extract_list, make_client):
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.kyc_checks.services import pep_flag_set

    client = make_client("alpha", "Emma Johansson")
    with tenant_context(tenants["alpha"]):
        officer = staff_user_create(email="pep.officer@alpha.test", role_codes=["compliance"])[0]
        pep_flag_set(client=client, pep=True, actor=officer, note="deputy minister")

    result = _assess(tenants["alpha"], client)

    assert "pep" in _codes(result) and result.risk.pep and result.decision == "manual_review"


def test_a_rejected_document_prevents_auto_approval(tenants, extract_list, make_client):
    from tenant_apps.compliance.models import KycDocument

    client = make_client("alpha", "Emma Johansson")
    with tenant_context(tenants["alpha"]):
        KycDocument.objects.filter(client=client, doc_type="passport").update(state="rejected")

    result = _assess(tenants["alpha"], client)

    assert result.decision == "manual_review" and any(r.startswith("documents:") for r in result.reasons)


def test_device_ip_country_is_recorded_as_not_evaluated_without_a_geoip_source(tenants, extract_list, make_client):
    result = _assess(tenants["alpha"], make_client("alpha", "Emma Johansson"))

    assert "GeoIP" in result.risk.skipped["device_ip_country"]


def test_the_same_country_is_restricted_in_beta_but_not_in_alpha(tenants, extract_list, make_client):
    """FSA Seychelles (beta) does not take UK residents; CySEC (alpha) does: each jurisdiction's own rules apply."""
    alpha_client = make_client("alpha", "Emma Johansson", country="GB", nationality="GB")
    beta_client = make_client("beta", "Emma Johansson", country="GB", nationality="GB")

    alpha, beta = _assess(tenants["alpha"], alpha_client), _assess(tenants["beta"], beta_client)

    assert "country_restricted" not in _codes(alpha) and alpha.decision == "approved", alpha.reasons
    assert "country_restricted" in _codes(beta) and beta.decision == "manual_review"
