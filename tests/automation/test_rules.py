"""Automation rules on a frozen clock moved across days: each preset fires once per trigger over several daily
evaluations, fires again only on a NEW trigger, waits for the brokerage's working hours (Asia/Nicosia) before
reaching people, logs every run — and two evaluations at the same moment act once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django_tenants.utils import tenant_context

from tests.automation.conftest import (
    client,
    deposit,
    kyc_approve,
    next_monday_local,
    staff,
    trade,
    withdraw_from_wallet,
)


def _preset(code, manager):
    from tenant_apps.automation.services import preset_enable

    return preset_enable(actor=manager, code=code)


def _evaluate(clock, at):
    from tenant_apps.automation.services import automation_evaluate

    clock.move_to(at)
    return automation_evaluate()


def _tasks(rule):
    from tenant_apps.crm.models import Task

    return list(Task.objects.filter(source=f"automation:{rule.pk}").order_by("id"))


def _messages(user, kind):
    from tenant_apps.notifications.models import Notification

    return list(Notification.objects.filter(recipient=user, kind=kind).order_by("id"))


@pytest.fixture
def desk(patient_policy, alpha):
    with tenant_context(alpha):
        return {"owner": staff("auto.owner@alpha.test"), "manager": staff("auto.manager@alpha.test", roles=("manager",))}


def test_kyc_approved_but_unfunded_for_3_days_makes_one_task_and_one_email_across_a_week(desk, alpha):
    from tenant_apps.automation.models import AutomationAction, AutomationRun

    monday = next_monday_local()
    with time_machine.travel(monday, tick=False) as clock, tenant_context(alpha):
        rule = _preset("kyc_unfunded_3d", desk["manager"])
        waiting = client("auto.kyc@example.test", owner=desk["owner"])
        kyc_approve(waiting)
        funded = client("auto.kyc.funded@example.test", owner=desk["owner"])
        kyc_approve(funded)
        deposit(funded, "200.00")
        per_day = {}
        for day in range(0, 5):  # Monday … Friday, 10:00 in Nicosia
            runs = _evaluate(clock, monday + timedelta(days=day))
            per_day[day] = (runs[0].matched_count, runs[0].actions_count, len(_tasks(rule)))
        tasks = _tasks(rule)
        messages = _messages(waiting, "automation.fund_account")
        action = AutomationAction.objects.get(rule=rule)
        run_count = AutomationRun.objects.filter(rule=rule).count()
        funded_messages = _messages(funded, "automation.fund_account")
    # not yet on Monday–Wednesday (less than 3 days), once on Thursday, never again
    assert per_day == {0: (0, 0, 0), 1: (0, 0, 0), 2: (0, 0, 0), 3: (1, 1, 1), 4: (1, 0, 1)}
    assert [(t.client_id, t.owner_id, t.title) for t in tasks] == [
        (waiting.pk, desk["owner"].pk, "Call: KYC approved, no deposit yet")]
    assert tasks[0].due_at == monday + timedelta(days=4)
    assert len(messages) == 1 and messages[0].email_wanted and messages[0].title == "Your account is ready for a first deposit"
    assert (action.client_id, action.status, action.trigger_key.startswith("kyc:")) == (waiting.pk, "done", True)
    assert funded_messages == []
    assert run_count == 5


def test_no_deposit_in_30_days_sends_one_reactivation_email_and_again_only_after_a_new_deposit(desk, alpha):
    monday = next_monday_local()
    with time_machine.travel(monday, tick=False) as clock, tenant_context(alpha):
        rule = _preset("no_deposit_30d", desk["manager"])
        quiet = client("auto.quiet@example.test", owner=desk["owner"])
        kyc_approve(quiet)
        first = deposit(quiet, "500.00")
        sent_by_day = {}
        for day in (29, 30, 31, 35):  # Tue, Wed, Thu, Mon
            _evaluate(clock, monday + timedelta(days=day))
            sent_by_day[day] = len(_messages(quiet, "automation.reactivation"))
        clock.move_to(monday + timedelta(days=36))
        second = deposit(quiet, "250.00")  # a new deposit: a new trigger 30 quiet days later
        for day in (37, 65, 66, 67):
            _evaluate(clock, monday + timedelta(days=day))
            sent_by_day[day] = len(_messages(quiet, "automation.reactivation"))
        keys = list(rule.actions_taken.order_by("id").values_list("trigger_key", flat=True))
    assert sent_by_day == {29: 0, 30: 1, 31: 1, 35: 1, 37: 1, 65: 1, 66: 2, 67: 2}
    assert keys == [f"deposit:{first.pk}", f"deposit:{second.pk}"]


def test_no_trade_in_60_days_marks_the_client_dormant_once_through_the_lifecycle(desk, alpha):
    from tenant_apps.crm.models import ClientRecord, StageTransition

    monday = next_monday_local()
    with time_machine.travel(monday, tick=False) as clock, tenant_context(alpha):
        rule = _preset("no_trade_60d", desk["manager"])
        idle = client("auto.idle@example.test", owner=desk["owner"])
        busy = client("auto.busy@example.test", owner=desk["owner"])
        for user in (idle, busy):
            kyc_approve(user)
            deposit(user, "1000.00")
            trade(user)
        clock.move_to(monday + timedelta(days=30))
        trade(busy)
        stages = {}
        for day in (59, 60, 61, 62):  # at 03:00 after day N: marking dormant reaches nobody, so it does not wait
            _evaluate(clock, monday + timedelta(days=day, hours=17))
            stages[day] = ClientRecord.objects.get(user=idle).stage
        moves = list(StageTransition.objects.filter(client=idle, to_stage="dormant").values_list("fact", flat=True))
        busy_stage = ClientRecord.objects.get(user=busy).stage
        actions = rule.actions_taken.count()
    assert stages == {59: "funded", 60: "dormant", 61: "dormant", 62: "dormant"}
    assert moves == ["automation: No trade in 60 days: mark dormant"]
    assert busy_stage == "funded" and actions == 1


def test_balance_below_threshold_makes_one_task_per_drop_below_it(desk, alpha):
    monday = next_monday_local()
    with time_machine.travel(monday, tick=False) as clock, tenant_context(alpha):
        rule = _preset("low_balance", desk["manager"])
        spender = client("auto.spender@example.test", owner=desk["owner"])
        kyc_approve(spender)
        deposit(spender, "100.00")
        counts = [len(_tasks(rule)) for _ in [_evaluate(clock, monday + timedelta(hours=1))]]
        withdraw_from_wallet(spender, "70.00")  # 30 USD left
        for day in (1, 2, 3):
            _evaluate(clock, monday + timedelta(days=day))
            counts.append(len(_tasks(rule)))
        clock.move_to(monday + timedelta(days=4))
        deposit(spender, "100.00")  # 130 USD: above again
        _evaluate(clock, monday + timedelta(days=4, hours=1))
        counts.append(len(_tasks(rule)))
        withdraw_from_wallet(spender, "120.00")  # 10 USD: a new drop below the threshold
        _evaluate(clock, monday + timedelta(days=7))
        counts.append(len(_tasks(rule)))
    assert counts == [0, 1, 1, 1, 1, 2]


def test_outside_working_hours_people_are_reached_in_the_next_window_not_at_night(desk, alpha):
    from tenant_apps.automation.models import AutomationAction

    monday = next_monday_local()
    thursday_3am = monday + timedelta(days=3) - timedelta(hours=7)
    with time_machine.travel(monday - timedelta(hours=10), tick=False) as clock, tenant_context(alpha):
        rule = _preset("kyc_unfunded_3d", desk["manager"])
        waiting = client("auto.night@example.test", owner=desk["owner"])
        kyc_approve(waiting)  # Monday 00:00: three days have passed at Thursday 00:00
        night = _evaluate(clock, thursday_3am)[0]
        deferred = AutomationAction.objects.get(rule=rule)
        at_night = (night.matched_count, night.actions_count, night.deferred_count, len(_tasks(rule)),
                    len(_messages(waiting, "automation.fund_account")), deferred.status, deferred.due_at)
        morning = _evaluate(clock, thursday_3am + timedelta(hours=7))[0]  # 10:00
        deferred.refresh_from_db()
        later = _evaluate(clock, thursday_3am + timedelta(hours=8))[0]
        result = (morning.actions_count, later.actions_count, len(_tasks(rule)),
                  len(_messages(waiting, "automation.fund_account")), deferred.status)
    assert at_night == (1, 0, 1, 0, 0, "deferred", thursday_3am + timedelta(hours=6))  # 09:00 local
    assert result == (1, 0, 1, 1, "done")


def test_a_deferred_action_is_cancelled_when_the_trigger_no_longer_holds_and_weekends_wait_for_monday(desk, alpha):
    from tenant_apps.automation.models import AutomationAction

    monday = next_monday_local()
    with time_machine.travel(monday - timedelta(days=5), tick=False) as clock, tenant_context(alpha):  # Wednesday
        rule = _preset("kyc_unfunded_3d", desk["manager"])
        waiting = client("auto.weekend@example.test", owner=desk["owner"])
        kyc_approve(waiting)
        _evaluate(clock, monday - timedelta(days=2))  # Saturday 10:00
        action = AutomationAction.objects.get(rule=rule)
        due, status = action.due_at, action.status
        clock.move_to(monday - timedelta(days=1))
        deposit(waiting, "100.00")  # funded on Sunday: the reminder no longer applies
        _evaluate(clock, monday)
        action.refresh_from_db()
        tasks = _tasks(rule)
    assert (status, due) == ("deferred", monday - timedelta(hours=1))  # Monday 09:00
    assert action.status == "cancelled" and tasks == []


def test_every_run_is_logged_with_its_counts_and_a_broken_action_is_recorded_not_fatal(desk, alpha, monkeypatch):
    from tenant_apps.automation import services
    from tenant_apps.automation.models import AutomationAction, AutomationRun

    monday = next_monday_local()
    with time_machine.travel(monday, tick=False) as clock, tenant_context(alpha):
        rule = _preset("kyc_unfunded_3d", desk["manager"])
        for i in range(3):
            kyc_approve(client(f"auto.log{i}@example.test", owner=desk["owner"]))
        real = services._task_for_owner

        def flaky(client, rule, action, *, now):
            if client.email == "auto.log1@example.test":
                raise RuntimeError("CRM unavailable")
            return real(client, rule, action, now=now)

        monkeypatch.setattr(services, "_task_for_owner", flaky)
        run = _evaluate(clock, monday + timedelta(days=3))[0]
        statuses = sorted(AutomationAction.objects.filter(rule=rule).values_list("status", flat=True))
        logged = AutomationRun.objects.get(pk=run.pk)
        tasks = _tasks(rule)
    assert (logged.matched_count, logged.actions_count, logged.deferred_count) == (3, 2, 0)
    assert logged.started_at == monday + timedelta(days=3) and logged.finished_at >= logged.started_at
    assert len(logged.errors) == 1 and "CRM unavailable" in logged.errors[0]["error"]
    assert statuses == ["done", "done", "failed"]
    assert len(tasks) == 2


def test_the_same_trigger_twice_is_refused_by_the_database(desk, alpha):
    from django.db import IntegrityError, transaction

    from tenant_apps.automation.models import AutomationAction
    from tenant_apps.automation.services import preset_enable

    with tenant_context(alpha):
        rule = preset_enable(actor=desk["manager"], code="no_deposit_30d")
        someone = client("auto.unique@example.test")
        row = {"rule": rule, "client": someone, "trigger_key": "deposit:1", "status": "done",
               "detected_at": next_monday_local(), "due_at": next_monday_local()}
        AutomationAction.objects.create(**row)
        with pytest.raises(IntegrityError), transaction.atomic():
            AutomationAction.objects.create(**row)


def test_two_workers_evaluating_at_the_same_moment_act_once(tenants, committed_db):
    from tenant_apps.automation.models import AutomationAction, AutomationRule, AutomationRun
    from tenant_apps.automation.services import preset_enable, rule_evaluate
    from tenant_apps.crm.models import CrmPolicy, Task
    from tenant_apps.identity.models import User
    from tenant_apps.notifications.models import Notification

    alpha = tenants["alpha"]
    monday = next_monday_local()
    emails = ["race.owner@alpha.test", "race.manager@alpha.test", "race.client@example.test"]
    with time_machine.travel(monday, tick=False):
        with tenant_context(alpha):
            CrmPolicy.objects.update_or_create(singleton=True, defaults={"dormant_after_days": 3650})
            owner, manager = staff(emails[0]), staff(emails[1], roles=("manager",))
            waiting = client(emails[2], owner=owner)
            kyc_approve(waiting)
            rule = preset_enable(actor=manager, code="kyc_unfunded_3d")
    barrier, outcomes = threading.Barrier(2), []

    def evaluate():
        from django.db import connection

        try:
            with tenant_context(alpha):
                barrier.wait()
                outcomes.append(rule_evaluate(rule=AutomationRule.objects.get(pk=rule.pk),
                                              now=monday + timedelta(days=3)))
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=evaluate) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with tenant_context(alpha):
            actions = AutomationAction.objects.filter(rule=rule).count()
            tasks = Task.objects.filter(source=f"automation:{rule.pk}").count()
            messages = Notification.objects.filter(recipient=waiting, kind="automation.fund_account").count()
            runs = list(AutomationRun.objects.filter(rule=rule).values_list("matched_count", "actions_count", "errors"))
        assert len(outcomes) == 2
        assert (actions, tasks, messages) == (1, 1, 1)
        assert sorted(runs) == [(1, 0, []), (1, 1, [])]
    finally:
        with tenant_context(alpha):
            AutomationRule.objects.filter(pk=rule.pk).delete()
            Task.objects.filter(client__email__in=emails).delete()
            User.objects.filter(email__in=emails).delete()
            CrmPolicy.objects.all().delete()


def test_the_evaluation_is_an_hourly_per_tenant_job():
    from tenancy.scheduler import REGISTRY
    from tenant_apps.automation import tasks

    job = REGISTRY[tasks.automation_evaluate.actor_name]
    assert job.per_tenant and job.every_s == 3600
