"""The back-office automation pages: presets enabled and rules switched and edited by a manager (audited, bad input
a 400 that changes nothing), the run log and a run's details, the segment builder's preview and save — and each
list page's query count is the same with 1 row and with 200."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.automation.conftest import client, staff
from tests.conftest import mfa_enrol

MAX_QUERIES = 40


@pytest.fixture
def office(db, tenants, tenant_client):
    alpha = tenants["alpha"]
    with tenant_context(alpha):
        manager = staff("pages.manager@alpha.test", roles=("manager",))
    mfa_enrol(alpha, manager.email)
    return {"http": tenant_client(alpha, manager.email), "manager": manager, "alpha": alpha}


def test_a_manager_enables_a_preset_switches_it_off_and_every_change_is_audited(office):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.automation.models import AutomationRule

    http = office["http"]
    page = http.get("/backoffice/automation/").content.decode()
    assert 'data-preset="no_deposit_30d"' in page and 'data-preset="kyc_unfunded_3d"' in page
    assert http.post("/backoffice/automation/", {"action": "enable_preset", "preset": "no_deposit_30d"}).status_code == 302
    with tenant_context(office["alpha"]):
        rule = AutomationRule.objects.get(preset="no_deposit_30d")
        assert (rule.enabled, rule.trigger, rule.params["days"], rule.actions) == (True, "no_deposit", 30, ["notify"])
    page = http.get("/backoffice/automation/").content.decode()
    assert f'data-rule="{rule.pk}"' in page and 'data-preset="no_deposit_30d"' not in page
    assert http.post("/backoffice/automation/", {"action": "disable", "rule": rule.pk}).status_code == 302
    for bad in ({"action": "enable_preset", "preset": "free_money"}, {"action": "enable", "rule": "999999"},
                {"action": "enable", "rule": "x"}, {"action": "explode"}):
        assert http.post("/backoffice/automation/", bad).status_code == 400
    with tenant_context(office["alpha"]):
        rule.refresh_from_db()
        actions = list(AuditEntry.objects.filter(object_type="automation.automationrule", object_id=str(rule.pk))
                       .order_by("seq").values_list("action", flat=True))
        assert AutomationRule.objects.count() == 1
    assert rule.enabled is False
    assert actions == ["automation.rule_saved", "automation.rule_disabled"]


def test_editing_a_rules_parameters_validates_and_a_bad_value_changes_nothing(office):
    from tenant_apps.automation.models import AutomationRule
    from tenant_apps.automation.services import preset_enable

    http = office["http"]
    with tenant_context(office["alpha"]):
        rule = preset_enable(actor=office["manager"], code="low_balance")
    url = f"/backoffice/automation/rules/{rule.pk}/"
    assert 'name="threshold_amount"' in http.get(url).content.decode()
    bad = http.post(url, {"name": "Low balance", "threshold_amount": "-5", "threshold_currency": "USD",
                          "task_title": "Top up", "task_due_days": "1"})
    assert bad.status_code == 400 and "threshold_amount" in bad.context["form"].errors
    bad = http.post(url, {"name": "Low balance", "threshold_amount": "20", "threshold_currency": "US",
                          "task_title": "", "task_due_days": "1"})
    assert bad.status_code == 400
    problems = " ".join(bad.context["form"].non_field_errors())
    assert "three-letter currency" in problems and "needs a title" in problems
    with tenant_context(office["alpha"]):
        assert AutomationRule.objects.get(pk=rule.pk).params["threshold"] == {"amount": "50", "currency": "USD"}
    ok = http.post(url, {"name": "Low balance (EUR)", "threshold_amount": "20", "threshold_currency": "eur",
                         "task_title": "Offer a top-up", "task_due_days": "2"})
    assert ok.status_code == 302
    with tenant_context(office["alpha"]):
        rule.refresh_from_db()
    assert rule.name == "Low balance (EUR)"
    assert rule.params == {"threshold": {"amount": "20", "currency": "EUR"}, "task_title": "Offer a top-up",
                           "task_due_days": 2}


def test_the_builder_previews_count_and_first_clients_and_saves_a_segment(office):
    from tenant_apps.automation.models import Segment

    http = office["http"]
    with tenant_context(office["alpha"]):
        client("builder.mx@example.test", country="MX")
        client("builder.co@example.test", country="CO")
        client("builder.cy@example.test", country="CY")
    preview = http.get("/backoffice/automation/segments/", {"match": "all", "c0": "country.in", "v0": "mx, co"})
    assert preview.status_code == 200
    assert preview.context["preview"]["count"] == 2
    body = preview.content.decode()
    assert 'data-role="preview"' in body and 'data-role="save"' in body  # saving is a POST of its own (CSRF)
    assert 'type="hidden" name="c0" value="country.in"' in body and 'name="v0" value="mx, co"' in body
    assert {r.user.email for r in preview.context["preview"]["clients"]} == {"builder.mx@example.test",
                                                                              "builder.co@example.test"}
    bad = http.get("/backoffice/automation/segments/", {"match": "all", "c0": "last_trade.within_days", "v0": "soon"})
    assert bad.status_code == 400 and "a whole number of days" in " ".join(bad.context["form"].non_field_errors())
    assert http.get("/backoffice/automation/segments/", {"match": "all", "c0": "shoe.size", "v0": "42"}).status_code == 400
    assert http.post("/backoffice/automation/segments/", {"name": "", "match": "all", "c0": "country.in",
                                                          "v0": "Mexico"}).status_code == 400
    saved = http.post("/backoffice/automation/segments/", {"name": "LATAM", "match": "all", "c0": "country.in",
                                                           "v0": "mx, co"})
    assert saved.status_code == 302
    with tenant_context(office["alpha"]):
        segment = Segment.objects.get()
    assert segment.definition == {"match": "all", "conditions": [{"field": "country", "op": "in", "value": ["CO", "MX"]}]}
    detail = http.get(f"/backoffice/automation/segments/{segment.pk}/")
    assert detail.status_code == 200 and detail.context["preview"]["count"] == 2
    assert detail.context["form"].initial["v0"] == "CO, MX"


def _queries(http, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = http.get(url)
    assert response.status_code == 200, url
    return len(captured)


def _rows(alpha, n: int, manager):
    """n clients in a segment, n rules, n runs and n actions in the first run."""
    from tenant_apps.automation.models import AutomationAction, AutomationRule, AutomationRun, Segment
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind

    with tenant_context(alpha):
        existing = User.objects.filter(email__startswith="bulk").count()
        users = User.objects.bulk_create([User(email=f"bulk{i}@example.test", kind=UserKind.CLIENT, full_name=f"Bulk {i}")
                                          for i in range(existing, n)])
        ClientRecord.objects.bulk_create([ClientRecord(user=u, country="PT", owner=manager) for u in users])
        segment = Segment.objects.get_or_create(name="Portugal", defaults={
            "definition": {"match": "all", "conditions": [{"field": "country", "op": "in", "value": ["PT"]}]}})[0]
        have = AutomationRule.objects.count()
        AutomationRule.objects.bulk_create([AutomationRule(name=f"Rule {i}", trigger="no_deposit", params={"days": 30},
                                                           actions=["notify"], segment=segment)
                                            for i in range(have, n)])
        rules = list(AutomationRule.objects.order_by("id"))
        now = timezone.now()
        AutomationRun.objects.bulk_create([AutomationRun(rule=rules[i % len(rules)], started_at=now - timedelta(minutes=i),
                                                         finished_at=now, matched_count=1, actions_count=1)
                                           for i in range(AutomationRun.objects.count(), n)])
        run = AutomationRun.objects.order_by("id").first()
        clients = list(User.objects.filter(email__startswith="bulk").order_by("id"))
        AutomationAction.objects.bulk_create([AutomationAction(rule=run.rule, client=c, trigger_key=f"deposit:{c.pk}",
                                                               run=run, status="done", detected_at=now, due_at=now)
                                              for c in clients[AutomationAction.objects.count():n]])
        return segment, run


def test_each_page_makes_the_same_bounded_number_of_queries_with_1_and_200_rows(office):
    http, alpha = office["http"], office["alpha"]
    pages = lambda segment, run: ["/backoffice/automation/", "/backoffice/automation/runs/",  # noqa: E731
                                  f"/backoffice/automation/runs/{run.pk}/", "/backoffice/automation/segments/",
                                  f"/backoffice/automation/segments/{segment.pk}/",
                                  f"/backoffice/automation/rules/{run.rule_id}/",
                                  "/backoffice/automation/segments/?match=all&c0=country.in&v0=PT"]
    segment, run = _rows(alpha, 1, office["manager"])
    http.get("/backoffice/automation/")  # warm the per-session caches (branding, permissions)
    one = {url: _queries(http, url) for url in pages(segment, run)}
    segment, run = _rows(alpha, 200, office["manager"])
    many = {url: _queries(http, url) for url in pages(segment, run)}
    assert many == one
    assert max(many.values()) <= MAX_QUERIES
    detail = http.get(f"/backoffice/automation/runs/{run.pk}/")
    assert len(detail.context["actions"]) == 200 and detail.content.decode().count("deposit:") == 200
    with tenant_context(alpha):
        from tenant_apps.automation.selectors import segment_preview

        preview = segment_preview(segment.definition)
    assert preview["count"] == 200 and len(preview["clients"]) == 50


def test_a_manager_sets_the_working_hours_the_rules_wait_for(office):
    from tenant_apps.automation.models import AutomationSettings
    from tenant_apps.automation.services import working_window
    from tests.automation.conftest import next_monday_local

    http = office["http"]
    assert 'data-role="working-hours"' in http.get("/backoffice/automation/").content.decode()
    bad = http.post("/backoffice/automation/", {"action": "hours", "start_hour": "20", "end_hour": "8", "days": ["1"]})
    assert bad.status_code == 400 and "later end hour" in " ".join(bad.context["hours_form"].non_field_errors())
    assert http.post("/backoffice/automation/", {"action": "hours", "start_hour": "8", "end_hour": "20"}).status_code == 400
    with tenant_context(office["alpha"]):
        assert not AutomationSettings.objects.exists()
    ok = http.post("/backoffice/automation/", {"action": "hours", "start_hour": "8", "end_hour": "20",
                                               "days": ["1", "2", "3", "4", "5", "6"]})
    assert ok.status_code == 302
    saturday_10 = next_monday_local() + timedelta(days=5)
    with tenant_context(office["alpha"]):
        saved = AutomationSettings.objects.get()
        saturday = working_window(saturday_10)
        sunday = working_window(saturday_10 + timedelta(days=1))
    assert (saved.work_start_hour, saved.work_end_hour, saved.work_days) == (8, 20, [1, 2, 3, 4, 5, 6])
    assert saturday == (True, saturday_10)
    assert sunday == (False, saturday_10 + timedelta(days=2, hours=-2))  # Monday 08:00
