"""The demo's queues: KYC cases waiting at various ages (one past its SLA) and claims/assignments by demo staff."""
from __future__ import annotations

import random
import time

from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD
from tests.queues.conftest import fill, make_clients


def test_the_demo_puts_work_in_the_queues_and_claims_some_of_it_once(db, tenants):
    from provisioning.demo import seed_demo_queues, staff_email
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.queues import registry, selectors
    from tenant_apps.queues.models import QueueClaim

    with tenant_context(tenants["alpha"]):
        staff = {role: staff_user_create(email=staff_email("alpha", role), password=PASSWORD, role_codes=[role])[0]
                 for role in ("manager", "compliance")}
        make_clients(6, prefix="demo")
        deposit = fill("deposits", 1)[0]
        started = time.monotonic()
        seed_demo_queues(slug="alpha", rng=random.Random("alpha"))
        took = time.monotonic() - started
        page = selectors.queue_page(registry.get("kyc"), staff["manager"], selectors.QueueFilters())
        assert page["total"] >= 5
        assert {r.state for r in page["rows"]} >= {"breached", "ok"}
        holders = dict(QueueClaim.objects.values_list("queue", "claimed_by_id").filter(queue="deposits"))
        assert holders == {"deposits": staff["manager"].pk}
        assert QueueClaim.objects.get(queue="deposits").object_id == deposit
        kyc = list(QueueClaim.objects.filter(queue="kyc").values_list("claimed_by_id", "assigned_by_id"))
        assert sorted(kyc, key=str) == sorted([(staff["compliance"].pk, None),
                                               (staff["compliance"].pk, staff["manager"].pk)], key=str)
        assert AuditEntry.objects.filter(action__in=["queue.claimed", "queue.assigned"]).count() == 3
        seed_demo_queues(slug="alpha", rng=random.Random("alpha"))
        assert QueueClaim.objects.count() == 3
    assert took < 2, took
