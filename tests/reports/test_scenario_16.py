"""Scenario 16: staff build "deposits by country and method for a month" with the report builder, export it,
and every figure equals the ledger to the cent — the sum of the credited deposits' journal lines on the client
wallet accounts (net of fees; gross = the PSP clearing lines), computed here independently from JournalLine.
Edges are the brokerage's month (Asia/Nicosia: UTC+3 until 25 October 2026, then UTC+2); failed and rejected
deposits never count; currencies are never added together."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal

from django_tenants.utils import tenant_context
from openpyxl import load_workbook

from tests.reports.conftest import NICOSIA, deposit, local, make_client

OCTOBER = {"date_from": "2026-10-01", "date_to": "2026-10-31"}


def _seed(rep):
    cy, de, jp = (make_client("alpha", country=c) for c in ("CY", "DE", "JP"))
    card, crypto, finance = rep.card, rep.crypto, rep.staff["finance"]
    # inside October (local): the first minutes (still 30 September in UTC) and the last half hour
    deposit(cy, card, "100.00", at=local(2026, 10, 1, 0, 10))
    deposit(cy, card, "250.55", at=local(2026, 10, 15, 12, 0), fee="7.52")
    deposit(cy, crypto, "0.01", at=local(2026, 10, 20, 9, 0))
    deposit(de, card, "1000.01", at=local(2026, 10, 31, 23, 30))
    deposit(de, crypto, "333.33", at=local(2026, 10, 2, 8, 0), fee="3.33")
    deposit(cy, card, "70.10", at=local(2026, 10, 3, 8, 0), currency="EUR")  # EUR: its own row
    deposit(jp, card, "15000", at=local(2026, 10, 4, 8, 0), currency="JPY")  # 0 decimal places
    # outside October (local), though inside it in UTC or next to it
    deposit(cy, card, "9.99", at=local(2026, 9, 30, 23, 50))     # 20:50 UTC on 30 September
    deposit(de, card, "8.88", at=local(2026, 11, 1, 0, 30))      # 22:30 UTC on 31 October!
    # in October but never money in the books
    deposit(cy, card, "500.00", at=local(2026, 10, 10, 10, 0), outcome="failed")
    deposit(de, card, "600.00", at=local(2026, 10, 11, 10, 0), outcome="rejected", reviewer=finance)


def _ledger_side():
    """{(country, method, currency): (net on wallets, gross from the PSP clearing)} straight from JournalLine,
    for the deposit entries whose deposit was credited in October, brokerage time."""
    from tenant_apps.ledger.models import AccountKind, JournalLine
    from tenant_apps.payments.models import Deposit, MoneyEvent

    lines = (JournalLine.objects.filter(entry__kind="deposit.credited", entry__object_type="payments.deposit")
             .select_related("entry", "account"))
    credited_at = dict(MoneyEvent.objects.filter(to_status="credited").values_list("deposit_id", "at"))
    deposits = {d.pk: d for d in Deposit.objects.select_related("method", "client__client_record")}
    totals = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for line in lines:
        d = deposits[int(line.entry.object_id)]
        when = credited_at[d.pk].astimezone(NICOSIA)
        if (when.year, when.month) != (2026, 10):
            continue
        key = (d.client.client_record.country, d.method.code, line.currency)
        if line.account.kind == AccountKind.CLIENT_WALLET:
            totals[key][0] += line.amount
        elif line.account.kind == AccountKind.PSP_CLEARING:
            totals[key][1] -= line.amount
    return {k: (net, gross) for k, (net, gross) in totals.items()}


DEFINITION = {"dataset": "deposits", "dimensions": ["country", "method"], "measures": ["count", "sum_amount", "sum_net"],
              "filters": OCTOBER}


def test_deposits_by_country_and_method_for_a_month_reconcile_to_the_ledger_to_the_cent(rep):
    from tenant_apps.reports.selectors import builder_run
    from tenant_apps.reports.services import report_job_request, report_job_run

    manager = rep.staff["manager"]
    with tenant_context(rep.brokerage):
        _seed(rep)
        ledger = _ledger_side()
        result = builder_run(definition=DEFINITION, user=manager)
        built = {(r["country"], r["method"], r["currency"]): (r["sum_net"], r["sum_amount"], r["count"])
                 for r in result.rows}
        # the independent ledger figures, written out: fees leave the wallet figure, EUR and JPY stand alone
        assert ledger == {
            ("CY", "card", "USD"): (Decimal("343.03"), Decimal("350.55")),
            ("CY", "crypto", "USD"): (Decimal("0.01"), Decimal("0.01")),
            ("DE", "card", "USD"): (Decimal("1000.01"), Decimal("1000.01")),
            ("DE", "crypto", "USD"): (Decimal("330.00"), Decimal("333.33")),
            ("CY", "card", "EUR"): (Decimal("70.10"), Decimal("70.10")),
            ("JP", "card", "JPY"): (Decimal("15000"), Decimal("15000")),
        }
        assert {k: v[:2] for k, v in built.items()} == ledger
        assert built[("CY", "card", "USD")][2] == 2  # the failed one and September's are not counted
        assert built[("DE", "card", "USD")][2] == 1  # November's (22:30 UTC on 31 October) and the rejected one

        for fmt in ("csv", "xlsx"):
            job = report_job_request(user=manager, definition=DEFINITION, format=fmt, name="Deposits October")
            job = report_job_run(job_id=job.pk)
            assert job.status == "done" and job.progress == 100 and job.row_count == 6
            header, rows = _parse(fmt, bytes(job.content))
            assert header == ["Country", "Payment method", "Currency", "Number of deposits", "Amount paid (gross)",
                              "Credited to wallets (net of fees)"]
            exported = {(r[0], r[1], r[2]): (Decimal(str(r[5])), Decimal(str(r[4]))) for r in rows}
            assert exported == ledger, fmt


def _parse(fmt: str, content: bytes):
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(content), read_only=True).active
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return rows[0], rows[1:]
