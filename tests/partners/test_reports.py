"""Partner reports: the partner portal's monthly volume/commission series (charts + tables), rebates earned in the
Trader's Room, the commission effect in the dispute view (amounts for commissions:view only) and the IB
performance report (numbers, benchmark flags, CSV, bounded queries, bad input, two brokerages apart).

Every expected number is computed by hand from the deals below: $8 per lot to the client's IB, 10 % of it to the
parent IB (level 1)."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.commissions.conftest import World
from tests.conftest import mfa_enrol

D = Decimal


def _month_add(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _record(user, stage: str, owner=None):
    from tenant_apps.crm.models import ClientRecord

    ClientRecord.objects.update_or_create(user=user, defaults={"stage": stage, "owner": owner, "country": "CY"})


def _build(brokerage, slug: str) -> dict:
    """MA → A and B (no parent). Clients of A: c1 (all its deals with A), c3 (with A last month, moved to B from
    this month's first day, 00:00 brokerage time); c2 is B's. Deals last month and this month; commissions
    computed for both months."""
    from tenant_apps.commissions.services import commission_period_accrue
    from tenant_apps.partners.services import reassignment_approve, reassignment_request_create

    with tenant_context(brokerage):
        w = World(slug)
        now = timezone.now().astimezone(w.zone)
        this = date(now.year, now.month, 1)
        last = _month_add(this, -1)
        start = w.local(*_month_add(this, -8).timetuple()[:3])
        plan = w.plan("Std", valid_from=start, rebate="8", overrides=[(1, "percent", "10")])
        ma = w.ib("Master Al", at=start)
        a = w.ib("IB Anna", parent=ma, at=start)
        b = w.ib("IB Ben", at=start)
        for partner in (ma, a, b):
            w.on_plan(partner, plan, start)
        lm = w.local(last.year, last.month, 10, 12, 0)  # last month
        c1 = w.client("Cleo One", ib=a, at=lm - timedelta(days=3))
        c2 = w.client("Cara Two", ib=b, at=lm - timedelta(days=3))
        c3 = w.client("Cody Three", ib=a, at=lm - timedelta(days=3))
        effective = w.local(this.year, this.month, 1)
        req = reassignment_request_create(actor=w.sales, client_id=c3.pk, to_partner_id=b.pk, effective_at=effective,
                                          reason="Client asked to move", now=effective - timedelta(days=1))
        reassignment_approve(request_id=req.pk, actor=w.manager, note="ok", now=effective - timedelta(days=1))
        tm = w.local(this.year, this.month, 1, 0, 30)  # this month
        w.deal(c1, w.local(*_month_add(this, -7).timetuple()[:3], 12), "3.00")  # outside the 6 months
        w.deal(c1, lm, "2.00")
        w.deal(c1, lm + timedelta(days=1), "0.50")
        w.deal(c1, lm + timedelta(days=2), "5.00", entry=0)  # an opening deal: no volume, no commission
        w.deal(c3, lm + timedelta(hours=1), "1.25")  # with A
        w.deal(c1, tm, "1.00")
        w.deal(c3, tm, "0.75")  # with B now
        w.deal(c2, tm, "2.00")
        commission_period_accrue(period=last)
        commission_period_accrue(period=this)
        for who in (w.manager, w.sales, w.finance):
            who.refresh_from_db()
        return {"w": w, "ma": ma, "a": a, "b": b, "c1": c1, "c2": c2, "c3": c3, "this": this, "last": last,
                "brokerage": brokerage}


@pytest.fixture
def alpha(db, tenants):
    return _build(tenants["alpha"], "alpha")


# --- partner portal charts -----------------------------------------------------------------------------------

def test_monthly_series_attributes_volume_to_the_ib_at_deal_time_and_sums_its_commissions(
        alpha, django_assert_max_num_queries):
    from tenant_apps.partners.reports import monthly_series

    with tenant_context(alpha["brokerage"]):
        with django_assert_max_num_queries(3):  # volume, commissions (+ the schema's search_path)
            a = monthly_series(alpha["a"])
        ma, b = monthly_series(alpha["ma"]), monthly_series(alpha["b"])
    labels = [f"{_month_add(alpha['this'], -i):%Y-%m}" for i in range(5, -1, -1)]
    assert a["labels"] == labels
    # A: last month c1 2.00 + 0.50 and c3 1.25 (before the move); this month c1 1.00 only
    assert a["volume"] == [0, 0, 0, 0, D("3.75"), D("1.00")]
    assert a["commissions"] == {"USD": [0, 0, 0, 0, D("30.00"), D("8.00")]}
    # B: c3 0.75 (after the move) and c2 2.00 this month
    assert b["volume"] == [0, 0, 0, 0, 0, D("2.75")]
    assert b["commissions"] == {"USD": [0, 0, 0, 0, 0, D("22.00")]}
    # MA has no client of its own: no volume, 10 % of A's commission
    assert ma["volume"] == [0] * 6
    assert ma["commissions"] == {"USD": [0, 0, 0, 0, D("3.00"), D("0.80")]}


def test_the_dashboard_renders_the_chart_data_and_the_same_numbers_in_tables(alpha, tenant_client):
    page = tenant_client(alpha["brokerage"], alpha["a"].user.email).get("/partner/")
    assert page.status_code == 200
    html = page.content.decode()
    data = json.loads(re.search(r'<script id="partner-chart-data" type="application/json">(.*?)</script>', html,
                                re.S).group(1))
    assert len(data["labels"]) == 6 and data["labels"][-1] == f"{alpha['this']:%Y-%m}"
    assert [D(v) for v in data["volume"][-2:]] == [D("3.75"), D("1.00")]
    assert [D(v) for v in data["commissions"]["USD"][-2:]] == [D("30.00"), D("8.00")]
    assert "vendor/chartjs/chart.umd.min.js" in html and 'id="chart-volume"' in html
    last_row = re.search(rf'<tr data-month="{alpha["last"]:%Y-%m}"><th scope="row">[^<]+</th>'
                         r'<td class="text-end" data-volume>([^<]+)</td>', html)
    assert D(last_row.group(1)) == D("3.75")
    assert re.search(r'data-commission>30\.00<', html) and re.search(r'data-commission>8\.00<', html)


def test_an_ib_sees_its_rebates_in_the_referral_area_and_a_plain_client_sees_none(tenants, db, tenant_client):
    from tenant_apps.commissions.services import commission_period_accrue
    from tenant_apps.partners.services import client_assign
    from tests.partners.conftest import make_client, make_ib

    brokerage = tenants["alpha"]
    with tenant_context(brokerage):
        w = World("alpha")
        now = timezone.now().astimezone(w.zone)
        this = date(now.year, now.month, 1)
        start = w.local(*_month_add(this, -2).timetuple()[:3])
        ib = make_ib("trader-ib", at=start)  # an IB who is also a client of the brokerage
        w.on_plan(ib, w.plan("Std", valid_from=start, rebate="8"), start)
        referred = w.client("Rita Referred")
        client_assign(client=referred, partner=ib, actor=w.manager, at=start)
        w.deal(referred, w.local(this.year, this.month, 1, 1), "1.50")
        commission_period_accrue(period=this)
        plain = make_client("plain@alpha.example.test")
    html = tenant_client(brokerage, ib.user.email).get("/referrals/").content.decode()
    assert "Rebates earned" in html
    assert re.search(r'<tr data-currency="USD"><th scope="row">USD</th><td class="text-end" data-role="earned">'
                     r'12\.00</td>', html)
    other = tenant_client(brokerage, plain.email).get("/referrals/").content.decode()
    assert "Rebates earned" not in other and "Apply to become an IB" in other


# --- dispute view --------------------------------------------------------------------------------------------

def test_the_dispute_view_shows_the_commission_effect_per_interval_only_to_commission_readers(alpha, tenant_client):
    w, brokerage, c3 = alpha["w"], alpha["brokerage"], alpha["c3"]
    with tenant_context(brokerage):
        _record(c3, "active", owner=w.sales)
    mfa_enrol(brokerage, w.manager.email)
    html = tenant_client(brokerage, w.manager.email).get(f"/backoffice/partners/clients/{c3.pk}/").content.decode()
    assert 'id="commission-effect"' in html
    a, ma, b = alpha["a"].code, alpha["ma"].code, alpha["b"].code
    last, this = f"{alpha['last']:%Y-%m}", f"{alpha['this']:%Y-%m}"

    def effect(key):
        row = re.search(rf'<tr data-effect="{key}">(.*?)</tr>', html, re.S)
        assert row, key
        return row.group(1)

    # c3's 1.25 lots last month: $10.00 to A (interval #1) and $1.00 to MA (A's parent, upline); 0.75 lots this
    # month: $6.00 to B (interval #2)
    assert "10.00 USD" in effect(f"{last}:{a}:original") and "#1" in effect(f"{last}:{a}:original")
    assert "1.00 USD" in effect(f"{last}:{ma}:original") and "upline" in effect(f"{last}:{ma}:original")
    row = effect(f"{this}:{b}:original")
    assert "6.00 USD" in row and "#2" in row and "#1" not in row
    # Sales reads IB history (partners:view) but not commissions (commissions:view): no amounts at all
    sales_html = tenant_client(brokerage, w.sales.email).get(f"/backoffice/partners/clients/{c3.pk}/")
    assert sales_html.status_code == 200
    assert 'id="commission-effect"' not in sales_html.content.decode()
    assert "10.00 USD" not in sales_html.content.decode()


# --- IB performance report -----------------------------------------------------------------------------------

def _stages(alpha):
    """Referrals this report counts: A gets four more new clients this month (registered, KYC approved, funded,
    active) besides c1 and c3 (registered last month, active); B gets c2 (active) and, by reassignment, c3 (not a
    registration)."""
    w = alpha["w"]
    with tenant_context(alpha["brokerage"]):
        at = w.local(alpha["this"].year, alpha["this"].month, 1, 2)
        for name, stage in (("R One", "registered"), ("K Two", "kyc_approved"), ("F Three", "funded"),
                            ("A Four", "active")):
            _record(w.client(name, ib=alpha["a"], at=at), stage)
        for client in (alpha["c1"], alpha["c2"], alpha["c3"]):
            _record(client, "active")
        from tenant_apps.partners.models import PartnerPolicy

        PartnerPolicy.objects.update_or_create(singleton=True, defaults={"min_activation_rate": D("30"),
                                                                          "min_funding_rate": D("40")})


def _row(html, code):
    found = re.search(rf'<tr data-partner="{re.escape(code)}"([^>]*)>(.*?)</tr>', html, re.S)
    assert found, code
    cells = dict(re.findall(r'data-col="(\w+)">(.*?)</td>', found.group(2), re.S))
    return {"flagged": "data-flagged" in found.group(1), **{k: v.strip() for k, v in cells.items()}}


def test_the_performance_report_numbers_and_flags(alpha, tenant_client):
    _stages(alpha)
    w, brokerage = alpha["w"], alpha["brokerage"]
    mfa_enrol(brokerage, w.manager.email)
    browser = tenant_client(brokerage, w.manager.email)
    this_month = f"from={alpha['this']}&to={timezone.now().astimezone(w.zone).date()}"
    html = browser.get(f"/backoffice/partners/performance/?{this_month}").content.decode()
    a, b, ma = _row(html, alpha["a"].code), _row(html, alpha["b"].code), _row(html, alpha["ma"].code)
    # A this month: 4 registrations, 3 reached KYC (75 %), 2 funded (50 %), 1 active (25 % < 30 %: flagged)
    assert (a["registrations"], a["kyc"], a["funded"], a["active"]) == ("4", "75.0%", "50.0%", "25.0%")
    assert D(a["volume"]) == D("1.00") and a["commissions"] == "8.00 USD"
    assert a["flagged"] and "Activation 25.0% below 30.00%" in a["flags"] and "Funding" not in a["flags"]
    # B: c2 is no registration this month (last month), c3 came by reassignment: none; volume 0.75 + 2.00
    assert (b["registrations"], b["kyc"]) == ("0", "—") and D(b["volume"]) == D("2.75")
    assert b["commissions"] == "22.00 USD" and not b["flagged"]
    assert ma["registrations"] == "0" and D(ma["volume"]) == 0 and ma["commissions"] == "0.80 USD"

    two_months = f"from={alpha['last']}&to={timezone.now().astimezone(w.zone).date()}"
    html = browser.get(f"/backoffice/partners/performance/?{two_months}").content.decode()
    a, b = _row(html, alpha["a"].code), _row(html, alpha["b"].code)
    # A over both months: c1, c3 (active) + the four: 6 registrations, 5 KYC, 4 funded, 3 active (50 %)
    assert (a["registrations"], a["kyc"], a["funded"], a["active"]) == ("6", "83.3%", "66.7%", "50.0%")
    assert D(a["volume"]) == D("4.75") and a["commissions"] == "38.00 USD" and not a["flagged"]
    assert (b["registrations"], b["active"]) == ("1", "100.0%")

    csv_response = browser.get(f"/backoffice/partners/performance/?{this_month}&format=csv")
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    lines = csv_response.content.decode().splitlines()
    assert lines[0] == ("IB,Name,Status,Registrations,KYC approved %,Funded %,Active %,Volume (lots),Commissions,"
                        "Flags")
    a_line = next(line for line in lines if line.startswith(alpha["a"].code + ","))
    assert a_line.endswith(",4,75.0,50.0,25.0,1.0000,8.00 USD,Activation 25.0% below 30.00%")


def test_the_performance_report_hides_commissions_from_sales_and_refuses_bad_dates(alpha, tenant_client):
    w, brokerage = alpha["w"], alpha["brokerage"]
    sales = tenant_client(brokerage, w.sales.email)
    page = sales.get(f"/backoffice/partners/performance/?from={alpha['last']}")
    assert page.status_code == 200
    assert 'data-col="commissions"' not in page.content.decode() and "38.00" not in page.content.decode()
    assert "Commissions" not in sales.get(f"/backoffice/partners/performance/?from={alpha['last']}&format=csv"
                                          ).content.decode().splitlines()[0]
    for query, message in (("from=31/10/2026", "YYYY-MM-DD"), ("from=2026-11-02&to=2026-11-01", "before the start"),
                           ("from=2026-02-30", "YYYY-MM-DD")):
        bad = sales.get(f"/backoffice/partners/performance/?{query}")
        assert bad.status_code == 400 and message in bad.content.decode(), query
        assert 'id="performance"' not in bad.content.decode()


def test_the_benchmarks_are_set_in_the_settings_and_refused_out_of_range(alpha, tenant_client):
    from tenant_apps.partners.models import PartnerPolicy

    w, brokerage = alpha["w"], alpha["brokerage"]
    mfa_enrol(brokerage, w.manager.email)
    browser = tenant_client(brokerage, w.manager.email)
    form = {"backdate_limit_days": "31", "applications_open": "on", "min_activation_rate": "120",
            "min_funding_rate": "10"}
    assert browser.post("/backoffice/partners/settings/", form).status_code == 400
    with tenant_context(brokerage):
        assert not PartnerPolicy.objects.filter(min_funding_rate__isnull=False).exists()
    assert browser.post("/backoffice/partners/settings/", {**form, "min_activation_rate": "12.5"}).status_code == 302
    with tenant_context(brokerage):
        found = PartnerPolicy.objects.get()
        assert (found.min_activation_rate, found.min_funding_rate) == (D("12.5"), D("10"))


def test_the_performance_report_query_count_does_not_grow_with_the_number_of_ibs(tenants, db, tenant_client,
                                                                                django_assert_max_num_queries):
    from tenant_apps.partners.models import Partner

    brokerage = tenants["alpha"]
    with tenant_context(brokerage):
        w = World("alpha")
        start = w.local(2026, 1, 1)
        first = w.ib("Only One", at=start)
        w.client("Solo Client", ib=first, at=start)
    mfa_enrol(brokerage, w.manager.email)
    browser = tenant_client(brokerage, w.manager.email)
    url = "/backoffice/partners/performance/?from=2026-01-01&to=2026-12-31"
    with CaptureQueriesContext(connection) as one:
        assert browser.get(url).status_code == 200
    with tenant_context(brokerage):
        for i in range(49):
            ib = w.ib(f"Many {i}", at=start)
            w.client(f"Client {i}", ib=ib, at=start)
        assert Partner.objects.filter(status="active").count() == 50
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = browser.get(url)
    assert page.status_code == 200 and page.content.decode().count("<tr data-partner=") == 50


def test_two_brokerages_reports_are_apart(alpha, tenants, tenant_client):
    beta = _build(tenants["beta"], "beta")
    mfa_enrol(tenants["alpha"], alpha["w"].manager.email)
    mfa_enrol(tenants["beta"], beta["w"].manager.email)
    url = f"/backoffice/partners/performance/?from={alpha['last']}"
    alpha_html = tenant_client(tenants["alpha"], alpha["w"].manager.email).get(url).content.decode()
    beta_html = tenant_client(tenants["beta"], beta["w"].manager.email).get(url).content.decode()
    assert alpha["a"].code in alpha_html and beta["a"].code not in alpha_html
    assert beta["a"].code in beta_html and alpha["a"].code not in beta_html
    # the same deals in each brokerage: the same figures, from each one's own data only
    assert D(_row(beta_html, beta["a"].code)["volume"]) == D("4.75")
    assert D(_row(alpha_html, alpha["a"].code)["volume"]) == D("4.75")
    # an IB's portal shows its own brokerage's series only
    page = tenant_client(tenants["beta"], beta["a"].user.email).get("/partner/").content.decode()
    data = json.loads(re.search(r'<script id="partner-chart-data" type="application/json">(.*?)</script>', page,
                                re.S).group(1))
    assert [D(v) for v in data["commissions"]["USD"][-2:]] == [D("30.00"), D("8.00")]
