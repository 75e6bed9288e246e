"""i18n fixtures: compiled catalogues (a fresh clone has only the .po files; `make messages` compiles them, and
so does this fixture when pytest is run directly), and a portal client with realistic data."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"


def catalogues_compile() -> None:
    """.po → .mo where the .mo is missing or older (babel's pure-Python compiler; the same output as msgfmt)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in LOCALE.glob("*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as f:
            write_mo(f, catalog)
    from django.utils.translation import trans_real

    trans_real._translations = {}  # forget catalogues loaded before the compile
    trans_real._default = None


@pytest.fixture(scope="session", autouse=True)
def _catalogues_compiled():
    catalogues_compile()
