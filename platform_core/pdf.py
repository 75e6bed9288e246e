"""Branded table PDFs (client statements, IB statements): one renderer on fpdf2, the brokerage's name, colours and
logo on every page, Unicode text through a bundled TrueType font when the system has one."""
from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

log = logging.getLogger(__name__)

# DejaVu covers Latin, Greek, Cyrillic and Arabic letters; without it the core font (Latin-1 only) is used.
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_NUMERIC_TYPES = (int, float, Decimal)


def _font_paths() -> dict[str, Path] | None:
    for folder in _FONT_DIRS:
        found = {style: folder / name for style, name in _FONT_FILES.items()}
        if all(p.is_file() for p in found.values()):
            return found
    return None


def _hex_rgb(value: str, default: tuple[int, int, int]) -> tuple[int, int, int]:
    value = (value or "").strip().lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    try:
        return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)) if len(value) == 6 else default
    except ValueError:
        return default


def _text_on(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on the brand colour (relative luminance, as the themes do)."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
    return (0, 0, 0) if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else (255, 255, 255)


def cell_text(value) -> str:
    """How a value is printed in a cell: Decimals as they are (never through float), None as empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


class _BrandedPDF(FPDF):
    def __init__(self, *, brand: Mapping, title: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.brand = brand
        self.doc_title = title
        self.primary = _hex_rgb(brand.get("primary", ""), (33, 37, 41))
        self.on_primary = _text_on(self.primary)
        fonts = _font_paths()
        if fonts:
            for style, path in fonts.items():
                self.add_font("Brand", style=style, fname=str(path))
            self.family = "Brand"
        else:
            self.family = "Helvetica"
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(title)
        self.set_author(str(brand.get("name", "")))
        self.set_creator(str(brand.get("name", "")))

    def safe(self, text: str) -> str:
        if self.family == "Helvetica":  # core fonts: Latin-1 only
            return text.encode("latin-1", "replace").decode("latin-1")
        return text

    def header(self):
        self.set_fill_color(*self.primary)
        self.rect(0, 0, self.w, 22, style="F")
        x = self.l_margin
        logo = self.brand.get("logo_png")
        if logo:
            try:
                self.image(io.BytesIO(logo), x=x, y=4, h=14)
                x += 40
            except Exception:  # noqa: BLE001 - an unreadable logo never stops a statement
                log.warning("brand logo could not be placed in the PDF", exc_info=True)
        self.set_text_color(*self.on_primary)
        self.set_font(self.family, "B", 14)
        self.set_xy(x, 7)
        self.cell(0, 8, self.safe(str(self.brand.get("name", ""))))
        self.set_text_color(0, 0, 0)
        self.set_y(28)

    def footer(self):
        self.set_y(-14)
        self.set_font(self.family, "", 7)
        self.set_text_color(110, 110, 110)
        bits = [str(self.brand.get(k) or "") for k in ("legal_footer", "support_email")]
        line = " · ".join(b.replace("\n", " ") for b in bits if b)[:180]
        self.cell(0, 4, self.safe(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(0, 4, self.safe(f"{self.doc_title} — {self.page_no()}/{{nb}}"), align="R")
        self.set_text_color(0, 0, 0)


def _widths(pdf: _BrandedPDF, columns, rows, totals) -> list[float]:
    """Column widths in proportion to the longest text each holds (header included), filling the page width."""
    usable = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font(pdf.family, "", 8)
    natural = []
    for key, header in columns:
        texts = [header] + [cell_text(r.get(key)) for r in rows[:500]] + ([cell_text(totals.get(key))] if totals else [])
        natural.append(max(pdf.get_string_width(pdf.safe(t)) for t in texts) + 3)
    total = sum(natural) or 1
    return [usable * n / total for n in natural]


def render_table_pdf(*, title: str, subtitle_lines: list[str], columns: list[tuple[str, str]], rows: list[dict],
                     totals: dict | None, brand: dict) -> bytes:
    """A branded A4 document: title, subtitle lines (period, balances, ...), a table of `rows` with `columns`
    ((key, header) pairs, in order) and an optional totals row keyed like the rows. Numbers align right.

    brand: {"name", "primary" (#hex), "legal_footer", "support_email", "logo_png" (bytes, optional)} — see
    brand_current()."""
    pdf = _BrandedPDF(brand=brand, title=title)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 13)
    pdf.multi_cell(0, 7, pdf.safe(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.family, "", 9)
    for line in subtitle_lines:
        pdf.multi_cell(0, 5, pdf.safe(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    widths = _widths(pdf, columns, rows, totals)
    numeric = [any(isinstance(r.get(key), _NUMERIC_TYPES) for r in rows) or
               isinstance((totals or {}).get(key), _NUMERIC_TYPES) for key, _ in columns]

    def header_row():
        pdf.set_font(pdf.family, "B", 8)
        pdf.set_fill_color(*pdf.primary)
        pdf.set_text_color(*pdf.on_primary)
        for (_, label), width, is_num in zip(columns, widths, numeric, strict=True):
            pdf.cell(width, 6, pdf.safe(label), border=0, align="R" if is_num else "L", fill=True)
        pdf.ln(6)
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(pdf.family, "", 8)

    header_row()
    for index, row in enumerate(rows):
        if pdf.will_page_break(5):
            pdf.add_page()
            header_row()
        pdf.set_fill_color(244, 245, 247)
        for (key, _), width, is_num in zip(columns, widths, numeric, strict=True):
            text = pdf.safe(cell_text(row.get(key)))
            while text and pdf.get_string_width(text) > width - 1:
                text = text[:-1]
            pdf.cell(width, 5, text, align="R" if is_num else "L", fill=index % 2 == 1)
        pdf.ln(5)
    if not rows:
        pdf.cell(0, 6, pdf.safe("—"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if totals:
        pdf.set_font(pdf.family, "B", 8)
        pdf.set_draw_color(*pdf.primary)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        for (key, _), width, is_num in zip(columns, widths, numeric, strict=True):
            pdf.cell(width, 6, pdf.safe(cell_text(totals.get(key))), align="R" if is_num else "L")
        pdf.ln(6)
    return bytes(pdf.output())


def brand_current() -> dict:
    """The brand of the brokerage the connection is on, as render_table_pdf takes it."""
    from themes.selectors import theme_current

    theme = theme_current()
    brand = {"name": theme.portal_name, "primary": theme.primary, "legal_footer": theme.legal_footer,
             "support_email": theme.support_email, "logo_png": None}
    if theme.has_logo:
        try:
            from themes.models import Theme

            row = Theme.objects.order_by("id").first()
            if row is not None and row.logo:
                with row.logo.open("rb") as handle:
                    brand["logo_png"] = handle.read()
        except Exception:  # noqa: BLE001 - the statement goes out without a logo rather than not at all
            log.warning("brand logo could not be read", exc_info=True)
    return brand
