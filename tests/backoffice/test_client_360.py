"""Client 360 (issue 8 item 1, scenario 15): one page per client whose blocks each role receives exactly as the
permission matrix grants; Sales never receives a money figure or a document; another team's client is a 404; the
page's query count does not grow with the client's history."""
from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.backoffice.selectors import BLOCK_RULES
from tenant_apps.identity.permissions import permission_key, role_grants
from tests.backoffice.conftest import FIGURES, STAFF

ALL_BLOCKS = set(BLOCK_RULES)
# The decision, spelled out (the test below also derives it from the matrix: the two must agree).
CRM = {"tasks", "notes", "tickets"}  # crm tasks, notes/call log, support tickets: every staff reader of the client
EXPECTED = {
    "sales": {"profile", "trading", "ib_history"} | CRM,
    "support": {"profile", "kyc", "trading", "transactions", "messages"} | CRM,
    "compliance": {"profile", "kyc", "documents", "trading", "finance", "transactions", "messages", "audit"} | CRM,
    "finance": {"profile", "trading", "finance", "transactions", "ib_history", "messages"} | CRM,
    "manager": ALL_BLOCKS,
    "super_admin": {"profile", "kyc", "trading", "finance", "transactions", "ib_history", "messages", "audit"} | CRM,
}


def blocks_in(html: str) -> set[str]:
    return set(re.findall(r'data-block="([a-z_]+)"', html))


def from_matrix(role: str) -> set[str]:
    grants = role_grants(role)
    return {name for name, rules in BLOCK_RULES.items() if any(permission_key(*r) in grants for r in rules)}


@pytest.mark.parametrize("role", STAFF)
def test_each_role_sees_exactly_the_blocks_the_matrix_grants(desk, staff_http, role):
    page = staff_http(desk, role).get(f"/backoffice/clients/{desk.client.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert blocks_in(html) == EXPECTED[role] == from_matrix(role)
    assert "Ana Lopez" in html and 'data-role="stage"' in html


@pytest.mark.parametrize("role", ["sales", "support"])
def test_roles_without_client_finance_receive_no_money_figure_anywhere_on_the_page(desk, staff_http, role):
    html = staff_http(desk, role).get(f"/backoffice/clients/{desk.client.pk}/").content.decode()
    assert [f for f in FIGURES if f in html] == []
    assert "All balances" not in html
    if role == "support":  # statuses and reasons instead: the rejected withdrawal and why
        assert desk.withdrawal.reference in html and "holder name does not match" in html
        assert "Your account is verified" in html and "deposit.credited" in html  # the money title is withheld


def test_sales_receives_no_document_kyc_case_message_or_audit_entry(desk, staff_http):
    html = staff_http(desk, "sales").get(f"/backoffice/clients/{desk.client.pk}/").content.decode()
    for secret in ("Passport", "kyc/c360-passport", "/backoffice/kyc/", "Your account is verified",
                   "Called the client about", desk.deposit.reference, desk.withdrawal.reference):
        assert secret not in html
    # what Sales does get: the trading account's status and the IB relationship
    assert str(desk.account.login) in html and "Ivan Broker" in html


def test_finance_sees_every_figure_of_the_client(desk, staff_http):
    html = staff_http(desk, "finance").get(f"/backoffice/clients/{desk.client.pk}/").content.decode()
    for figure in ("1234.56", "321.09", "77.70", "4567.89", "4600.12"):
        assert figure in html, figure
    assert "1234.56 USD credited to your wallet" in html
    wallet = html.split('data-block="finance"', 1)[1].split("data-block=", 1)[0]
    assert "1234.56" in wallet and "All balances" in wallet  # the wallet the credited deposit filled


def test_documents_and_audit_timeline_reach_compliance(desk, staff_http):
    html = staff_http(desk, "compliance").get(f"/backoffice/clients/{desk.client.pk}/").content.decode()
    assert "Passport" in html and "/backoffice/kyc/documents/" in html
    assert "client.note_added" in html and "Called the client about the rejected withdrawal" in html
    assert "deposit.credited" in html  # the credit the PSP callback made is on the client's timeline


def test_sales_cannot_open_another_teams_client_and_teammates_can_open_theirs(desk, staff_http):
    sales = staff_http(desk, "sales")
    assert sales.get(f"/backoffice/clients/{desk.other.pk}/").status_code == 404
    assert sales.get("/backoffice/clients/999999/").status_code == 404
    assert staff_http(desk, "support").get(f"/backoffice/clients/{desk.other.pk}/").status_code == 200


def test_two_brokerages_each_show_only_their_own_clients_data(desk, beta_desk, staff_http):
    for mine, theirs in ((desk, beta_desk), (beta_desk, desk)):
        html = staff_http(mine, "manager").get(f"/backoffice/clients/{mine.client.pk}/").content.decode()
        assert mine.client.email in html and theirs.client.email not in html
        assert str(mine.account.login) in html and str(theirs.account.login) not in html
        assert mine.deposit.reference in html and theirs.deposit.reference not in html


def test_a_non_staff_user_and_a_client_are_refused(desk, tenant_client):
    page = tenant_client(desk.brokerage, desk.client.email).get(f"/backoffice/clients/{desk.client.pk}/")
    assert page.status_code == 403


def _grow_history(desk, n: int) -> None:
    """n more deposits, withdrawals and audit entries on the fixture client."""
    from tenant_apps.audit.services import audit_record
    from tenant_apps.notifications.models import Notification
    from tenant_apps.payments.models import Deposit, PaymentMethod, Withdrawal

    with tenant_context(desk.brokerage):
        card = PaymentMethod.objects.get(code="card")
        Deposit.objects.bulk_create([
            Deposit(client=desk.client, method=card, provider_code=card.provider.code, amount=Decimal("10.00") + i,
                    reference=f"DEP-G{uuid.uuid4().hex[:10]}", currency="USD", status="failed",
                    failure_message="Card declined") for i in range(n)])
        Withdrawal.objects.bulk_create([
            Withdrawal(client=desk.client, method=card, provider_code=card.provider.code, amount=Decimal("5.00") + i,
                       reference=f"WD-G{uuid.uuid4().hex[:10]}", currency="USD", status="cancelled")
            for i in range(n)])
        Notification.objects.bulk_create([
            Notification(recipient=desk.client, kind="message", category="account", title=f"Hello {i}",
                         dedupe_key=f"grow-{uuid.uuid4().hex}") for i in range(n)])
        for i in range(n):
            audit_record(action="client.viewed", object_type="identity.user", object_id=desk.client.pk,
                         reason=f"look {i}", actor=desk.staff["support"])


QUERY_BOUND = 23  # 20 today: session, user, roles, MFA, branding, then one query per block


@pytest.mark.parametrize("rows", [1, 200])
def test_the_page_reads_a_fixed_number_of_queries_whatever_the_history(desk, staff_http, rows,
                                                                       django_assert_max_num_queries):
    _grow_history(desk, rows)
    manager = staff_http(desk, "manager")
    manager.get(f"/backoffice/clients/{desk.client.pk}/")  # warm the session and per-process caches
    with django_assert_max_num_queries(QUERY_BOUND):
        page = manager.get(f"/backoffice/clients/{desk.client.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and blocks_in(html) == ALL_BLOCKS
    assert html.count("<tr><td>") <= 200  # every block is capped, not the whole history
    assert "look 0" in html if rows == 1 else "look 0" not in html  # the newest audit entries come first


def test_the_selector_returns_only_permitted_blocks(desk):
    from tenant_apps.backoffice.selectors import client_360

    with tenant_context(desk.brokerage):
        sales_view = client_360(desk.staff["sales"], desk.client.pk)
        assert set(sales_view["blocks"]) == {"trading", "ib_history", "tasks", "notes", "tickets"}
        assert sales_view["amounts"] is False
        assert all("money" not in row for row in sales_view["blocks"]["trading"]["rows"])
        assert client_360(desk.staff["sales"], desk.other.pk) is None
        finance_view = client_360(desk.staff["finance"], desk.client.pk)
        assert finance_view["blocks"]["trading"]["rows"][0]["money"]["balance"] == Decimal("4567.89")
        kinds = {row.kind for row in finance_view["blocks"]["transactions"]["rows"]}
        assert kinds == {"deposit", "withdrawal", "adjustment"}


def test_the_query_count_is_the_same_for_a_short_and_a_long_history(desk, staff_http):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    manager = staff_http(desk, "manager")
    manager.get(f"/backoffice/clients/{desk.client.pk}/")
    counts = []
    for grow in (1, 199):
        _grow_history(desk, grow)
        with CaptureQueriesContext(connection) as captured:
            assert manager.get(f"/backoffice/clients/{desk.client.pk}/").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1], counts


def test_the_clients_tickets_are_on_the_page_and_found_by_number(desk, staff_http, beta_desk):
    from tenant_apps.support.services import ticket_open

    with tenant_context(desk.brokerage):
        ticket = ticket_open(client=desk.client, subject="Where is my withdrawal?", body="Sent on Monday.")
        other = ticket_open(client=desk.other, subject="Other team's question", body="x")
    support = staff_http(desk, "support")
    html = support.get(f"/backoffice/clients/{desk.client.pk}/").content.decode()
    block = html[html.index('data-block="tickets"'):]
    assert f'data-ticket="{ticket.pk}"' in block and "Where is my withdrawal?" in block and ticket.number in block
    assert f'data-ticket="{other.pk}"' not in html
    for query in (ticket.number, ticket.number.lower(), f"t{ticket.pk}"):
        found = support.get("/backoffice/search/", {"q": query}).content.decode()
        assert 'data-results="tickets"' in found and f"/backoffice/support/{ticket.pk}/" in found, query
    # Sales reads only its own and its team's clients' tickets, in search as on the page
    sales = staff_http(desk, "sales")
    assert f"/backoffice/support/{other.pk}/" not in sales.get("/backoffice/search/", {"q": other.number}).content.decode()
    # another brokerage's staff never find it
    beta = staff_http(beta_desk, "support")
    assert 'data-results="tickets"' not in beta.get("/backoffice/search/", {"q": ticket.number}).content.decode()
