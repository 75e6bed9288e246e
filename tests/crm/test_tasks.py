"""CRM tasks (issue 8, item 3): created by hand or by automation, completed once, audited; reminders notify the
owner exactly once when reminder_at passes (frozen clock); my-tasks page with overdue highlighting and bounded
queries; create/complete from Client 360 with clients:edit and scope."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def desk(db, tenants):
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import Team, User, UserKind
    from tenant_apps.identity.services import staff_user_create

    with tenant_context(tenants["alpha"]):
        team, other_team = Team.objects.create(name="Desk Tasks"), Team.objects.create(name="Desk Elsewhere")
        sales = staff_user_create(email="tess.sales@alpha.test", password=PASSWORD, role_codes=["sales"])[0]
        sales.team = team
        sales.save(update_fields=["team"])
        client = User.objects.create_user(email="task.client@example.test", kind=UserKind.CLIENT,
                                          full_name="Tina Client")
        ClientRecord.objects.create(user=client, owner=sales, team=team, country="CY")
        stranger = User.objects.create_user(email="task.stranger@example.test", kind=UserKind.CLIENT)
        ClientRecord.objects.create(user=stranger, team=other_team, country="CY")
    return {"sales": sales, "client": client, "stranger": stranger, "team": team}


def test_task_create_and_complete_are_audited_and_complete_only_once(desk, tenants):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.crm.models import Task
    from tenant_apps.crm.services import task_complete, task_create

    with tenant_context(tenants["alpha"]):
        task = task_create(client=desk["client"], owner=desk["sales"], title="  Call about KYC ",
                           due_at=NOW + timedelta(days=1), created_by=desk["sales"], notes="ask for POA")
        assert (task.title, task.status, task.source, task.owner_id) == ("Call about KYC", "open", "manual",
                                                                         desk["sales"].pk)
        done = task_complete(task=task, actor=desk["sales"], now=NOW)
        assert (done.status, done.completed_at) == ("done", NOW)
        with pytest.raises(ValidationError) as exc:
            task_complete(task=task.pk, actor=desk["sales"])
        assert "already closed" in str(exc.value)
        actions = list(AuditEntry.objects.filter(object_type="crm.task", object_id=str(task.pk))
                       .order_by("seq").values_list("action", "subject_id"))
        assert actions == [("crm.task_created", desk["client"].pk), ("crm.task_completed", desk["client"].pk)]
        assert Task.objects.get(pk=task.pk).status == "done"


def test_automation_task_defaults_to_the_clients_owner_and_records_its_source(desk, tenants):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.crm.services import task_create

    with tenant_context(tenants["alpha"]):
        task = task_create(client=desk["client"], owner=None, title="Unfunded 3 days",
                           due_at=NOW, source="automation:kyc-unfunded")
        entry = AuditEntry.objects.get(object_type="crm.task", object_id=str(task.pk))
    assert task.owner_id == desk["sales"].pk and task.source == "automation:kyc-unfunded"
    assert entry.actor_label == "system:automation:kyc-unfunded"


@pytest.mark.parametrize("kwargs, field", [
    ({"title": " "}, "title"),
    ({"due_at": None}, "due_at"),
    ({"source": "robot"}, "source"),
    ({"owner": "client"}, "owner"),
])
def test_bad_task_input_is_refused_with_the_field_and_creates_nothing(desk, tenants, kwargs, field):
    from tenant_apps.crm.models import Task
    from tenant_apps.crm.services import task_create

    args = {"client": desk["client"], "owner": desk["sales"], "title": "Call", "due_at": NOW, **kwargs}
    if args["owner"] == "client":
        args["owner"] = desk["client"]
    with tenant_context(tenants["alpha"]):
        with pytest.raises(ValidationError) as exc:
            task_create(**args)
        assert field in exc.value.message_dict
        assert Task.objects.count() == 0


def test_reminder_notifies_the_owner_exactly_once_when_its_time_passes(desk, tenants):
    from tenant_apps.crm.services import task_create, task_reminders_send
    from tenant_apps.notifications.models import Notification

    with tenant_context(tenants["alpha"]):
        task = task_create(client=desk["client"], owner=desk["sales"], title="Follow up deposit",
                           due_at=NOW + timedelta(hours=2), reminder_at=NOW + timedelta(hours=1))
        closed = task_create(client=desk["client"], owner=desk["sales"], title="Closed one",
                             due_at=NOW, reminder_at=NOW)
        from tenant_apps.crm.services import task_complete
        task_complete(task=closed, actor=desk["sales"])
        assert task_reminders_send(now=NOW + timedelta(minutes=59)) == 0
        assert task_reminders_send(now=NOW + timedelta(hours=1)) == 1
        assert task_reminders_send(now=NOW + timedelta(hours=1, minutes=5)) == 0
        assert task_reminders_send(now=NOW + timedelta(days=3)) == 0
        sent = list(Notification.objects.filter(recipient=desk["sales"], kind="crm.task_reminder"))
        task.refresh_from_db()
    assert len(sent) == 1 and "Follow up deposit" in sent[0].title and "Tina Client" in sent[0].body
    assert sent[0].link == f"/backoffice/clients/{desk['client'].pk}/"
    assert task.reminded_at == NOW + timedelta(hours=1)


# --- pages: my tasks, create from Client 360, complete -------------------------------------------------------

def _sales_http(tenant_client, tenants):
    return tenant_client(tenants["alpha"], "tess.sales@alpha.test")


def test_my_tasks_lists_my_open_tasks_with_overdue_ones_highlighted(desk, tenants, tenant_client):
    from tenant_apps.crm.services import task_create

    now = timezone.now()
    with tenant_context(tenants["alpha"]):
        late = task_create(client=desk["client"], owner=desk["sales"], title="Late call", due_at=now - timedelta(hours=3))
        soon = task_create(client=desk["client"], owner=desk["sales"], title="Tomorrow call",
                           due_at=now + timedelta(days=1))
        task_create(client=desk["stranger"], owner=None, title="Nobody's task", due_at=now)
    html = _sales_http(tenant_client, tenants).get("/backoffice/clients/tasks/").content.decode()
    assert html.index("Late call") < html.index("Tomorrow call") and "Nobody's task" not in html
    late_row = html.split(f'data-task="{late.pk}"', 1)[1].split("</tr>", 1)[0]
    soon_row = html.split(f'data-task="{soon.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-overdue="1"' in late_row and "overdue" in late_row
    assert "overdue" not in soon_row and "Tina Client" in soon_row


@pytest.mark.parametrize("rows", [1, 200])
def test_my_tasks_reads_a_fixed_number_of_queries(desk, tenants, tenant_client, rows, django_assert_max_num_queries):
    from tenant_apps.crm.models import Task

    with tenant_context(tenants["alpha"]):
        Task.objects.bulk_create([Task(client=desk["client"], owner=desk["sales"], title=f"T{i}",
                                       due_at=NOW + timedelta(minutes=i)) for i in range(rows)])
    sales = _sales_http(tenant_client, tenants)
    sales.get("/backoffice/clients/tasks/")
    with django_assert_max_num_queries(12):
        html = sales.get("/backoffice/clients/tasks/").content.decode()
    assert html.count("data-task=") == min(rows, 50)


def test_sales_adds_a_task_from_client_360_and_marks_it_done(desk, tenants, tenant_client):
    from tenant_apps.crm.models import Task

    sales = _sales_http(tenant_client, tenants)
    client_id = desk["client"].pk
    added = sales.post(f"/backoffice/clients/{client_id}/tasks/", {"title": "Send POA reminder",
                                                                   "due_at": "2026-12-01T10:00",
                                                                   "reminder_at": "2026-12-01T09:00"})
    assert added.status_code == 302 and added["Location"] == f"/backoffice/clients/{client_id}/"
    page = sales.get(f"/backoffice/clients/{client_id}/").content.decode()
    block = page.split('data-block="tasks"', 1)[1].split('data-block=', 1)[0]
    assert "Send POA reminder" in block and "Mark done" in block
    with tenant_context(tenants["alpha"]):
        task = Task.objects.get()
        assert (task.owner_id, task.created_by_id, task.status) == (desk["sales"].pk, desk["sales"].pk, "open")
    done = sales.post(f"/backoffice/clients/tasks/{task.pk}/complete/", {"next": f"/backoffice/clients/{client_id}/"})
    assert done.status_code == 302 and done["Location"] == f"/backoffice/clients/{client_id}/"
    again = sales.post(f"/backoffice/clients/tasks/{task.pk}/complete/")
    assert again.status_code == 400 and "already closed" in again.content.decode()
    with tenant_context(tenants["alpha"]):
        assert Task.objects.get().status == "done"


@pytest.mark.parametrize("data, message", [
    ({"title": "", "due_at": "2026-12-01T10:00"}, "This field is required"),
    ({"title": "x", "due_at": "tomorrow"}, "Enter a valid date/time"),
    ({"title": "x", "due_at": "2026-12-01T10:00", "reminder_at": "2026-12-02T10:00"}, "before the due time"),
])
def test_a_bad_task_is_a_400_with_the_reason_and_creates_nothing(desk, tenants, tenant_client, data, message):
    from tenant_apps.crm.models import Task

    response = _sales_http(tenant_client, tenants).post(f"/backoffice/clients/{desk['client'].pk}/tasks/", data)
    assert response.status_code == 400 and message in response.content.decode()
    with tenant_context(tenants["alpha"]):
        assert not Task.objects.exists()


def test_tasks_on_a_client_outside_the_writers_scope_are_a_404(desk, tenants, tenant_client):
    from tenant_apps.crm.models import Task
    from tenant_apps.crm.services import task_create

    with tenant_context(tenants["alpha"]):
        theirs = task_create(client=desk["stranger"], owner=None, title="Not yours", due_at=NOW)
    sales = _sales_http(tenant_client, tenants)
    assert sales.post(f"/backoffice/clients/{desk['stranger'].pk}/tasks/",
                      {"title": "x", "due_at": "2026-12-01T10:00"}).status_code == 404
    assert sales.post(f"/backoffice/clients/tasks/{theirs.pk}/complete/").status_code == 404
    with tenant_context(tenants["alpha"]):
        assert list(Task.objects.values_list("status", flat=True)) == ["open"]


def test_the_periodic_reminder_job_fires_once_across_runs_with_a_frozen_clock(desk, tenants):
    import time_machine

    from tenancy.scheduler import REGISTRY
    from tenant_apps.crm import tasks as crm_tasks
    from tenant_apps.crm.services import task_create
    from tenant_apps.notifications.models import Notification

    assert REGISTRY["task_reminders_send"].every_s == 60
    with tenant_context(tenants["alpha"]):
        with time_machine.travel(NOW, tick=False):
            task_create(client=desk["client"], owner=desk["sales"], title="Frozen", due_at=NOW + timedelta(days=1),
                        reminder_at=NOW + timedelta(hours=9))
        for minutes in (0, 60 * 9 - 1, 60 * 9, 60 * 9 + 1, 60 * 24 * 2):  # every run the scheduler would make
            with time_machine.travel(NOW + timedelta(minutes=minutes), tick=False):
                crm_tasks.task_reminders_send.fn()
            sent = Notification.objects.filter(recipient=desk["sales"], kind="crm.task_reminder").count()
            assert sent == (0 if minutes < 60 * 9 else 1), minutes
