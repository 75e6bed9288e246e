"""The report builder: strict validation (a bad definition is refused with a code and the field, changing
nothing), dates in the brokerage's timezone, amounts kept per currency, and the page's bounded queries."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tests.reports.conftest import deposit, local, make_client

OCT = {"date_from": "2026-10-01", "date_to": "2026-10-31"}


def _def(**overrides):
    base = {"dataset": "deposits", "dimensions": ["country"], "measures": ["count"], "filters": dict(OCT)}
    base.update(overrides)
    return base


@pytest.mark.parametrize("definition, code, field", [
    (_def(dataset="bets"), "unknown_dataset", "dataset"),
    (_def(dimensions=["planet"]), "unknown_dimension", "dimensions"),
    (_def(dataset="clients", dimensions=["method"]), "unknown_dimension", "dimensions"),
    (_def(dimensions=["day", "month"]), "several_periods", "dimensions"),
    (_def(dimensions=["country", "country"]), "duplicate_dimension", "dimensions"),
    (_def(dimensions=["day", "country", "method", "ib"]), "too_many_dimensions", "dimensions"),
    (_def(measures=[]), "measure_required", "measures"),
    (_def(measures=["sum_volume"]), "unknown_measure", "measures"),
    (_def(filters={**OCT, "planet": ["mars"]}), "unknown_filter", "planet"),
    (_def(filters={**OCT, "symbol": ["EURUSD"]}), "unknown_filter", "symbol"),
    (_def(filters={"date_from": "2026-10-01"}), "date_required", "date_to"),
    (_def(filters={"date_from": "01/10/2026", "date_to": "2026-10-31"}), "invalid_date", "date_from"),
    (_def(filters={"date_from": "2026-10-31", "date_to": "2026-10-01"}), "invalid_range", "date_to"),
    (_def(filters={"date_from": "2000-01-01", "date_to": "2026-10-01"}), "invalid_range", "date_to"),
    (_def(filters={**OCT, "status": ["refunded"]}), "invalid_value", "status"),
    (_def(filters={**OCT, "country": ["Cyprus"]}), "invalid_value", "country"),
    (_def(filters={**OCT, "method": "card'; drop table"}), "invalid_value", "method"),
    (_def(dimensions="country;"), "unknown_dimension", "dimensions"),
    (_def(dimensions=[1]), "invalid_value", "dimensions"),
    ({"dataset": "deposits", "measures": ["count"], "filters": OCT, "sql": "x"}, "unknown_key", "sql"),
    ("deposits", "invalid_definition", ""),
])
def test_a_bad_definition_is_refused_with_its_code_and_field(definition, code, field):
    from tenant_apps.reports.definitions import definition_validate
    from tenant_apps.reports.errors import DefinitionError

    with pytest.raises(DefinitionError) as caught:
        definition_validate(definition)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert caught.value.message


def test_money_measures_are_always_grouped_by_currency_and_deposits_default_to_credited_ones():
    from tenant_apps.reports.definitions import definition_validate

    d = definition_validate(_def(measures=["count", "sum_amount"]))
    assert d.dimensions == ("country", "currency")
    assert d.filters["status"] == ("credited", "reconciled")
    assert definition_validate(_def()).dimensions == ("country",)  # counts alone: no currency needed


def test_an_unknown_dimension_is_a_400_form_error_and_saves_nothing(rep):
    from tenant_apps.reports.models import SavedReport

    http = rep.http("manager")
    response = http.get("/backoffice/reports/builder/", {"dataset": "deposits", "dimensions": "planet",
                                                        "measures": "count", **OCT})
    assert response.status_code == 400
    assert b'data-code="unknown_dimension"' in response.content and b"planet" in response.content
    response = http.post("/backoffice/reports/builder/", {"action": "save", "name": "Bad", "dataset": "deposits",
                                                         "dimensions": "planet", "measures": "count", **OCT})
    assert response.status_code == 400
    response = http.post("/backoffice/reports/builder/", {"action": "export", "format": "pdf", "dataset": "deposits",
                                                         "dimensions": "country", "measures": "count", **OCT})
    assert response.status_code == 400 and b'data-code="invalid_format"' in response.content
    with tenant_context(rep.brokerage):
        assert not SavedReport.objects.exists()
        from tenant_apps.reports.models import ReportJob
        assert not ReportJob.objects.exists()


def test_days_and_months_are_the_brokerages_not_utcs(rep):
    from tenant_apps.reports.selectors import builder_run

    with tenant_context(rep.brokerage):
        client = make_client("alpha")
        deposit(client, rep.card, "10.00", at=local(2026, 10, 31, 23, 30))  # 21:30 UTC, 31 Oct
        deposit(client, rep.card, "20.00", at=local(2026, 11, 1, 0, 30))   # 22:30 UTC, 31 Oct
        deposit(client, rep.card, "40.00", at=local(2026, 10, 1, 0, 5))    # 21:05 UTC, 30 Sep
        run = lambda dim, frm, to: {r[dim]: r["sum_amount"] for r in builder_run(  # noqa: E731
            definition={"dataset": "deposits", "dimensions": [dim], "measures": ["sum_amount"],
                        "filters": {"date_from": frm, "date_to": to}}, user=rep.staff["finance"]).rows}
        days = run("day", "2026-09-30", "2026-11-01")
        assert {d.isoformat(): v for d, v in days.items()} == {
            "2026-10-01": Decimal("40.00"), "2026-10-31": Decimal("10.00"), "2026-11-01": Decimal("20.00")}
        assert run("month", "2026-09-01", "2026-11-30") == {"2026-10": Decimal("50.00"), "2026-11": Decimal("20.00")}
        assert run("month", "2026-10-31", "2026-10-31") == {"2026-10": Decimal("10.00")}


def test_amounts_of_different_currencies_are_never_added_together(rep):
    from tenant_apps.reports.selectors import builder_run

    with tenant_context(rep.brokerage):
        client = make_client("alpha")
        deposit(client, rep.card, "10.00", at=local(2026, 10, 5, 12))
        deposit(client, rep.card, "5.50", at=local(2026, 10, 6, 12), currency="EUR")
        deposit(client, rep.card, "1200", at=local(2026, 10, 7, 12), currency="JPY")
        rows = builder_run(definition={"dataset": "deposits", "dimensions": [], "measures": ["sum_amount", "avg_amount"],
                                       "filters": OCT}, user=rep.staff["finance"]).rows
        assert {r["currency"]: (r["sum_amount"], r["avg_amount"]) for r in rows} == {
            "USD": (Decimal("10.00"), Decimal("10.00")), "EUR": (Decimal("5.50"), Decimal("5.50")),
            "JPY": (Decimal("1200"), Decimal("1200"))}
        assert str(next(r for r in rows if r["currency"] == "JPY")["avg_amount"]) == "1200"  # JPY has no cents


def test_saved_reports_are_the_owners_and_shared_ones_are_seen_by_colleagues(rep):
    from tenant_apps.reports.models import SavedReport

    finance, manager = rep.http("finance"), rep.http("manager")
    response = finance.post("/backoffice/reports/builder/", {"action": "save", "name": "Deposits by country",
                                                            "shared": "on", "dataset": "deposits",
                                                            "dimensions": "country", "measures": "count", **OCT})
    assert response.status_code == 302
    finance.post("/backoffice/reports/builder/", {"action": "save", "name": "Mine only", "dataset": "deposits",
                                                  "dimensions": "method", "measures": "count", **OCT})
    with tenant_context(rep.brokerage):
        shared = SavedReport.objects.get(name="Deposits by country")
        private = SavedReport.objects.get(name="Mine only")
        assert shared.definition["dimensions"] == ["country"] and shared.owner == rep.staff["finance"]
    page = manager.get("/backoffice/reports/").content
    assert b"Deposits by country" in page and b"Mine only" not in page
    assert manager.get(f"/backoffice/reports/builder/?saved={shared.pk}").status_code == 200
    assert manager.get(f"/backoffice/reports/builder/?saved={private.pk}").status_code == 404
    assert manager.post(f"/backoffice/reports/saved/{shared.pk}/delete/").status_code == 404  # not the owner
    assert finance.post(f"/backoffice/reports/saved/{shared.pk}/delete/").status_code == 302
    with tenant_context(rep.brokerage):
        assert not SavedReport.objects.filter(pk=shared.pk).exists()


def _bulk_deposits(rep, n: int):
    from tenant_apps.payments.models import Deposit

    client = make_client("alpha")
    start = local(2026, 1, 1, 12)
    Deposit.objects.bulk_create([
        Deposit(client=client, method=rep.card, provider_code="sandbox", reference=f"DEP-Q{i:05d}",
                amount=Decimal("10.00") + i, currency="USD", status="credited", credit_entry_id=1,
                created_at=start + timedelta(days=i)) for i in range(n)])


@pytest.mark.parametrize("n", [1, 200])
def test_the_builder_page_makes_a_bounded_number_of_queries(rep, n, django_assert_max_num_queries):
    http = rep.http("finance")
    with tenant_context(rep.brokerage):
        _bulk_deposits(rep, n)
    with django_assert_max_num_queries(16):
        response = http.get("/backoffice/reports/builder/", {"dataset": "deposits", "dimensions": ["day", "method"],
                                                            "measures": ["count", "sum_amount"],
                                                            "date_from": "2026-01-01", "date_to": "2026-12-31"})
    assert response.status_code == 200
    assert response.content.count(b"<td>card</td>") == n


@pytest.mark.parametrize("n", [1, 200])
def test_the_reports_index_makes_a_bounded_number_of_queries(rep, n, django_assert_max_num_queries):
    from tenant_apps.reports.models import ReportJob, SavedReport

    http = rep.http("finance")
    with tenant_context(rep.brokerage):
        owner = rep.staff["manager"]
        definition = {"dataset": "clients", "dimensions": ["country"], "measures": ["count"], "filters": OCT}
        SavedReport.objects.bulk_create([SavedReport(name=f"Report {i:03d}", definition=definition, owner=owner,
                                                     shared=True) for i in range(n)])
        ReportJob.objects.bulk_create([ReportJob(name=f"Job {i}", definition=definition, format="csv",
                                                 requested_by=rep.staff["finance"]) for i in range(n)])
    with django_assert_max_num_queries(16):
        response = http.get("/backoffice/reports/")
    assert response.status_code == 200
    assert response.content.count(b"data-saved=") == n


def test_the_demo_saved_reports_run_and_seeding_twice_adds_nothing(rep):
    from provisioning.demo import seed_demo_reports
    from tenant_apps.reports.models import SavedReport
    from tenant_apps.reports.selectors import builder_run

    with tenant_context(rep.brokerage):
        for _ in range(2):
            seed_demo_reports(finance=rep.staff["finance"], manager=rep.staff["manager"])
        saved = list(SavedReport.objects.order_by("name"))
        assert [(r.name, r.shared) for r in saved] == [
            ("Deposits by country and method (this month)", True), ("New clients by source per week", False)]
        for report in saved:
            assert builder_run(definition=report.definition, user=report.owner).columns
