"""Issue 8 (work queues) in a real browser: a client asks for a withdrawal in the Trader's Room (one browser
context) while a Finance reviewer has the withdrawals queue open, filtered to the Support stage (another context);
the new request appears in the reviewer's queue within 10 seconds, with no reload — the queue body is polled by
htmx every 3 s at a URL that keeps the reviewer's filters.

The world (a provisioned brokerage, `manage.py runserver` on a free port against the test database, the sandbox PSP,
the trading simulator, a dramatiq worker) is the one scenario 1 uses: its fixtures are reused as they are.
The staff screen is saved to .ci/artifacts/queues/.
"""
from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, mfa_enrol, totp_code
from tests.e2e.test_scenario_1_phone import (  # noqa: F401 — the fixtures are reused by name
    CHROMIUM,
    SLUG,
    brokerage,
    no_stray_sessions,
    web_server,
    world,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium is not installed at {CHROMIUM}"),
]

ARTIFACTS = Path(django_settings.BASE_DIR) / ".ci" / "artifacts" / "queues"
CLIENT_EMAIL = "nora.queue@example.test"
REVIEWER_EMAIL = f"finance.queue@{SLUG}.test"


def _people(shop):
    """A verified, funded client (KYC approved, 500 USD credited) and a Finance reviewer with two-factor."""
    from allauth.account.models import EmailAddress
    from django.utils import timezone

    from tenant_apps.compliance.models import KycCase
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.identity.services import staff_user_create
    from tests.backoffice.conftest import credited_deposit

    with tenant_context(shop):
        client = User.objects.create_user(email=CLIENT_EMAIL, password=PASSWORD, kind=UserKind.CLIENT,
                                          full_name="Nora Queue")
        EmailAddress.objects.create(user=client, email=CLIENT_EMAIL, verified=True, primary=True)
        ClientRecord.objects.create(user=client, country="DE", stage="funded")
        KycCase.objects.create(client=client, state="approved", approved_at=timezone.now(), decided_at=timezone.now())
        credited_deposit(client, Decimal("500.00"))
        staff_user_create(email=REVIEWER_EMAIL, password=PASSWORD, role_codes=["finance"])
    mfa_enrol(shop, REVIEWER_EMAIL)
    connection.set_schema_to_public()
    return client


def _sign_in(page, base: str, email: str, *, two_factor: bool):
    page.goto(base + "/accounts/login/")
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.press('input[name="password"]', "Enter")
    page.wait_for_load_state("load")
    if two_factor:
        assert "/accounts/2fa/authenticate/" in page.url, page.url
        # a code read in the last seconds of its 30 s window may reach the server in the next one (no tolerance)
        left = 30 - time.time() % 30
        if left < 3:
            time.sleep(left + 0.2)
        page.fill('input[name="code"]', totp_code())
        page.press('input[name="code"]', "Enter")  # (the page's other button cancels the sign-in)
        page.wait_for_load_state("load")
    assert "/accounts/login/" not in page.url and "/2fa/" not in page.url, page.url


def test_a_portal_withdrawal_request_appears_in_the_open_queue_without_a_reload(world):  # noqa: F811
    from playwright.sync_api import sync_playwright

    from tenant_apps.payments.models import Withdrawal

    shop, base = world["brokerage"], world["base"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    client = _people(shop)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        desk = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                    locale="en-GB")
        try:
            reviewer = desk.new_page()
            reviewer.set_default_timeout(15_000)
            _sign_in(reviewer, base, REVIEWER_EMAIL, two_factor=True)
            reviewer.goto(base + "/backoffice/queues/withdrawals/?tab=support&assignee=unassigned")
            assert reviewer.locator("tr[data-item]").count() == 0
            polled = reviewer.locator("#queue-body").get_attribute("hx-get")
            assert polled.startswith("/backoffice/queues/withdrawals/rows/?") and "tab=support" in polled \
                and "assignee=unassigned" in polled, polled
            assert reviewer.locator("#queue-body").get_attribute("hx-trigger") == "every 3s"
            reviewer.evaluate("window.__sameDocument = 'queue page loaded once'")
            reviewer.screenshot(path=str(ARTIFACTS / "01-queue-empty.png"), full_page=True)

            trader = phone.new_page()
            trader.set_default_timeout(15_000)
            _sign_in(trader, base, CLIENT_EMAIL, two_factor=False)
            trader.goto(base + "/money/withdraw/")
            trader.fill('input[name="amount"]', "120")
            trader.fill('input[name="account"]', "DE89370400440532013000")
            trader.locator('form:has([name="amount"]) [type="submit"]').first.click()
            trader.wait_for_load_state("load")
            assert "/money/withdrawals/" in trader.url, trader.inner_text("body")[:1500]
            requested_at = time.monotonic()
            trader.screenshot(path=str(ARTIFACTS / "02-client-withdrawal-requested.png"), full_page=True)
            with tenant_context(shop):
                withdrawal = Withdrawal.objects.get(client_id=client.pk)
                assert (withdrawal.status, withdrawal.stage) == ("under_review", "support")
            connection.set_schema_to_public()

            row = reviewer.locator(f'tr[data-item="{withdrawal.pk}"]')
            row.wait_for(state="visible", timeout=10_000)
            seen_after = time.monotonic() - requested_at
            assert seen_after <= 10, seen_after
            # the same document: no navigation happened, the row arrived by the htmx refresh
            assert reviewer.evaluate("window.__sameDocument") == "queue page loaded once"
            text = row.inner_text()
            assert withdrawal.reference in text and "120.00 USD" in text and CLIENT_EMAIL in text
            assert row.locator(f'a[href="/backoffice/money/withdrawals/{withdrawal.pk}/"]').count() == 1
            assert reviewer.locator('[data-tab="support"] .badge').inner_text() == "1"  # the tab counts refresh too
            reviewer.screenshot(path=str(ARTIFACTS / "03-queue-new-withdrawal.png"), full_page=True)
            print(f"\nthe portal withdrawal appeared in the queue {seen_after:.1f} s after the request")
        finally:
            desk.close()
            phone.close()
            browser.close()
            # The ORM calls above ran in Playwright's greenlet context, on a connection of their own: close it here,
            # or the stray-session sweep kills it and the next browser test inherits a dead connection.
            connection.close()
