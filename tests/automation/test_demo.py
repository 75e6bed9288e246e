"""The demo seeding of automation: presets enabled, two segments, a run log — quickly, and only once."""
import time

from django_tenants.utils import tenant_context

from tests.automation.conftest import staff


def test_the_demo_enables_the_four_presets_saves_two_segments_and_logs_three_evaluations(tenants, db):
    from provisioning.demo import seed_demo_automation
    from tenant_apps.automation.models import AutomationRule, AutomationRun, Segment

    with tenant_context(tenants["alpha"]):
        manager = staff("demo.automation@alpha.test", roles=("manager",))
        started = time.monotonic()
        seed_demo_automation(manager=manager)
        took = time.monotonic() - started
        seed_demo_automation(manager=manager)  # again: nothing more
        presets = sorted(AutomationRule.objects.filter(enabled=True).values_list("preset", flat=True))
        segments = sorted(Segment.objects.values_list("name", flat=True))
        runs = AutomationRun.objects.count()
    assert presets == ["kyc_unfunded_3d", "low_balance", "no_deposit_30d", "no_trade_60d"]
    assert segments == ["High-value clients", "Verified, never funded"]
    assert runs == 12 and took < 2
