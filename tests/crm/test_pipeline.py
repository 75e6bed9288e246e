"""The lead pipeline (issue 8, item 3): one column per lifecycle stage with its count and newest cards (owner, age,
source), filters by owner, team, source and country, Sales scoped to its own and its team's clients, and a
query count that does not grow with the number of clients."""
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.crm.conftest import client_user


@pytest.fixture
def board(sales_desk):
    now = timezone.now()
    with tenant_context(sales_desk.brokerage):
        lara, dino = sales_desk.latam_sales, sales_desk.duty_sales
        made = {
            "lead_import": client_user("p.lead@example.test", owner=lara, team=sales_desk.latam, stage="lead",
                                       lead_source="import", utm_source="expo", name="Lia Lead",
                                       stage_changed_at=now - timedelta(days=3)),
            "reg_ib": client_user("p.reg@example.test", owner=lara, team=sales_desk.latam, stage="registered",
                                  ref_code="IB-77", name="Rafa Reg", country="CO"),
            "funded": client_user("p.funded@example.test", owner=lara, team=sales_desk.latam, stage="funded",
                                  name="Fina Funded"),
            "other_team": client_user("p.other@example.test", owner=dino, team=sales_desk.duty, stage="lead",
                                      lead_source="api", name="Otto Other", country="CY"),
        }
    return made


def _column(html: str, stage: str) -> str:
    return html.split(f'data-stage="{stage}"', 1)[1].split("</section>", 1)[0]


def _count(html: str, stage: str) -> int:
    return int(_column(html, stage).split('data-role="count">', 1)[1].split("<", 1)[0])


def test_columns_count_each_stage_and_show_owner_age_and_source(board, sales_desk, http):
    html = http(sales_desk.brokerage, "admin@alpha.test").get("/backoffice/clients/pipeline/").content.decode()
    assert [_count(html, s) for s in ("lead", "registered", "kyc_pending", "kyc_approved", "funded", "active",
                                      "dormant")] == [2, 1, 0, 0, 1, 0, 0]
    lead = _column(html, "lead")
    assert "Lia Lead" in lead and "lara.latam@alpha.test" in lead and "3 days in stage" in lead
    assert "CSV import · expo" in lead and "Otto Other" in lead and "API" in lead
    assert "IB IB-77" in _column(html, "registered")


def test_sales_sees_only_its_own_and_its_teams_clients(board, sales_desk, http):
    html = http(sales_desk.brokerage, "lara.latam@alpha.test").get("/backoffice/clients/pipeline/").content.decode()
    assert _count(html, "lead") == 1 and "Otto Other" not in html and "Lia Lead" in html
    assert "Showing your and your team" in html


@pytest.mark.parametrize("query, expected", [
    ("source=ib", {"Rafa Reg"}),
    ("source=import", {"Lia Lead"}),
    ("source=api", {"Otto Other"}),
    ("country=co", {"Rafa Reg"}),
    ("owner={dino}", {"Otto Other"}),
    ("team={latam}", {"Lia Lead", "Rafa Reg", "Fina Funded"}),
    ("owner=abc&team=-1&source=bogus", {"Lia Lead", "Rafa Reg", "Fina Funded", "Otto Other"}),  # ignored, not a 500
])
def test_filters_narrow_every_column(board, sales_desk, http, query, expected):
    query = query.format(dino=sales_desk.duty_sales.pk, latam=sales_desk.latam.pk)
    response = http(sales_desk.brokerage, "admin@alpha.test").get(f"/backoffice/clients/pipeline/?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    names = {"Lia Lead", "Rafa Reg", "Fina Funded", "Otto Other"}
    assert {n for n in names if n in html} == expected


@pytest.mark.parametrize("rows", [1, 200])
def test_the_pipeline_reads_a_fixed_number_of_queries_whatever_the_number_of_clients(
        sales_desk, http, rows, django_assert_max_num_queries):
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind

    with tenant_context(sales_desk.brokerage):
        users = User.objects.bulk_create([User(email=f"bulk{i}@example.test", kind=UserKind.CLIENT,
                                               full_name=f"Bulk {i}") for i in range(rows)])
        ClientRecord.objects.bulk_create([ClientRecord(user=u, owner=sales_desk.latam_sales, team=sales_desk.latam,
                                                       stage="lead", country="MX") for u in users])
    admin = http(sales_desk.brokerage, "admin@alpha.test")
    admin.get("/backoffice/clients/pipeline/")  # warm the session and per-process caches
    with django_assert_max_num_queries(12):
        html = admin.get("/backoffice/clients/pipeline/").content.decode()
    assert _count(html, "lead") == rows
    assert _column(html, "lead").count("data-client=") == min(rows, 10)
