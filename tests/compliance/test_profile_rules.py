"""Profile requirements follow the legal entity's jurisdiction: CySEC (alpha) wants the full profile and the
appropriateness test before the first deposit; FSA Seychelles (beta) lets it wait until the first withdrawal."""
import pytest
from django_tenants.utils import tenant_context

from tenant_apps.compliance.profile import APPROPRIATENESS, PROFILE_FIELDS
from tenant_apps.compliance.selectors import profile_missing_for
from tests.compliance.conftest import PROFILE_POST


def test_cysec_needs_the_full_profile_and_appropriateness_before_the_first_deposit(people, tenants):
    with tenant_context(tenants["alpha"]):
        missing = profile_missing_for(people["client"], "first_deposit")
        assert missing == [*PROFILE_FIELDS, APPROPRIATENESS]
        assert profile_missing_for(people["client"], "first_withdrawal") == missing


def test_fsa_seychelles_lets_the_profile_wait_until_the_first_withdrawal(people, tenants):
    with tenant_context(tenants["beta"]):
        assert profile_missing_for(people["beta_client"], "first_deposit") == []
        missing = profile_missing_for(people["beta_client"], "first_withdrawal")
        assert missing == list(PROFILE_FIELDS)  # no appropriateness test under the FSA preset


def test_an_unknown_action_is_a_programming_error_not_a_silent_pass(people, tenants):
    with tenant_context(tenants["alpha"]), pytest.raises(KeyError):
        profile_missing_for(people["client"], "first_trade")


def test_a_completed_profile_clears_the_deposit_gate_and_scores_the_answers(people, tenants, tenant_client):
    http = tenant_client(tenants["alpha"], people["client"].email)
    response = http.post("/verify/profile/", PROFILE_POST)
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(tenants["alpha"]):
        assert profile_missing_for(people["client"], "first_deposit") == []
        profile = people["client"].kyc_profile
        assert (profile.appropriateness_score, profile.appropriateness_passed, profile.country) == (4, True, "DE")


def test_a_failed_appropriateness_test_is_recorded_and_the_client_is_warned(people, tenants, tenant_client):
    http = tenant_client(tenants["alpha"], people["client"].email)
    answers = {**PROFILE_POST, "q_leverage_loss": "1", "q_stop_out": "nothing", "q_experience": "never"}
    page = http.post("/verify/profile/", answers, follow=True).content.decode()
    assert "may not be appropriate for you" in page
    with tenant_context(tenants["alpha"]):
        assert people["client"].kyc_profile.appropriateness_passed is False


def test_bad_profile_input_gives_field_errors_and_saves_nothing(people, tenants, tenant_client):
    from tenant_apps.compliance.models import ClientProfile

    http = tenant_client(tenants["alpha"], people["client"].email)
    bad = {**PROFILE_POST, "date_of_birth": "2020-01-01", "country": "Germany", "expected_deposit": "lots"}
    response = http.post("/verify/profile/", bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert "at least 18 years old" in page and "two-letter country code" in page
    with tenant_context(tenants["alpha"]):
        assert not ClientProfile.objects.filter(client=people["client"]).exists()


def test_the_two_brokerages_show_different_verification_steps(people, tenants, tenant_client):
    alpha_page = tenant_client(tenants["alpha"], people["client"].email).get("/verify/profile/").content.decode()
    beta_page = tenant_client(tenants["beta"], people["beta_client"].email).get("/verify/profile/").content.decode()
    assert 'data-block="appropriateness"' in alpha_page and 'data-block="appropriateness"' not in beta_page
    assert "0 of 5 steps complete" in tenant_client(tenants["alpha"], people["client"].email).get(
        "/verify/").content.decode()
    assert "0 of 4 steps complete" in tenant_client(tenants["beta"], people["beta_client"].email).get(
        "/verify/").content.decode()
