"""The client's PDF statement: read back with pypdf, its opening and closing balances, every line and the totals
equal the ledger; it carries the brokerage's own name (never the other's); each client gets only their own."""
from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from tests.payments.money.conftest import fund
from tests.payments.money.test_withdrawals import act, request_withdrawal, send_and_settle

SLUGS = ["alpha", "beta"]
BRANDS = {"alpha": "Alpha Trading", "beta": "Beta Capital"}


def pdf_text(response) -> str:
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def figure(text: str, label: str) -> Decimal:
    match = re.search(rf"{label}: (-?[\d.]+)", text)
    assert match, f"{label} not in the PDF:\n{text[:1500]}"
    return Decimal(match.group(1))


def ledger_wallet(ctx):
    from tenant_apps.payments.services._flow import wallet_of

    with tenant_context(ctx.brokerage):
        account = wallet_of(client_id=ctx.client.pk, currency="USD")
        lines = list(account.lines.select_related("entry").order_by("account_seq"))
        return account, lines


@pytest.mark.parametrize("slug", SLUGS)
def test_the_pdf_statement_numbers_equal_the_ledger(money, slug):
    ctx = money[slug]
    fund(ctx, Decimal("1500.00"))
    fund(ctx, Decimal("250.50"))
    w = request_withdrawal(ctx, "400.00")
    for role in ("support", "compliance", "finance"):
        act(ctx, role, w, "approve")
    send_and_settle(ctx, w)
    account, lines = ledger_wallet(ctx)
    assert account.balance == Decimal("1350.50")

    text = pdf_text(ctx.http.get("/money/statement/", {"format": "pdf", "currency": "USD"}))
    assert BRANDS[slug] in text and BRANDS["beta" if slug == "alpha" else "alpha"] not in text
    assert figure(text, "Opening balance") == Decimal("0.00")
    assert figure(text, "Closing balance") == account.balance
    assert figure(text, "Credits") == sum(line.amount for line in lines if line.amount > 0)
    assert figure(text, "Debits") == sum(line.amount for line in lines if line.amount < 0)
    assert figure(text, "Net") == account.balance
    for line in lines:  # every ledger line, with its running balance
        assert f"{line.amount.quantize(Decimal('0.01'))} {line.balance_after.quantize(Decimal('0.01'))}" in text
        assert line.entry.description in text


def test_a_period_after_the_last_movement_opens_and_closes_at_the_balance(money):
    ctx = money["alpha"]
    fund(ctx, Decimal("300.00"))
    tomorrow = (timezone.localdate() + timezone.timedelta(days=1)).isoformat()
    text = pdf_text(ctx.http.get("/money/statement/", {"format": "pdf", "from": tomorrow}))
    assert figure(text, "Opening balance") == figure(text, "Closing balance") == Decimal("300.00")
    assert figure(text, "Net") == Decimal("0.00")


def test_a_client_without_a_wallet_gets_an_empty_statement_and_a_bad_date_is_no_error(money, tenant_client):
    from tests.payments.money.conftest import make_client

    ctx = money["beta"]
    with tenant_context(ctx.brokerage):
        newcomer = make_client("beta")
    http = tenant_client(ctx.brokerage, newcomer.email)
    text = pdf_text(http.get("/money/statement/", {"format": "pdf", "from": "2026-02-30"}))
    assert figure(text, "Closing balance") == Decimal("0.00")
    assert ctx.client.email not in text  # only their own statement
