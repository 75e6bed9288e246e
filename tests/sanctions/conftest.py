"""Fixtures of the sanctions tests: the committed extract, the full published list when present."""
from __future__ import annotations

from pathlib import Path

import pytest

EXTRACT_DIR = Path(__file__).resolve().parents[1] / "data" / "ofac_extract"
# The full 2023-12-28 publication lives beside the repository (../shared/data/ofac), not in it.
FULL_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ofac"


@pytest.fixture
def extract_dir() -> Path:
    return EXTRACT_DIR


@pytest.fixture
def full_dir() -> Path:
    if not (FULL_DIR / "sdn.csv").is_file():
        pytest.skip(f"the full OFAC SDN files are not at {FULL_DIR} (they ship in shared/, beside the repository)")
    return FULL_DIR


@pytest.fixture
def extract_list(db):
    """The committed extract imported as the current OFAC SDN version (inside the test's transaction)."""
    from platform_core.sanctions.services import sanctions_list_import

    return sanctions_list_import(directory=EXTRACT_DIR).sanctions_list


@pytest.fixture
def extract_index(extract_list):
    from platform_core.sanctions.screening import current_index

    lst, index = current_index()
    assert lst.pk == extract_list.pk
    return index
