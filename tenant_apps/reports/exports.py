"""Report files: CSV (UTF-8 with BOM, so Excel opens accents right) and XLSX (openpyxl's write-only workbook).
Amounts are written exactly as computed; XLSX cells get the currency's number format (ledger.currencies)."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from tenant_apps.ledger.currencies import currency_minor_units
from tenant_apps.reports.selectors import ReportResult

ProgressFn = Callable[[int], None]
PROGRESS_EVERY = 500


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return value


def result_csv(result: ReportResult, *, progress: ProgressFn | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.label for c in result.columns])
    for i, row in enumerate(result.rows, 1):
        writer.writerow([_cell(row[c.key]) for c in result.columns])
        if progress and i % PROGRESS_EVERY == 0:
            progress(i)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def result_xlsx(result: ReportResult, *, title: str = "Report", progress: ProgressFn | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(title or "Report")[:31].replace("/", "-"))
    sheet.append([c.label for c in result.columns])
    for i, row in enumerate(result.rows, 1):
        cells = []
        for c in result.columns:
            value = _cell(row[c.key])
            cell = WriteOnlyCell(sheet, value=value)
            if c.money and isinstance(value, Decimal):
                places = currency_minor_units(row.get("currency", "")) if row.get("currency") else 2
                cell.number_format = "#,##0" + ("." + "0" * places if places else "")
            cells.append(cell)
        sheet.append(cells)
        if progress and i % PROGRESS_EVERY == 0:
            progress(i)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
