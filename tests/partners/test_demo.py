"""The demo IB programme (provisioning/demo.py): a master IB → IB → sub-IB tree, referred clients and one approved
reassignment; running it twice changes nothing."""
from __future__ import annotations

from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.partners.conftest import make_client


def test_the_demo_ib_programme_is_a_three_level_tree_with_one_approved_reassignment(db, tenants):
    from provisioning.demo import seed_demo_partners
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.partners.models import ClientAssignment, Partner, ReassignmentRequest
    from tenant_apps.partners.selectors import upline_at

    with tenant_context(tenants["alpha"]):
        sales = staff_user_create(email="demo.sales@alpha.test", password="x-Pass-2026!", role_codes=["sales"])[0]
        manager = staff_user_create(email="demo.manager@alpha.test", password="x-Pass-2026!",
                                    role_codes=["manager"])[0]
        for i in range(6):
            make_client(f"demo.client{i}@example.test")
        seed_demo_partners(slug="alpha", sales=sales, manager=manager)
        seed_demo_partners(slug="alpha", sales=sales, manager=manager)
        sub = Partner.objects.get(code="alpha-sub")
        assert [p.code for p in upline_at(sub.pk, timezone.now())] == ["alpha-ib", "alpha-master"]
        req = ReassignmentRequest.objects.get()
        assert (req.status, req.requested_by, req.decided_by, req.mode) == ("approved", sales, manager, "recalculate")
        assert ClientAssignment.objects.count() == 7  # six referred clients, one of them moved once
        assert Partner.objects.count() == 3
