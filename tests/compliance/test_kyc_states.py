"""The KYC state machine and capability table, generated over every state × action."""
import pytest
from django_tenants.utils import tenant_context

from tenant_apps.compliance.errors import KycTransitionNotAllowed
from tenant_apps.compliance.models import KycCase
from tenant_apps.compliance.selectors import client_may, kyc_state
from tenant_apps.compliance.services import kyc_transition
from tenant_apps.compliance.states import CAPABILITIES, REFUSALS, TRANSITIONS, KycState

STATES = [s for s, _ in KycState.CHOICES]


@pytest.fixture
def alpha_client(db, tenants):
    from tenant_apps.identity.models import User, UserKind

    with tenant_context(tenants["alpha"]):
        yield User.objects.create_user(email="kyc.subject@example.test", kind=UserKind.CLIENT)


def actor_for(transition_name, tenants):
    from tenant_apps.identity.services import staff_user_create

    by = TRANSITIONS[transition_name].by
    if "client" in by:
        return None, "client"
    if "system" in by:
        return None, "system"
    return staff_user_create(email="kyc.officer@alpha.test", role_codes=["compliance"])[0], "staff"


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_each_transition_is_allowed_exactly_from_its_source_states(alpha_client, tenants, state, action):
    KycCase.objects.create(client=alpha_client, state=state)
    actor, kind = actor_for(action, tenants)
    transition = TRANSITIONS[action]
    if state in transition.source:
        case = kyc_transition(client=alpha_client, action=action, actor=actor, actor_kind=kind,
                              client_reason="Your proof of address is older than 3 months.")
        assert case.state == transition.target
    else:
        with pytest.raises(KycTransitionNotAllowed):
            kyc_transition(client=alpha_client, action=action, actor=actor, actor_kind=kind, client_reason="x")
        assert kyc_state(alpha_client) == state


def test_a_decision_needs_the_matrix_permission_and_is_audited(alpha_client):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.identity.services import staff_user_create

    kyc_transition(client=alpha_client, action="submit", actor_kind="client", actor=alpha_client)
    sales = staff_user_create(email="sales.kyc@alpha.test", role_codes=["sales"])[0]
    with pytest.raises(KycTransitionNotAllowed, match="may not reject"):
        kyc_transition(client=alpha_client, action="reject", actor=sales, actor_kind="staff", client_reason="no")
    officer = staff_user_create(email="officer.kyc@alpha.test", role_codes=["compliance"])[0]
    with pytest.raises(KycTransitionNotAllowed, match="reason is required"):
        kyc_transition(client=alpha_client, action="reject", actor=officer, actor_kind="staff")
    kyc_transition(client=alpha_client, action="reject", actor=officer, actor_kind="staff",
                   client_reason="The document is unreadable.", note="blurred scan")
    entry = AuditEntry.objects.filter(action="kyc.reject").get()
    assert entry.changes == {"state": ["pending_review", "rejected"]} and entry.actor_label == officer.email


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(REFUSALS))
def test_the_capability_table_decides_what_a_client_may_do(alpha_client, state, action):
    KycCase.objects.create(client=alpha_client, state=state)
    allowed, reason = client_may(alpha_client, action)
    assert allowed == (action in CAPABILITIES[state])
    assert (reason == "") == allowed


def test_while_kyc_is_pending_a_demo_is_allowed_but_live_accounts_and_withdrawals_are_not(alpha_client):
    kyc_transition(client=alpha_client, action="submit", actor_kind="client", actor=alpha_client)
    assert client_may(alpha_client, "open_demo_account") == (True, "")
    assert client_may(alpha_client, "open_live_account")[0] is False
    assert "verified identity" in client_may(alpha_client, "withdraw")[1]
