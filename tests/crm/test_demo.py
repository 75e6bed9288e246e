"""The demo's sales desk: clients in several pipeline stages, leads from the API and an import, tasks for the Sales
login (some overdue, one from automation, one done), notes and calls — quick, and only once."""
from __future__ import annotations

import random
import time

from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD


def test_the_demo_fills_the_pipeline_and_the_sales_desk_once(db, tenants):
    from provisioning.demo import seed_demo_crm, staff_email
    from tenant_apps.crm.models import ClientNote, ClientRecord, Task, TeamWorkingHours
    from tenant_apps.crm.selectors import pipeline
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.identity.services import staff_user_create

    with tenant_context(tenants["alpha"]):
        sales, manager = (staff_user_create(email=staff_email("alpha", r), password=PASSWORD, role_codes=[r])[0]
                          for r in ("sales", "manager"))
        for i in range(10):
            User.objects.create_user(email=f"demo.crm{i}@example.com", kind=UserKind.CLIENT, full_name=f"Demo {i}")
        import tenant_apps.crm.phones  # noqa: F401  (libphonenumber's data: a one-off import per process, ~1.5 s)

        started = time.monotonic()
        seed_demo_crm(slug="alpha", timezone_name="Asia/Nicosia", rng=random.Random("alpha"))
        took = time.monotonic() - started
        columns = {c["stage"]: c["count"] for c in pipeline(manager)}
        assert columns["lead"] >= 6 and sum(columns.values()) >= 16
        assert set(ClientRecord.objects.values_list("lead_source", flat=True)) >= {"api", "import", "registration"}
        open_tasks = Task.objects.filter(owner=sales, status="open")
        assert open_tasks.filter(due_at__lt=timezone.now()).count() >= 2
        assert open_tasks.filter(source__startswith="automation:").exists()
        assert Task.objects.filter(status="done").count() == 1
        assert set(ClientNote.objects.values_list("kind", flat=True)) == {"note", "call", "email"}
        assert TeamWorkingHours.objects.filter(team=User.objects.get(pk=sales.pk).team).exists()
        counts = (Task.objects.count(), ClientNote.objects.count(), ClientRecord.objects.count())
        seed_demo_crm(slug="alpha", timezone_name="Asia/Nicosia", rng=random.Random("alpha"))
        assert (Task.objects.count(), ClientNote.objects.count(), ClientRecord.objects.count()) == counts
    assert took < 2, took
