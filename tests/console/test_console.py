"""The operator console as operators use it: sign-in, the brokerage list with counts and health, provisioning a
brokerage through the real worker, and status changes with their audit trail."""
import re
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from provisioning.models import ProvisioningJob
from tenancy.models import Brokerage, Domain, PlatformAuditEvent
from tenancy.services import brokerage_change_status
from tenancy.tasks import sessions_purge_expired
from tenancy.workers import send_to_tenant, skipped_by_tenant
from tenant_apps.identity.models import User, UserKind
from tests.conftest import OPERATOR_EMAIL, PASSWORD, host_of
from tests.console.pages import alerts, brokerage_table, field_errors, flash_messages, parse
from tests.console.support import footprint, operator

HX = {"HTTP_HX_REQUEST": "true"}


def make_clients(brokerage, n: int) -> None:
    with tenant_context(brokerage):
        for i in range(n):
            User.objects.create_user(email=f"trader{i}@{brokerage.slug}.test", password=PASSWORD, kind=UserKind.CLIENT)


def user_counts(brokerage) -> tuple[int, int]:
    with tenant_context(brokerage):
        return (User.objects.filter(kind=UserKind.CLIENT).count(), User.objects.filter(kind=UserKind.STAFF).count())


def new_brokerage_form(**overrides) -> dict[str, str]:
    data = {"name": "Nova FX", "slug": "nova-fx", "admin_email": "owner@nova.test", "jurisdiction": "fca",
            "theme_preset": "crimson", "timezone": "Europe/London", "language": "en", "custom_domains": "",
            "legal_entity_name": ""}
    return {**data, **overrides}


def card_text(content: bytes, title: str) -> str:
    for card in parse(content).find_all("div", class_="card-body"):
        if card.text.startswith(title):
            return card.text
    raise AssertionError(f"no card titled {title!r}")


def follow_messages(client: Client, response) -> list[str]:
    assert response.status_code == 302, response.content[:300]
    return flash_messages(client.get(response["Location"]).content)


# --- sign-in and who gets in ------------------------------------------------------------------

def test_login_page_offers_the_operator_sign_in_form_without_tenant_branding(db, tenants, platform_client):
    response = platform_client.get("/login/")
    assert response.status_code == 200
    page = parse(response.content)
    assert page.find("input", name="username") is not None and page.find("input", name="password") is not None
    assert page.find("input", name="csrfmiddlewaretoken") is not None
    assert "Operator sign-in" in page.text
    assert b"Alpha Trading" not in response.content and b"Beta Capital" not in response.content


def test_an_operator_signs_in_with_email_and_password_and_lands_on_the_dashboard(db, tenants, platform_client):
    response = platform_client.post("/login/", {"username": OPERATOR_EMAIL, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert platform_client.get("/").status_code == 200


def test_a_brokerage_admins_credentials_do_not_open_the_console(db, tenants, platform_client):
    response = platform_client.post("/login/", {"username": "admin@alpha.test", "password": PASSWORD})
    assert response.status_code == 200
    assert any("correct" in a for a in alerts(response.content)), alerts(response.content)
    assert platform_client.get("/")["Location"] == "/login/?next=/"


def test_a_public_user_who_is_not_an_operator_gets_403_everywhere_and_changes_nothing(db, tenants, platform_client):
    visitor = User.objects.create_user(email="visitor@platform.test", password=PASSWORD, kind=UserKind.CLIENT)
    platform_client.force_login(visitor)
    job = ProvisioningJob.objects.filter(slug="alpha").first()
    for path in ("/", "/brokerages/new/", "/brokerages/alpha/", f"/jobs/{job.pk}/"):
        response = platform_client.get(path)
        assert response.status_code == 403, path
        assert b"for platform operators only" in response.content
    response = platform_client.post("/brokerages/alpha/suspend/", {"reason": "not mine to suspend"})
    assert response.status_code == 403
    response = platform_client.post("/brokerages/new/", new_brokerage_form())
    assert response.status_code == 403
    assert Brokerage.objects.get(slug="alpha").status == "active"
    assert not ProvisioningJob.objects.filter(slug="nova-fx").exists()


def test_anonymous_visitors_are_redirected_to_the_login_page(db, tenants, platform_client):
    assert platform_client.get("/")["Location"] == "/login/?next=/"
    assert platform_client.get("/brokerages/alpha/")["Location"] == "/login/?next=/brokerages/alpha/"


# --- the dashboard ------------------------------------------------------------------------------

def test_dashboard_lists_every_brokerage_with_status_primary_domain_and_user_counts(operator_client, tenants):
    alpha, beta = tenants["alpha"], tenants["beta"]
    clients_before, _ = user_counts(alpha)
    make_clients(alpha, 2)
    response = operator_client.get("/")
    assert response.status_code == 200
    rows = brokerage_table(response.content)
    # Real brokerages only: never the platform row, the template or spare schemas.
    assert set(rows) == set(Brokerage.objects.brokerages().values_list("slug", flat=True))
    assert {"alpha", "beta"} <= set(rows)
    name, status, domains, clients, staff = rows["alpha"][:5]
    assert name == "Alpha Trading alpha" and status == "Active" and domains == "alpha.localhost"
    assert int(clients) == clients_before + 2 == user_counts(alpha)[0]
    assert int(staff) == user_counts(alpha)[1] >= 1
    assert rows["beta"][:2] == ["Beta Capital beta", "Active"]
    assert (int(rows["beta"][3]), int(rows["beta"][4])) == user_counts(beta)


def test_dashboard_health_cards_count_brokerages_queued_messages_per_tenant_and_spares(operator_client, tenants, broker):
    send_to_tenant(sessions_purge_expired, tenants["alpha"].schema_name)
    response = operator_client.get("/")
    page = parse(response.content)
    assert int(page.find(data_testid="total").text) == Brokerage.objects.brokerages().count()
    assert card_text(response.content, "Queued messages").startswith("Queued messages 1 ")
    assert "no heartbeat" in card_text(response.content, "Workers alive")
    assert card_text(response.content, "Spare schemas").startswith(
        f"Spare schemas {Brokerage.objects.filter(kind='spare').count()} ")
    rows = brokerage_table(response.content)
    queued = {slug: rows[slug][7].split("oldest")[0].strip() for slug in ("alpha", "beta")}  # "1" + "oldest N s"
    assert queued == {"alpha": "1", "beta": "0"}


def test_dashboard_shows_a_running_worker_as_alive(operator_client, tenants, worker):
    deadline = time.monotonic() + 5
    while True:
        text = card_text(operator_client.get("/").content, "Workers alive")
        if "no heartbeat" not in text or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "no heartbeat" not in text and not text.startswith("Workers alive 0")


def test_htmx_refresh_returns_only_the_brokerage_table(operator_client, tenants):
    response = operator_client.get("/", **HX)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith("<div class=\"table-responsive\">")
    assert "<html" not in content and "Workers alive" not in content and "Platform audit" not in content
    assert {"alpha", "beta"} <= set(brokerage_table(content))


def test_dashboard_filters_by_status_and_searches_name_and_slug(operator_client, tenants):
    brokerage_change_status(brokerage_id=tenants["beta"].pk, action="suspend", actor=operator(), reason="audit")

    def slugs(query: str, **headers) -> set[str]:
        return set(brokerage_table(operator_client.get(f"/?{query}", **headers).content)) & {"alpha", "beta"}

    assert slugs("status=suspended") == {"beta"}
    assert slugs("status=active") == {"alpha"}
    assert slugs("q=alp") == {"alpha"}
    assert slugs("q=CAPITAL") == {"beta"}  # the name, case-insensitively
    assert slugs("q=bet&status=active") == set()
    assert slugs("status=suspended", **HX) == {"beta"}
    assert slugs("status=bogus") == {"alpha", "beta"}  # an unknown status is ignored, not an error
    empty = operator_client.get("/?q=no-such-brokerage")
    assert brokerage_table(empty.content) == {} and b"No brokerages match" in empty.content


def test_dashboard_live_refresh_sends_the_filter_the_operator_chose(operator_client, tenants):
    page = parse(operator_client.get("/?status=active&q=alp").content)
    poller = page.find(id="brokerage-table")
    assert "every" in poller.attrs["hx-trigger"]
    # The refresh must carry the inputs' current values; a URL frozen at page load would undo a later filter.
    assert "?" not in poller.attrs["hx-get"]
    included = [s.strip() for s in poller.attrs.get("hx-include", "").split(",") if s.strip()]
    assert sorted(page.find(id=s.lstrip("#")).attrs["name"] for s in included) == ["q", "status"]
    assert page.find("input", id="q").attrs["value"] == "alp"


# --- provisioning from the console ----------------------------------------------------------------

INVALID_INPUTS = [
    pytest.param({"slug": "www"}, "slug", "'www' is reserved by the platform; choose another slug.", id="reserved-slug"),
    pytest.param({"slug": "alpha"}, "slug", "A brokerage with the slug 'alpha' already exists.", id="duplicate-slug"),
    pytest.param({"custom_domains": "bad..domain"}, "custom_domains",
                 "'bad..domain' is not a valid domain name: label '' may hold only a-z, 0-9 and inner hyphens, "
                 "1-63 characters.", id="bad-domain"),
    pytest.param({"name": "N" * 121}, "name", "The name is 121 characters long; at most 120 are allowed.", id="long-name"),
    pytest.param({"timezone": "Mars/Olympus"}, "timezone",
                 "Select a valid choice. Mars/Olympus is not one of the available choices.", id="unknown-timezone"),
    pytest.param({"admin_email": "not-an-email"}, "admin_email", "'not-an-email' is not a valid e-mail address.",
                 id="bad-email"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), INVALID_INPUTS)
def test_invalid_brokerage_form_shows_the_specific_error_and_creates_nothing(operator_client, tenants, overrides,
                                                                              field, message):
    before = footprint()
    response = operator_client.post("/brokerages/new/", new_brokerage_form(**overrides))
    assert response.status_code == 400
    assert field_errors(response.content) == {field: [message]}
    assert footprint() == before
    # What the operator typed is kept, so they fix one field instead of starting over.
    assert parse(response.content).find("input", name="admin_email").attrs["value"] == overrides.get(
        "admin_email", "owner@nova.test")


def test_invalid_brokerage_form_reports_every_problem_at_once(operator_client, tenants):
    before = footprint()
    response = operator_client.post("/brokerages/new/", new_brokerage_form(
        name="N" * 121, slug="www", admin_email="nope", custom_domains="ok.example.com\nbad..domain"))
    assert response.status_code == 400
    assert set(field_errors(response.content)) == {"name", "slug", "admin_email", "custom_domains"}
    assert footprint() == before


def test_valid_brokerage_form_queues_a_job_and_redirects_to_its_page(operator_client, tenants):
    response = operator_client.post("/brokerages/new/", new_brokerage_form())
    job = ProvisioningJob.objects.get(slug="nova-fx")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == "queued" and job.source == "console" and job.requested_by == operator()
    assert [s.status for s in job.steps.all()] == ["pending"] * 10
    assert not Brokerage.objects.filter(slug="nova-fx").exists()  # nothing is built until a worker runs the job
    assert PlatformAuditEvent.objects.filter(action="provisioning.requested", brokerage_slug="nova-fx",
                                             actor=operator()).exists()
    page = operator_client.get(response["Location"])
    assert page.status_code == 200
    progress = parse(page.content).find_all(id="job-progress")
    assert len(progress) == 1  # one element, one poller
    assert progress[0].attrs["data-job-status"] == "queued" and "hx-get" in progress[0].attrs
    assert "Waiting for a worker" in progress[0].text


def test_job_page_partial_is_only_the_progress_card_with_its_status(operator_client, tenants):
    done = ProvisioningJob.objects.filter(slug="alpha", status="succeeded").first()
    response = operator_client.get(f"/jobs/{done.pk}/", **HX)
    content = response.content.decode()
    assert response.status_code == 200 and "<html" not in content
    root = parse(content).find(id="job-progress")
    assert content.lstrip().startswith('<div id="job-progress"')
    assert root.attrs["data-job-status"] == "succeeded"
    assert "hx-get" not in root.attrs  # a finished job stops polling
    assert [li.attrs["data-status"] for li in root.find_all("li")] == ["succeeded"] * 10


def test_job_page_of_an_unknown_job_is_404(operator_client):
    assert operator_client.get("/jobs/00000000-0000-0000-0000-000000000000/").status_code == 404


def _provisioned_cleanup(slug: str) -> None:
    connection.set_schema_to_public()
    from platform_core.redis import key, redis_client
    from provisioning.schemas import drop_schema

    schema = slug.replace("-", "_")
    with schema_context(schema):
        cache.delete_many(["theme:v1", "activity-mark"])
    redis_client().hdel(key("skipped"), schema)
    ProvisioningJob.objects.filter(slug=slug).delete()
    PlatformAuditEvent.objects.filter(brokerage_slug=slug).delete()
    Domain.objects.filter(tenant__slug=slug).delete()
    Brokerage.objects.filter(slug=slug).delete()
    drop_schema(schema)


def test_a_vendor_provisions_a_brokerage_from_the_console_and_it_goes_live(committed_db, tenants, worker):
    """Scenario 17 through the console: provision, the portal answers on its domain, suspend takes it offline."""
    slug = "orbit-fx"
    console = Client(HTTP_HOST=settings.PLATFORM_DOMAIN)
    console.force_login(operator())
    try:
        response = console.post("/brokerages/new/", new_brokerage_form(
            name="Orbit Markets", slug=slug, admin_email="Owner@Orbit.test", theme_preset="emerald"))
        assert response.status_code == 302
        job_url = response["Location"]
        deadline = time.monotonic() + 60
        while True:
            status = parse(console.get(job_url, **HX).content).find(id="job-progress").attrs["data-job-status"]
            if status in ("succeeded", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        page = console.get(job_url)
        assert status == "succeeded", alerts(page.content)
        portal_url = f"http://{slug}.{settings.PLATFORM_DOMAIN}:{settings.PLATFORM_PORT}/"
        assert f'href="{portal_url}"' in page.content.decode()
        invite = parse(page.content).find("code", class_="user-select-all").text
        assert re.fullmatch(re.escape(portal_url) + r"accounts/password/reset/key/[0-9a-z]+-.+/", invite), invite
        assert "owner@orbit.test" in parse(page.content).text

        orbit = Client(HTTP_HOST=f"{slug}.{settings.PLATFORM_DOMAIN}")
        home = orbit.get("/")
        assert home.status_code == 200
        assert b"Orbit Markets" in home.content and b"Alpha Trading" not in home.content
        set_password = orbit.get(invite.removeprefix(portal_url[:-1]), follow=True)
        assert set_password.status_code == 200 and parse(set_password.content).find("input", type="password")

        # Its people live in its own schema only; the console counts them where they belong.
        for other in tenants.values():
            with tenant_context(other):
                assert not User.objects.filter(email="owner@orbit.test").exists()
            assert b"Orbit" not in Client(HTTP_HOST=host_of(other)).get("/").content
        assert brokerage_table(console.get(f"/?q={slug}").content)[slug][3:5] == ["0", "1"]

        # Suspending it from the console takes the portal and its workers offline.
        response = console.post(f"/brokerages/{slug}/suspend/", {"reason": "KYC of the broker lapsed"})
        assert follow_messages(console, response) == ["Orbit Markets: suspend done."]
        offline = orbit.get("/")
        assert offline.status_code == 503 and b"temporarily unavailable" in offline.content
        send_to_tenant(sessions_purge_expired, slug.replace("-", "_"))
        deadline = time.monotonic() + 10
        while skipped_by_tenant().get(slug.replace("-", "_"), 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert skipped_by_tenant().get(slug.replace("-", "_"), 0) == 1
    finally:
        console.logout()
        _provisioned_cleanup(slug)


# --- one brokerage: detail and status changes --------------------------------------------------

def test_brokerage_detail_shows_domains_counts_health_and_the_allowed_actions(operator_client, tenants, broker):
    send_to_tenant(sessions_purge_expired, tenants["alpha"].schema_name)
    make_clients(tenants["alpha"], 1)
    response = operator_client.get("/brokerages/alpha/")
    assert response.status_code == 200
    page = parse(response.content)
    domains = card_text(response.content, "Domains")
    assert domains.startswith("Domains alpha.localhost primary")
    clients, staff = user_counts(tenants["alpha"])
    assert f"Clients {clients} · Staff {staff}" in domains
    assert page.find(data_testid="queued").text == "1" and page.find(data_testid="dead").text == "0"
    actions = [form.attrs["action"] for form in page.find_all("form") if "/brokerages/alpha/" in form.attrs["action"]]
    assert actions == ["/brokerages/alpha/suspend/", "/brokerages/alpha/archive/"]
    # The live health panel refreshes on its own; its partial is the panel only.
    partial = operator_client.get("/brokerages/alpha/", **HX)
    assert b"<html" not in partial.content and parse(partial.content).find(data_testid="queued").text == "1"


def test_brokerage_detail_of_an_unknown_or_non_brokerage_slug_is_404(operator_client, tenants):
    assert operator_client.get("/brokerages/no-such-broker/").status_code == 404
    assert operator_client.get("/brokerages/platform/").status_code == 404  # the public row is not a brokerage


def test_suspend_without_a_reason_is_refused_and_changes_nothing(operator_client, tenants):
    events = PlatformAuditEvent.objects.count()
    response = operator_client.post("/brokerages/alpha/suspend/", {"reason": "   "})
    assert follow_messages(operator_client, response) == ["A reason is required to suspend a brokerage."]
    assert Brokerage.objects.get(slug="alpha").status == "active"
    assert PlatformAuditEvent.objects.count() == events
    assert Client(HTTP_HOST=host_of(tenants["alpha"])).get("/").status_code == 200


def test_suspend_with_a_reason_takes_the_portal_offline_and_is_audited(operator_client, tenants):
    response = operator_client.post("/brokerages/alpha/suspend/", {"reason": "Unpaid platform invoice"})
    assert follow_messages(operator_client, response) == ["Alpha Trading: suspend done."]
    alpha = Brokerage.objects.get(slug="alpha")
    assert (alpha.status, alpha.status_reason) == ("suspended", "Unpaid platform invoice")
    event = PlatformAuditEvent.objects.filter(brokerage=alpha).first()
    assert (event.actor, event.actor_label, event.action, event.old_value, event.new_value, event.reason,
            event.source_ip) == (operator(), OPERATOR_EMAIL, "brokerage.suspend", "active", "suspended",
                                 "Unpaid platform invoice", "127.0.0.1")
    detail = operator_client.get("/brokerages/alpha/").content
    assert any("Unpaid platform invoice" in alert for alert in alerts(detail))  # the reason, in plain sight
    assert f"{OPERATOR_EMAIL} · brokerage.suspend active → suspended — “Unpaid platform invoice”" in parse(detail).text
    assert [f.attrs["action"] for f in parse(detail).find_all("form") if "/brokerages/alpha/" in f.attrs["action"]] == [
        "/brokerages/alpha/resume/", "/brokerages/alpha/archive/"]
    portal = Client(HTTP_HOST=host_of(alpha))
    page = portal.get("/")
    assert page.status_code == 503 and page["Retry-After"] == "300"
    assert b"Alpha Trading is temporarily unavailable" in page.content
    api = portal.get("/api/v1/brokerage/")
    assert api.status_code == 503 and api.json()["code"] == "brokerage_unavailable"


def test_resume_brings_a_suspended_brokerage_back_online(operator_client, tenants):
    brokerage_change_status(brokerage_id=tenants["alpha"].pk, action="suspend", actor=operator(), reason="check")
    response = operator_client.post("/brokerages/alpha/resume/", {"reason": ""})
    assert follow_messages(operator_client, response) == ["Alpha Trading: resume done."]
    assert Brokerage.objects.get(slug="alpha").status == "active"
    event = PlatformAuditEvent.objects.filter(brokerage_slug="alpha").first()
    assert (event.action, event.old_value, event.new_value, event.actor) == (
        "brokerage.resume", "suspended", "active", operator())
    assert Client(HTTP_HOST=host_of(tenants["alpha"])).get("/").status_code == 200


def test_archive_closes_the_brokerage_for_good(operator_client, tenants):
    response = operator_client.post("/brokerages/alpha/archive/", {"reason": "Broker wound down"})
    assert follow_messages(operator_client, response) == ["Alpha Trading: archive done."]
    assert Brokerage.objects.get(slug="alpha").status == "archived"
    detail = operator_client.get("/brokerages/alpha/").content
    assert "No status change is possible from here." in parse(detail).text
    page = Client(HTTP_HOST=host_of(tenants["alpha"])).get("/")
    assert page.status_code == 410 and b"Beta Capital" not in page.content
    response = operator_client.post("/brokerages/alpha/resume/", {"reason": ""})
    assert follow_messages(operator_client, response) == ["Cannot resume 'alpha': it is archived."]
    assert Brokerage.objects.get(slug="alpha").status == "archived"


def test_an_action_not_allowed_from_the_current_status_is_refused_with_a_clear_message(operator_client, tenants):
    events = PlatformAuditEvent.objects.count()
    response = operator_client.post("/brokerages/alpha/resume/", {"reason": "why not"})
    assert follow_messages(operator_client, response) == ["Cannot resume 'alpha': it is active."]
    assert Brokerage.objects.get(slug="alpha").status == "active"
    assert PlatformAuditEvent.objects.count() == events


@pytest.mark.parametrize("action", ["activate", "delete", "drop-schema"])
def test_actions_the_console_does_not_offer_are_404(operator_client, tenants, action):
    response = operator_client.post(f"/brokerages/alpha/{action}/", {"reason": "try it"})
    assert response.status_code == 404
    assert Brokerage.objects.get(slug="alpha").status == "active"


def test_status_changes_need_a_post(operator_client, tenants):
    assert operator_client.get("/brokerages/alpha/suspend/?reason=x").status_code == 405
    assert Brokerage.objects.get(slug="alpha").status == "active"


def test_console_refuses_a_status_change_without_a_csrf_token(db, tenants):
    client = Client(HTTP_HOST=settings.PLATFORM_DOMAIN, enforce_csrf_checks=True)
    client.force_login(operator())
    response = client.post("/brokerages/alpha/suspend/", {"reason": "forged from another site"})
    assert response.status_code == 403
    assert Brokerage.objects.get(slug="alpha").status == "active"


def test_the_dashboard_shows_each_brokerages_trading_sync_health(db, tenants, operator_client):
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from tenant_apps.brokerage.models import TradingServerConfig
    from tenant_apps.trading.models import SyncState

    with tenant_context(tenants["alpha"]):
        SyncState.objects.create(server=TradingServerConfig.objects.get(code="mt5-sim"),
                                 last_success_at=timezone.now() - timezone.timedelta(minutes=5),
                                 unreachable_since=timezone.now())
    with tenant_context(tenants["beta"]):
        SyncState.objects.create(server=TradingServerConfig.objects.get(code="mt5-sim"),
                                 last_success_at=timezone.now() - timezone.timedelta(seconds=40))
    page = operator_client.get("/", HTTP_HX_REQUEST="true").content.decode()
    alpha_row = page[page.index('data-slug="alpha"'):page.index('data-slug="beta"')]
    beta_row = page[page.index('data-slug="beta"'):]
    assert "unreachable since" in alpha_row
    assert "unreachable" not in beta_row and " s ago" in beta_row
