"""The demo commissions (provisioning/demo.py): a plan on the demo IB tree, deals on archived demo accounts, the
previous month approved into the IBs' payables and the current month accrued; running it twice changes nothing."""
from __future__ import annotations

from django_tenants.utils import tenant_context

from tests.partners.conftest import make_client


def test_the_demo_seeds_a_plan_accruals_with_overrides_and_an_approved_month_once(db, tenants):
    from provisioning.demo import seed_demo_commissions, seed_demo_partners
    from tenant_apps.commissions.models import CommissionAccrual, CommissionApproval, CommissionPlan
    from tenant_apps.identity.services import staff_user_create

    with tenant_context(tenants["alpha"]):
        sales = staff_user_create(email="cmdemo.sales@alpha.test", password="x-Pass-2026!", role_codes=["sales"])[0]
        manager = staff_user_create(email="cmdemo.manager@alpha.test", password="x-Pass-2026!",
                                    role_codes=["manager"])[0]
        finance = staff_user_create(email="cmdemo.finance@alpha.test", password="x-Pass-2026!",
                                    role_codes=["finance"])[0]
        for i in range(6):
            make_client(f"cmdemo.client{i}@example.test")
        seed_demo_partners(slug="alpha", sales=sales, manager=manager)
        seed_demo_commissions(slug="alpha", manager=manager, finance=finance)
        rows = CommissionAccrual.objects.count()
        assert rows > 0
        assert set(CommissionAccrual.objects.values_list("level", flat=True)) == {0, 1, 2}
        assert CommissionApproval.objects.count() <= 1
        seed_demo_commissions(slug="alpha", manager=manager, finance=finance)
        assert CommissionAccrual.objects.count() == rows and CommissionPlan.objects.count() == 1
