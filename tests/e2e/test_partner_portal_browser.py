"""The partner portal in a real headless Chromium: an IB with referred clients who traded in two months signs in,
and the dashboard's Chart.js charts draw exactly the months, lots and commissions the database holds (read from the
live chart objects, not the HTML); the marketing materials page shows the broker's banner, loaded as an image.
Phone (390×844) and desktop (1366×900) screenshots go to .ci/artifacts/partners/."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD
from tests.e2e.test_scenario_1_phone import (  # noqa: F401 — the fixtures are reused by name
    CHROMIUM,
    brokerage,
    no_stray_sessions,
    web_server,
    world,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium is not installed at {CHROMIUM}"),
]

ARTIFACTS = Path(django_settings.BASE_DIR) / ".ci" / "artifacts" / "partners"


def _programme(shop):
    """An IB on a $6/lot plan with a sub-IB override, two referred clients who traded in October and November,
    the two months accrued, and one banner among the marketing materials. Returns the IB's e-mail and the
    series the dashboard must draw."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone
    from PIL import Image

    from tenant_apps.commissions.services import commission_period_accrue
    from tenant_apps.partners.reports import monthly_series
    from tenant_apps.partners.services import material_upload
    from tests.commissions.conftest import World

    with tenant_context(shop):
        w = World("phone-e2e")
        start = w.local(2026, 9, 1)
        plan = w.plan("Browser plan", valid_from=start, rebate="6", overrides=[(1, "percent", "10")])
        master = w.ib("Master Marta", at=start)
        ib = w.ib("Ivo Browser", parent=master, at=start)
        for partner in (master, ib):
            w.on_plan(partner, plan, start)
        ann, bob = w.client("Ann Referred", ib=ib, at=start), w.client("Bob Referred", ib=ib, at=start)
        w.deal(ann, w.local(2026, 10, 6, 10), "2.00")
        w.deal(bob, w.local(2026, 10, 20, 15), "0.50")
        w.deal(ann, w.local(2026, 11, 3, 9), "1.25")
        for month in (10, 11):
            commission_period_accrue(period=w.local(2026, month, 1).date())
        out = io.BytesIO()
        Image.new("RGBA", (300, 250), (10, 120, 200, 200)).save(out, "PNG")
        material_upload(actor=w.manager, title="Square banner", uploaded=SimpleUploadedFile("b.png", out.getvalue()))
        series = monthly_series(ib, now=timezone.now())
        email = ib.user.email
        from allauth.account.models import EmailAddress

        EmailAddress.objects.create(user=ib.user, email=email, verified=True, primary=True)
    connection.set_schema_to_public()
    return email, series


def test_the_partner_dashboard_charts_draw_the_databases_figures_and_materials_load(world):  # noqa: F811
    from playwright.sync_api import sync_playwright

    shop, base = world["brokerage"], world["base"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    email, series = _programme(shop)
    assert series["labels"][-2:] == ["2026-10", "2026-11"]
    assert series["volume"][-2:] == [Decimal("2.50"), Decimal("1.25")]
    assert series["commissions"] == {"USD": [Decimal(0)] * 4 + [Decimal("15.00"), Decimal("7.50")]}

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            for name, viewport, mobile in (("phone", {"width": 390, "height": 844}, True),
                                           ("desktop", {"width": 1366, "height": 900}, False)):
                context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile, locale="en-GB")
                page = context.new_page()
                page.set_default_timeout(15_000)
                page.goto(base + "/accounts/login/")
                page.fill('input[name="login"]', email)
                page.fill('input[name="password"]', PASSWORD)
                page.press('input[name="password"]', "Enter")
                page.wait_for_load_state("load")
                page.goto(base + "/partner/")
                assert page.url.endswith("/partner/"), page.url
                page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-volume'))"
                                       " && Chart.getChart(document.getElementById('chart-commissions'))")
                drawn = page.evaluate("""() => {
                    const v = Chart.getChart(document.getElementById('chart-volume'));
                    const c = Chart.getChart(document.getElementById('chart-commissions'));
                    return {labels: v.data.labels, volume: v.data.datasets[0].data,
                            commissions: Object.fromEntries(c.data.datasets.map(d => [d.label, d.data])),
                            width: document.getElementById('chart-volume').getBoundingClientRect().width};
                }""")
                assert drawn["labels"] == series["labels"]
                assert drawn["volume"] == [float(v) for v in series["volume"]]
                assert drawn["commissions"] == {"USD": [float(v) for v in series["commissions"]["USD"]]}
                assert 0 < drawn["width"] <= viewport["width"]  # the chart fits the screen
                page.screenshot(path=str(ARTIFACTS / f"{name}-dashboard.png"), full_page=True)

                page.goto(base + "/partner/materials/")
                image = page.locator("#materials img").first
                image.wait_for()
                page.wait_for_function("() => { const i = document.querySelector('#materials img');"
                                       " return i && i.complete && i.naturalWidth === 300; }")
                assert page.locator("#materials").inner_text().count("Square banner") == 1
                page.screenshot(path=str(ARTIFACTS / f"{name}-materials.png"), full_page=True)
                context.close()
        finally:
            browser.close()
