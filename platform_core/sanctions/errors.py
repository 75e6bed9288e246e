"""Errors of the sanctions app: a refused list file names the file and the line."""
from __future__ import annotations


class SanctionsError(Exception):
    code = "sanctions_error"


class SanctionsFileError(SanctionsError):
    """A list file is missing or malformed; nothing was imported."""

    code = "sanctions_file_invalid"

    def __init__(self, file: str, line: int | None, message: str):
        self.file, self.line, self.message = file, line, message
        where = f"{file} line {line}" if line else file
        super().__init__(f"{where}: {message}")


class NoSanctionsList(SanctionsError):
    """Screening was asked for but no list of that source has been imported yet."""

    code = "sanctions_list_missing"
