"""Global back-office search (issue 8 item 1): by name, e-mail, phone in any spelling, trading-account login and
payment reference; scoped like the client list (Sales finds only its own and its team's clients); bad input answered
with a reason; bounded results and queries; each brokerage searches its own data only."""
from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.backoffice.selectors import SEARCH_LIMIT


def found(response) -> str:
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


@pytest.mark.parametrize("query", ["Ana Lopez", "lopez", "ANA.LOPEZ@alpha", "+357 99 123456", "+357-99-123-456",
                                   "0035799123456", "99 123 456"])
def test_a_client_is_found_by_name_email_and_phone_in_any_spelling(desk, staff_http, query):
    html = found(staff_http(desk, "support").get("/backoffice/search/", {"q": query}))
    assert f'href="/backoffice/clients/{desk.client.pk}/"' in html
    assert "Bob Otherteam" not in html


def test_a_trading_account_is_found_by_its_login(desk, staff_http):
    html = found(staff_http(desk, "support").get("/backoffice/search/", {"q": str(desk.account.login)}))
    assert 'data-results="accounts"' in html and f"/backoffice/trading/{desk.account.pk}/" in html


def test_deposits_and_withdrawals_are_found_by_reference_without_amounts(desk, staff_http):
    support = staff_http(desk, "support")
    html = found(support.get("/backoffice/search/", {"q": desk.deposit.reference.lower()}))
    assert f"/backoffice/money/deposits/{desk.deposit.pk}/" in html and "1234.56" not in html
    html = found(support.get("/backoffice/search/", {"q": desk.withdrawal.reference}))
    assert f"/backoffice/money/withdrawals/{desk.withdrawal.pk}/" in html and "rejected" in html
    both = found(support.get("/backoffice/search/", {"q": "DEP-C360"}))
    assert desk.deposit.reference in both and desk.other_deposit.reference in both


def test_sales_finds_only_its_own_clients(desk, staff_http):
    sales = staff_http(desk, "sales")
    assert "Bob Otherteam" in found(staff_http(desk, "manager").get("/backoffice/search/", {"q": "Otherteam"}))
    html = found(sales.get("/backoffice/search/", {"q": "Otherteam"}))
    assert "Bob Otherteam" not in html and 'data-role="no-results"' in html
    assert "Bob Otherteam" not in found(sales.get("/backoffice/search/", {"q": "+35799765432"}))
    assert f"/backoffice/trading/{desk.other_account.pk}/" not in found(
        sales.get("/backoffice/search/", {"q": str(desk.other_account.login)}))
    assert f"/backoffice/trading/{desk.account.pk}/" in found(
        sales.get("/backoffice/search/", {"q": str(desk.account.login)}))
    # payment references are payments:view data: Sales gets no payment results even for its own client
    html = found(sales.get("/backoffice/search/", {"q": desk.deposit.reference}))
    assert 'data-results="payments"' not in html and "/backoffice/money/" not in html
    assert "Ana Lopez" in found(sales.get("/backoffice/search/", {"q": "Ana"}))


@pytest.mark.parametrize("query, status, message", [
    ("", 200, None),
    ("   ", 200, None),
    ("a", 400, "at least 2 characters"),
    ("x" * 5000, 400, "at most 100 characters"),
])
def test_bad_input_gets_a_clear_answer_and_no_search(desk, staff_http, query, status, message,
                                                     django_assert_max_num_queries):
    response = staff_http(desk, "manager").get("/backoffice/search/", {"q": query})
    assert response.status_code == status
    html = response.content.decode()
    assert "Ana Lopez" not in html and 'data-results="' not in html
    if message:
        assert 'data-role="search-error"' in html and message in html
    else:
        assert 'data-role="search-error"' not in html and 'data-role="no-results"' not in html


def test_odd_characters_are_just_text(desk, staff_http):
    manager = staff_http(desk, "manager")
    for query in ("%%", "_a", "' OR 1=1 --", "\\x00", "lo\x00pez", "99999999999999999999999"):
        assert manager.get("/backoffice/search/", {"q": query}).status_code == 200


def test_results_are_capped_per_kind_and_queries_do_not_grow(desk, staff_http, django_assert_max_num_queries):
    from tests.backoffice.conftest import make_client

    manager = staff_http(desk, "manager")
    manager.get("/backoffice/search/", {"q": "Lopez"})
    with django_assert_max_num_queries(14) as one:
        found(manager.get("/backoffice/search/", {"q": "Lopez"}))
    with tenant_context(desk.brokerage):
        for i in range(SEARCH_LIMIT * 3):
            make_client(f"lopez{i}@alpha.example.test", full_name=f"Maria Lopez {i}", team=desk.desk_a)
    with django_assert_max_num_queries(len(one.captured_queries)):
        html = found(manager.get("/backoffice/search/", {"q": "Lopez"}))
    assert len(re.findall(r'href="/backoffice/clients/\d+/"', html)) == SEARCH_LIMIT
    assert "narrow the search" in html


def test_each_brokerage_searches_its_own_clients(desk, beta_desk, staff_http):
    alpha = found(staff_http(desk, "manager").get("/backoffice/search/", {"q": "Ana Lopez"}))
    beta = found(staff_http(beta_desk, "manager").get("/backoffice/search/", {"q": "Ana Lopez"}))
    assert desk.client.email in alpha and beta_desk.client.email not in alpha
    assert beta_desk.client.email in beta and desk.client.email not in beta
    assert 'data-results="payments"' not in found(
        staff_http(desk, "manager").get("/backoffice/search/", {"q": beta_desk.deposit.reference}))


def test_the_header_carries_the_search_box(desk, staff_http):
    html = found(staff_http(desk, "sales").get("/backoffice/"))
    assert 'action="/backoffice/search/"' in html and 'name="q"' in html
