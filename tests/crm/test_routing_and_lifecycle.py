"""Lead routing (issue 4, item 1) and the derived lifecycle stage (item 2): rules by country and source, the
default team, round-robin under concurrent sign-ups, stages moved by KYC and ledger facts, dormancy, isolation."""
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, host_of


def _staff(email, team, roles=("sales",), active=True):
    from tenant_apps.identity.services import staff_user_create

    user = staff_user_create(email=email, password=PASSWORD, role_codes=list(roles))[0]
    user.team, user.is_active = team, active
    user.save(update_fields=["team", "is_active"])
    return user


def _register(email, *, country="CY", language="en", attribution=None):
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.crm.services import client_register
    from tenant_apps.identity.models import User

    user = User.objects.create_user(email=email, password=PASSWORD)
    record = client_register(user=user, country=country, language=language, phone="+35722123456",
                             attribution=attribution or {})
    # Loaded with its relations: tests read them after leaving the brokerage's schema.
    return ClientRecord.objects.select_related("team", "owner", "routing_rule", "user").get(pk=record.pk)


@pytest.fixture
def desks(db, tenants):
    from tenant_apps.crm.models import RoutingRule
    from tenant_apps.identity.models import Team

    with tenant_context(tenants["alpha"]):
        latam, partners, general = (Team.objects.create(name=n) for n in ("Desk LATAM", "Desk Partners", "Desk General"))
        owners = {t.name: _staff(f"owner.{t.pk}@alpha.test", t) for t in (latam, partners, general)}
        RoutingRule.objects.create(name="IB referrals", priority=5, source="ib_referral", team=partners)
        RoutingRule.objects.create(name="LATAM", priority=10, countries=["MX", "CO", "AR"], team=latam)
        RoutingRule.objects.create(name="Google Spanish", priority=20, source="utm_source", source_value="google",
                                   language="es", team=latam)
        RoutingRule.objects.create(name="Off", priority=1, countries=["MX"], team=general, enabled=False)
        RoutingRule.objects.create(name="Everyone else", priority=1000, team=general, is_default=True)
    return {"latam": latam, "partners": partners, "general": general, "owners": owners}


def test_routing_by_country_sends_a_client_to_the_first_matching_team(desks, tenants):
    with tenant_context(tenants["alpha"]):
        record = _register("mx@example.test", country="MX")
    assert record.team == desks["latam"] and record.owner == desks["owners"]["Desk LATAM"]
    assert record.routing_rule.name == "LATAM" and "LATAM" in record.routing_reason


def test_routing_by_source_puts_ib_referrals_before_country_and_matches_utm_source(desks, tenants):
    with tenant_context(tenants["alpha"]):
        referred = _register("ref@example.test", country="MX", attribution={"ref": "IB-1"})
        googled = _register("g@example.test", country="DE", language="es", attribution={"utm_source": "Google"})
        english = _register("g2@example.test", country="DE", language="en", attribution={"utm_source": "google"})
    assert referred.team == desks["partners"] and referred.routing_rule.name == "IB referrals"
    assert googled.team == desks["latam"] and googled.routing_rule.name == "Google Spanish"
    assert english.team == desks["general"] and "default rule" in english.routing_reason


def test_without_any_rule_the_client_is_left_unassigned_with_the_reason_recorded(tenants, db):
    with tenant_context(tenants["beta"]):
        record = _register("nobody@example.test", country="AE")
    assert record.team is None and record.owner is None and record.routed_at is not None
    assert "no default team" in record.routing_reason


def test_alpha_rules_never_route_beta_clients(desks, tenants):
    with tenant_context(tenants["beta"]):
        record = _register("mx.beta@example.test", country="MX", attribution={"ref": "IB-1"})
        from tenant_apps.crm.models import RoutingRule

        assert not RoutingRule.objects.exists()
    assert record.team is None and record.routing_rule is None


def test_round_robin_skips_staff_who_are_inactive_or_cannot_edit_clients(tenants, db):
    from tenant_apps.crm.models import RoutingRule
    from tenant_apps.identity.models import Team

    with tenant_context(tenants["alpha"]):
        team = Team.objects.create(name="Desk Mixed")
        a, b = _staff("rr.a@alpha.test", team), _staff("rr.b@alpha.test", team)
        _staff("rr.support@alpha.test", team, roles=("support",))
        _staff("rr.gone@alpha.test", team, active=False)
        RoutingRule.objects.create(name="All", priority=1, team=team)
        owners = [_register(f"rr{i}@example.test").owner for i in range(4)]
    assert owners == [a, b, a, b]


def test_six_concurrent_signups_are_spread_two_two_two_over_three_staff(tenants, committed_db):
    from django.test import Client

    from tenant_apps.crm.models import ClientRecord, RoutingRule
    from tenant_apps.identity.models import Team, User

    alpha = tenants["alpha"]
    emails = [f"rush{i}@example.test" for i in range(6)]
    with tenant_context(alpha):
        team = Team.objects.create(name="Desk Rush")
        staff = [_staff(f"rush.staff{i}@alpha.test", team) for i in range(3)]
        rule = RoutingRule.objects.create(name="Rush", priority=0, countries=["CY"], team=team)
    barrier, results = threading.Barrier(6), {}

    def sign_up(email):
        from django.db import connection

        client = Client(HTTP_HOST=host_of(alpha))
        barrier.wait()
        try:
            response = client.post("/accounts/signup/", {
                "email": email, "password1": PASSWORD, "password2": PASSWORD, "country": "CY", "language": "en",
                "phone": "+357 22 123456", "accept_terms": "on", "accept_risk": "on"})
            results[email] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up, args=(e,)) for e in emails]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with tenant_context(alpha):
            owners = list(ClientRecord.objects.filter(user__email__in=emails).values_list("owner_id", flat=True))
        assert results == {e: 302 for e in emails}
        assert sorted(owners.count(s.pk) for s in staff) == [2, 2, 2]
    finally:
        with tenant_context(alpha):
            User.objects.filter(email__in=emails + [s.email for s in staff]).delete()
            rule.delete()
            team.delete()


def _credit(client, amount="100.00"):
    from tenant_apps.ledger.models import AccountKind, Owner
    from tenant_apps.ledger.services import account_get_or_create, ledger_post

    wallet = account_get_or_create(kind=AccountKind.CLIENT_WALLET, owner=Owner.client(client.pk), currency="USD")
    clearing = account_get_or_create(kind=AccountKind.PSP_CLEARING, owner=Owner.provider("sandbox"), currency="USD")
    ledger_post(idempotency_key=f"test-deposit-{client.pk}-{amount}", kind="deposit.credited",
                lines=[(wallet, Decimal(amount)), (clearing, -Decimal(amount))])


def test_lifecycle_moves_registered_kyc_pending_kyc_approved_funded_with_each_step_timestamped(tenants, db):
    from tenant_apps.compliance.services import kyc_transition
    from tenant_apps.crm.lifecycle import lifecycle_sweep
    from tenant_apps.crm.models import ClientRecord, StageTransition

    with tenant_context(tenants["alpha"]):
        record = _register("life@example.test")
        client = record.user
        assert record.stage == "registered"
        kyc_transition(client=client, action="submit", actor_kind="client")
        assert ClientRecord.objects.get(pk=record.pk).stage == "kyc_pending"
        kyc_transition(client=client, action="approve")
        assert ClientRecord.objects.get(pk=record.pk).stage == "kyc_approved"
        _credit(client)
        assert lifecycle_sweep() >= 1
        record.refresh_from_db()
        moves = list(StageTransition.objects.filter(client=client).values_list("from_stage", "to_stage", "fact", "at"))
    assert record.stage == "funded"
    assert [(f, t) for f, t, _, _ in moves] == [("lead", "registered"), ("registered", "kyc_pending"),
                                                ("kyc_pending", "kyc_approved"), ("kyc_approved", "funded")]
    assert all(at is not None for *_, at in moves) and moves[-1][2] == "credit to the client's wallet"


def test_activity_from_a_fact_source_makes_a_funded_client_active(tenants, db, monkeypatch):
    from tenant_apps.crm import lifecycle

    with tenant_context(tenants["alpha"]):
        record = _register("busy@example.test")
        _credit(record.user)
        monkeypatch.setattr(lifecycle, "FACT_SOURCES", [lambda client: timezone.now() - timedelta(days=2)])
        assert lifecycle.lifecycle_refresh(client=record.user) == "active"


def test_the_daily_job_marks_funded_clients_dormant_after_the_tenants_window(tenants, db):
    from tenant_apps.crm.lifecycle import lifecycle_sweep
    from tenant_apps.crm.models import CrmPolicy, StageTransition

    with tenant_context(tenants["alpha"]):
        CrmPolicy.objects.create(dormant_after_days=30)
        record = _register("sleepy@example.test")
        _credit(record.user)
        lifecycle_sweep()
        record.refresh_from_db()
        assert record.stage == "funded"
        lifecycle_sweep(now=timezone.now() + timedelta(days=29))
        record.refresh_from_db()
        assert record.stage == "funded"
        lifecycle_sweep(now=timezone.now() + timedelta(days=31))
        record.refresh_from_db()
        last = StageTransition.objects.filter(client=record.user).last()
    assert record.stage == "dormant" and (last.from_stage, last.to_stage) == ("funded", "dormant")
    assert last.fact == "no activity for 30 days"


def test_the_lifecycle_sweep_is_a_registered_periodic_tenant_job():
    from tenancy.scheduler import REGISTRY
    from tenant_apps.crm import tasks

    job = REGISTRY[tasks.lifecycle_sweep.actor_name]
    assert job.per_tenant and job.every_s == 24 * 3600


def test_the_back_office_shows_each_clients_stage_and_routing(desks, tenants, tenant_client):
    with tenant_context(tenants["alpha"]):
        record = _register("shown@example.test", country="MX")
    client = tenant_client(tenants["alpha"], desks["owners"]["Desk LATAM"].email)
    listing = client.get("/backoffice/clients/").content.decode()
    assert "shown@example.test" in listing and "Registered" in listing
    detail = client.get(f"/backoffice/clients/{record.user_id}/").content.decode()
    assert 'data-role="stage"' in detail and "Registered" in detail and "Matched rule" in detail
    assert client.get(f"/api/v1/clients/{record.user_id}/").json()["stage"] == "registered"


def test_a_manager_adds_and_edits_routing_rules_in_the_back_office_and_each_change_is_audited(tenants, tenant_client,
                                                                                             db):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.crm.models import RoutingRule
    from tenant_apps.identity.models import Team
    from tests.conftest import mfa_enrol

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        team = Team.objects.create(name="Desk Gulf")
        manager = _staff("routing.manager@alpha.test", None, roles=("manager",))
        sales = _staff("routing.sales@alpha.test", None)
    mfa_enrol(alpha, manager.email)
    office = tenant_client(alpha, manager.email)
    bad = office.post("/backoffice/clients/routing/", {"name": "", "priority": "5", "countries": "AE, ZZZ",
                                                       "team": team.pk, "source": "utm_source"})
    assert bad.status_code == 400
    assert set(bad.context["form"].errors) == {"name", "countries"}
    half = office.post("/backoffice/clients/routing/", {"name": "Gulf", "priority": "5", "countries": "ae, sa",
                                                        "team": team.pk, "source": "utm_source", "enabled": "on"})
    assert half.status_code == 400 and "source_value" in half.context["form"].errors
    with tenant_context(alpha):
        assert not RoutingRule.objects.filter(name="Gulf").exists()
    ok = office.post("/backoffice/clients/routing/", {"name": "Gulf", "priority": "5", "countries": "ae, sa",
                                                      "team": team.pk, "language": "ar", "enabled": "on"})
    assert ok.status_code == 302
    with tenant_context(alpha):
        rule = RoutingRule.objects.get(name="Gulf")
        assert (rule.countries, rule.language, rule.team_id, rule.enabled) == (["AE", "SA"], "ar", team.pk, True)
    edited = office.post(f"/backoffice/clients/routing/{rule.pk}/", {"name": "Gulf", "priority": "7",
                                                                     "countries": "AE", "team": team.pk})
    assert edited.status_code == 302
    with tenant_context(alpha):
        rule.refresh_from_db()
        assert (rule.priority, rule.countries, rule.enabled) == (7, ["AE"], False)
        entry = AuditEntry.objects.filter(action="crm.routing_rule_saved", object_id=str(rule.pk)).order_by("seq").last()
        assert entry.changes["priority"] == [5, 7] and entry.actor_id == manager.pk
        ae_client = _register("gulf@example.test", country="AE")
    assert ae_client.team_id is None  # disabled now: nothing else matches in this test

    # Sales reads the rules but cannot change them.
    reader = tenant_client(alpha, sales.email)
    page = reader.get("/backoffice/clients/routing/").content.decode()
    assert "Gulf" in page and "Add a rule" not in page
    assert reader.post(f"/backoffice/clients/routing/{rule.pk}/", {"name": "Hijack", "priority": "1",
                                                                   "team": team.pk}).status_code == 403


def test_the_funnel_counts_clients_per_stage_reached_from_the_timestamped_transitions(tenants, db):
    from tenant_apps.compliance.services import kyc_transition
    from tenant_apps.crm.selectors import stage_funnel

    with tenant_context(tenants["alpha"]):
        start = timezone.now()
        first, second = _register("f1@example.test"), _register("f2@example.test")
        kyc_transition(client=first.user, action="submit", actor_kind="client")
        kyc_transition(client=first.user, action="request_resubmission", client_reason="Blurry passport.")
        kyc_transition(client=first.user, action="submit", actor_kind="client")
        funnel = {row["stage"]: row["clients"] for row in stage_funnel(since=start)}
        assert second.stage == "registered"
        before = {row["stage"]: row["clients"] for row in stage_funnel(until=start)}
    assert funnel["registered"] == 2 and funnel["kyc_pending"] == 1 and funnel["funded"] == 0
    assert before["registered"] == 0  # a window before these registrations counts none of them
