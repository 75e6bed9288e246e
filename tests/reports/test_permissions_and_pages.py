"""Who sees what: Sales sees the funnel (counts) and never an amount; a role with reports:view but without
clients.finance runs counts but is refused amounts; the standard reports show what the data says."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, sign_in
from tests.reports.conftest import deposit, local, make_client

OCT = {"date_from": "2026-10-01", "date_to": "2026-10-31"}
RANGE = {"from": "2026-10-01", "to": "2026-10-31"}


def test_sales_sees_the_funnel_and_never_an_amount(rep):
    from tenant_apps.reports.errors import ReportForbidden
    from tenant_apps.reports.selectors import builder_run

    with tenant_context(rep.brokerage):
        make_client("alpha", utm_source="google", stage="funded", joined=local(2026, 10, 3, 12))
        deposit(make_client("alpha"), rep.card, "1234.56", at=local(2026, 10, 5, 12))
        with pytest.raises(ReportForbidden):
            builder_run(definition={"dataset": "deposits", "dimensions": [], "measures": ["sum_amount"],
                                    "filters": OCT}, user=rep.staff["sales"])
    sales = rep.http("sales")
    index = sales.get("/backoffice/reports/")
    assert index.status_code == 200
    assert b"/backoffice/reports/funnel/" in index.content
    for hidden in (b"/backoffice/reports/money/", b"/backoffice/reports/builder/", b"/backoffice/reports/trading/"):
        assert hidden not in index.content
    funnel = sales.get("/backoffice/reports/funnel/", {**RANGE, "group": "source"})
    assert funnel.status_code == 200 and b'data-group="google"' in funnel.content
    assert b"1234.56" not in funnel.content and b"1,234.56" not in funnel.content
    for path in ("/backoffice/reports/money/", "/backoffice/reports/builder/", "/backoffice/reports/trading/",
                 "/backoffice/reports/kyc-sla/", "/backoffice/reports/dormancy/"):
        assert sales.get(path, RANGE).status_code == 403, path
    export = sales.post("/backoffice/reports/builder/", {"action": "export", "format": "csv", "dataset": "clients",
                                                        "measures": "count", **OCT})
    assert export.status_code == 403


def test_a_role_without_client_money_figures_gets_counts_but_no_amounts(rep, tenant_client):
    from tenant_apps.identity.models import Role
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.reports.models import ReportJob

    with tenant_context(rep.brokerage):
        Role.objects.create(code="analyst", name="Analyst", is_system=False,
                            permissions=["backoffice:view", "reports:view", "reports:export"])
        analyst = staff_user_create(email="analyst@alpha.test", password=PASSWORD, role_codes=["analyst"])[0]
        deposit(make_client("alpha"), rep.card, "77.70", at=local(2026, 10, 5, 12))
    http = tenant_client(rep.brokerage)
    assert sign_in(http, rep.brokerage, analyst.email).status_code == 302
    counts = http.get("/backoffice/reports/builder/", {"dataset": "deposits", "dimensions": "method",
                                                      "measures": "count", **OCT})
    assert counts.status_code == 200 and b"<td>card</td>" in counts.content
    amounts = http.get("/backoffice/reports/builder/", {"dataset": "deposits", "dimensions": "method",
                                                       "measures": ["count", "sum_amount"], **OCT})
    assert amounts.status_code == 403 and b'data-code="forbidden"' in amounts.content and b"77.70" not in amounts.content
    assert http.get("/backoffice/reports/money/", RANGE).status_code == 403
    export = http.post("/backoffice/reports/builder/", {"action": "export", "format": "csv", "dataset": "deposits",
                                                       "measures": "sum_amount", **OCT})
    assert export.status_code == 403
    with tenant_context(rep.brokerage):
        assert not ReportJob.objects.exists()


def test_the_money_report_shows_deposits_withdrawals_and_net_per_currency(rep):
    from tenant_apps.payments.models import MoneyEvent, Withdrawal
    from tenant_apps.reports.selectors import money_report

    with tenant_context(rep.brokerage):
        client = make_client("alpha", country="CY")
        deposit(client, rep.card, "500.00", at=local(2026, 10, 5, 12))
        deposit(client, rep.card, "40.00", at=local(2026, 10, 6, 12), currency="EUR")
        sent = Withdrawal.objects.create(client=client, method=rep.card, provider_code="sandbox", reference="WD-R1",
                                         amount=Decimal("120.25"), currency="USD", status="sent",
                                         created_at=local(2026, 10, 7, 9))
        MoneyEvent.objects.create(withdrawal=sent, from_status="approved", to_status="sent", client_text="Sent",
                                  at=local(2026, 10, 7, 10))
        Withdrawal.objects.create(client=client, method=rep.card, provider_code="sandbox", reference="WD-R2",
                                  amount=Decimal("99.00"), currency="USD", status="rejected",
                                  created_at=local(2026, 10, 8, 9))
        report = money_report(start=local(2026, 10, 1).date(), end=local(2026, 10, 31).date(), group="country",
                              user=rep.staff["finance"])
        assert report.totals == {
            "USD": {"deposits": Decimal("500.00"), "withdrawals": Decimal("120.25"), "net": Decimal("379.75"),
                    "deposit_count": 1, "withdrawal_count": 1},
            "EUR": {"deposits": Decimal("40.00"), "withdrawals": Decimal(0), "net": Decimal("40.00"),
                    "deposit_count": 1, "withdrawal_count": 0}}
    page = rep.http("finance").get("/backoffice/reports/money/", {**RANGE, "group": "method"})
    assert page.status_code == 200 and b"379.75" in page.content and b"report-chart-data" in page.content
    assert rep.http("finance").get("/backoffice/reports/money/", {**RANGE, "group": "planet"}).status_code == 400
    assert rep.http("finance").get("/backoffice/reports/money/", {"from": "31/10/2026"}).status_code == 400


def test_the_funnel_counts_each_stage_and_its_conversion_rate(rep):
    from tenant_apps.reports.selectors import funnel_report

    with tenant_context(rep.brokerage):
        for stage in ("registered", "kyc_approved", "funded", "active"):
            make_client("alpha", utm_source="google", stage=stage, joined=local(2026, 10, 10, 12))
        make_client("alpha", utm_source="google", stage="active", joined=local(2026, 11, 1, 0, 30))  # November
        make_client("alpha", utm_source="", stage="dormant", joined=local(2026, 10, 31, 23, 30))
        rows, total = funnel_report(start=local(2026, 10, 1).date(), end=local(2026, 10, 31).date(), group="source")
    by = {r.group: r for r in rows}
    google = by["google"]
    assert (google.registered, google.kyc_approved, google.funded, google.active) == (4, 3, 2, 1)
    assert (google.kyc_rate, google.funded_rate, google.active_rate) == (Decimal("75.0"), Decimal("50.0"),
                                                                         Decimal("25.0"))
    assert (by[""].registered, by[""].kyc_approved, by[""].funded, by[""].active) == (1, 1, 1, 0)
    assert (total.registered, total.active) == (5, 1)


def test_kyc_sla_measures_submission_to_decision_in_hours(rep):
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.reports.selectors import kyc_sla_report

    with tenant_context(rep.brokerage):
        for hours in (2, 10, 30):
            client = make_client("alpha")
            submitted = local(2026, 10, 10, 8)
            KycCase.objects.filter(client=client).update(submitted_at=submitted,
                                                         decided_at=submitted + timedelta(hours=hours))
        report = kyc_sla_report(start=local(2026, 10, 1).date(), end=local(2026, 10, 31).date())
    assert report["rows"] == [{"month": "2026-10", "decided": 3, "approved": 3, "mean": Decimal("14.0"),
                               "median": Decimal("10.0"), "p90": Decimal("26.0"), "within_rate": Decimal("66.7")}]
    page = rep.http("compliance").get("/backoffice/reports/kyc-sla/", RANGE)
    assert page.status_code == 200 and b'data-month="2026-10"' in page.content


def test_dormancy_counts_clients_going_dormant_and_coming_back(rep):
    from tenant_apps.crm.models import StageTransition
    from tenant_apps.reports.selectors import dormancy_report

    with tenant_context(rep.brokerage):
        a = make_client("alpha", stage="dormant")
        b = make_client("alpha", stage="active")
        make_client("alpha", stage="funded")
        StageTransition.objects.create(client=a, from_stage="active", to_stage="dormant", at=local(2026, 10, 3), fact="x")
        StageTransition.objects.create(client=b, from_stage="active", to_stage="dormant", at=local(2026, 10, 4), fact="x")
        StageTransition.objects.create(client=b, from_stage="dormant", to_stage="active", at=local(2026, 11, 2), fact="x")
        report = dormancy_report(start=local(2026, 10, 1).date(), end=local(2026, 11, 30).date())
    assert report["months"] == {"2026-10": {"went_dormant": 2, "reactivated": 0},
                                "2026-11": {"went_dormant": 0, "reactivated": 1}}
    assert report["by_stage"] == {"funded": 1, "active": 1, "dormant": 1}
    assert report["dormancy_rate"] == Decimal("33.3")
    page = rep.http("manager").get("/backoffice/reports/dormancy/", {"from": "2026-10-01", "to": "2026-11-30"})
    assert page.status_code == 200 and b'data-role="dormancy-rate">33.3%' in page.content


def test_trading_volume_counts_closing_deals_of_live_accounts(rep):
    page = rep.http("manager").get("/backoffice/reports/trading/", RANGE)
    assert page.status_code == 200 and b'id="by-symbol"' in page.content
