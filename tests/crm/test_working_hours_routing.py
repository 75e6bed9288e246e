"""Working hours in lead routing (issue 8, item 3), with a frozen clock: inside a team's hours (its own timezone)
the matching rule's team takes the lead; outside them the lead goes to the on-duty default team (or, without a
default, stays with the matching team, queued); overnight windows; the hours editor is for crm.routing:manage."""
from datetime import UTC, datetime, time

import pytest
import time_machine
from django_tenants.utils import tenant_context

# Mexico City is UTC-6 all year. Monday 23 November 2026.
MON_10_LOCAL = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
MON_20_LOCAL = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
MON_0859_LOCAL = datetime(2026, 11, 23, 14, 59, tzinfo=UTC)
SAT_12_LOCAL = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


@pytest.fixture
def hours(sales_desk):
    from tenant_apps.crm.models import TeamWorkingHours

    with tenant_context(sales_desk.brokerage):
        TeamWorkingHours.objects.create(team=sales_desk.latam, timezone="America/Mexico_City",
                                        weekdays=[0, 1, 2, 3, 4], start=time(9), end=time(18))
    return sales_desk


def _lead(brokerage, email, country="MX"):
    from tenant_apps.crm.leads import lead_create
    from tenant_apps.crm.models import ClientRecord

    with tenant_context(brokerage):
        record = lead_create(data={"email": email, "country": country}, actor=None, source="api")
        return ClientRecord.objects.select_related("team", "owner").get(pk=record.pk)


@pytest.mark.parametrize("moment, team, owner", [
    (MON_10_LOCAL, "Desk LATAM", "lara.latam@alpha.test"),
    (MON_0859_LOCAL, "Desk On Duty", "dino.duty@alpha.test"),
    (MON_20_LOCAL, "Desk On Duty", "dino.duty@alpha.test"),
    (SAT_12_LOCAL, "Desk On Duty", "dino.duty@alpha.test"),
])
def test_a_lead_goes_to_the_matching_team_only_inside_its_working_hours(hours, moment, team, owner):
    with time_machine.travel(moment, tick=False):
        record = _lead(hours.brokerage, f"hours.{moment:%d%H%M}@example.test")
    assert (record.team.name, record.owner.email) == (team, owner)
    assert record.routed_at == moment
    if team == "Desk On Duty":
        assert "outside working hours" in record.routing_reason and "Desk LATAM" in record.routing_reason
    else:
        assert record.routing_reason.startswith("Matched rule “LATAM”")


def test_without_a_default_rule_a_closed_team_still_gets_the_lead_queued_for_its_opening(hours):
    from tenant_apps.crm.models import RoutingRule

    with tenant_context(hours.brokerage):
        RoutingRule.objects.filter(is_default=True).delete()
    with time_machine.travel(SAT_12_LOCAL, tick=False):
        record = _lead(hours.brokerage, "queued@example.test")
    assert record.team.name == "Desk LATAM" and "queued for its next opening" in record.routing_reason


def test_a_closed_team_passes_the_lead_to_the_next_matching_open_team(hours):
    from tenant_apps.crm.models import RoutingRule
    from tenant_apps.identity.models import Team
    from tests.crm.conftest import staff

    with tenant_context(hours.brokerage):
        night = Team.objects.create(name="Desk Night")
        staff("nina.night@alpha.test", night)
        RoutingRule.objects.create(name="Spanish anywhere", priority=50, countries=["MX"], team=night)
    with time_machine.travel(MON_20_LOCAL, tick=False):
        record = _lead(hours.brokerage, "night@example.test")
    assert record.team.name == "Desk Night" and "Passed over (outside working hours): Desk LATAM" in record.routing_reason


@pytest.mark.parametrize("moment, is_open", [
    (datetime(2026, 11, 23, 21, 30, tzinfo=UTC), True),    # Monday 22:30 in Nicosia (UTC+2): Monday's window
    (datetime(2026, 11, 24, 3, 59, tzinfo=UTC), True),     # Tuesday 05:59: still Monday's night window
    (datetime(2026, 11, 24, 4, 0, tzinfo=UTC), False),     # Tuesday 06:00: closed
    (datetime(2026, 11, 22, 21, 30, tzinfo=UTC), False),   # Sunday 23:30: Sunday is not a working day
    (datetime(2026, 11, 23, 3, 0, tzinfo=UTC), False),     # Monday 05:00: Sunday's night was not worked
])
def test_an_overnight_window_belongs_to_the_day_it_starts_on(moment, is_open):
    from types import SimpleNamespace

    from tenant_apps.crm.routing import team_is_open

    night = SimpleNamespace(timezone="Asia/Nicosia", weekdays=[0, 1, 2, 3, 4], start=time(22), end=time(6))
    assert team_is_open(night, moment) is is_open
    assert team_is_open(None, moment) is True


def test_managers_set_and_remove_hours_and_bad_input_changes_nothing(sales_desk, http):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.crm.models import TeamWorkingHours

    admin = http(sales_desk.brokerage, "admin@alpha.test")
    bad = admin.post("/backoffice/clients/routing/hours/", {"team": sales_desk.latam.pk, "timezone": "Mars/Olympus",
                                                             "weekdays": [0], "start": "09:00", "end": "18:00"})
    assert bad.status_code == 400 and "Unknown timezone" in bad.content.decode()
    no_days = admin.post("/backoffice/clients/routing/hours/", {"team": sales_desk.latam.pk, "timezone": "UTC",
                                                                 "start": "09:00", "end": "18:00"})
    assert no_days.status_code == 400
    with tenant_context(sales_desk.brokerage):
        assert not TeamWorkingHours.objects.exists()
    ok = admin.post("/backoffice/clients/routing/hours/", {"team": sales_desk.latam.pk, "timezone": "America/Bogota",
                                                            "weekdays": [0, 2, 4], "start": "08:30", "end": "17:00"})
    assert ok.status_code == 302
    page = admin.get("/backoffice/clients/routing/hours/").content.decode()
    assert "Desk LATAM" in page and "08:30–17:00" in page and "America/Bogota" in page
    with tenant_context(sales_desk.brokerage):
        saved = TeamWorkingHours.objects.get(team=sales_desk.latam)
        assert (saved.weekdays, saved.start, saved.end) == ([0, 2, 4], time(8, 30), time(17))
        assert AuditEntry.objects.filter(action="crm.working_hours_saved").count() == 1
    assert admin.post("/backoffice/clients/routing/hours/", {"clear": sales_desk.latam.pk}).status_code == 302
    with tenant_context(sales_desk.brokerage):
        assert not TeamWorkingHours.objects.exists()
        assert AuditEntry.objects.filter(action="crm.working_hours_cleared").count() == 1


def test_sales_may_read_the_hours_but_not_change_them(sales_desk, http):
    sales = http(sales_desk.brokerage, "lara.latam@alpha.test")
    assert sales.get("/backoffice/clients/routing/hours/").status_code == 200
    refused = sales.post("/backoffice/clients/routing/hours/", {"team": sales_desk.latam.pk, "timezone": "UTC",
                                                                 "weekdays": [0], "start": "09:00", "end": "18:00"})
    assert refused.status_code == 403
