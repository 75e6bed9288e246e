"""Reader of the OFAC SDN "legacy CSV" set (sdn.csv, alt.csv, add.csv, optional sdn_comments.csv).

Strict on shape, lenient on bytes: no header; quoted text fields with doubled quotes; the unquoted token
`-0- ` is null; a trailing DOS EOF byte (0x1A) ends each file; files are ASCII but newer downloads may be
UTF-8 (or cp1252), so bytes are decoded by the first codec that accepts them all. Any malformed row
refuses the whole set with an error naming the file and line: the reader touches no database, the
importer (services.py) writes only what it returns.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from calendar import monthrange
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from platform_core.sanctions.countries import country_code
from platform_core.sanctions.errors import SanctionsFileError

NULL = "-0-"
EOF_MARKER = "\x1a"
SDN_FILE, ALT_FILE, ADD_FILE, COMMENTS_FILE = "sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"
SDN_FIELDS, ALT_FIELDS, ADD_FIELDS, COMMENTS_FIELDS = 12, 5, 6, 2
SDN_TYPES = {"individual": "individual", "vessel": "vessel", "aircraft": "aircraft", "": "entity"}
ALT_TYPES = {"aka", "fka", "nka"}
ENCODINGS = ("utf-8", "cp1252", "latin-1")  # latin-1 accepts every byte: the last resort never fails


@dataclass(slots=True)
class SdnRecord:
    line: int
    ent_num: int
    name: str
    entity_type: str
    programs: list[str]
    title: str
    call_sign: str
    vessel_type: str
    tonnage: str
    gross_registered_tonnage: str
    vessel_flag: str
    vessel_owner: str
    remarks: str
    dates_of_birth: list[dict] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)
    nationality_codes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AliasRecord:
    ent_num: int
    alt_num: int | None
    alt_type: str
    name: str
    remarks: str
    is_weak: bool


@dataclass(slots=True)
class AddressRecord:
    ent_num: int
    add_num: int
    address: str
    city: str
    country: str
    remarks: str


@dataclass
class OfacSet:
    entries: list[SdnRecord]
    aliases: list[AliasRecord]  # strong (alt.csv) first, then weak (from remarks)
    addresses: list[AddressRecord]
    files: dict[str, dict]  # file name → {"sha256", "bytes", "rows", "encoding"}

    @property
    def checksums(self) -> dict[str, str]:
        return {name: meta["sha256"] for name, meta in sorted(self.files.items())}


# --- reading rows ---------------------------------------------------------------------------------

def decode(data: bytes) -> tuple[str, str]:
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any byte")  # pragma: no cover


def _clean(value: str) -> str:
    value = value.strip()
    return "" if value == NULL else value


def read_rows(name: str, data: bytes, n_fields: int) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, cleaned fields) of one legacy-CSV file; raise SanctionsFileError on any bad row."""
    text, _ = decode(data)
    if text.startswith("\ufeff"):
        text = text[1:]
    tail = text.rstrip()
    if tail.endswith(EOF_MARKER):
        text = tail[:-1]
    if EOF_MARKER in text:
        line = text.count("\n", 0, text.index(EOF_MARKER)) + 1
        raise SanctionsFileError(name, line, "EOF marker (0x1A) before the end of the file")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = f" in the record running to line {reader.line_num}" if reader.line_num > start else ""
            raise SanctionsFileError(name, start, f"malformed CSV ({exc}){end}") from None
        line, start = start, reader.line_num + 1
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        if len(row) != n_fields:
            raise SanctionsFileError(name, line, f"expected {n_fields} fields, found {len(row)}")
        yield line, [_clean(v) for v in row]


def _int(name: str, line: int, column: str, value: str, *, required: bool = True) -> int | None:
    if not value and not required:
        return None
    if not value.isdigit():
        raise SanctionsFileError(name, line, f"{column} must be a whole number, found {value or 'nothing'!r}")
    return int(value)


# --- remarks: dates of birth, nationalities, weak aliases --------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_DATE = re.compile(r"^(?:(\d{1,2}) )?(?:([A-Za-z]{3}) )?(\d{4})$")
_CLAUSE_DOB = re.compile(r"^(?:alt\. )?DOB (.+)$", re.IGNORECASE)
_CLAUSE_NATIONALITY = re.compile(r"^(?:alt\. )?(?:nationality|citizen) (.+)$", re.IGNORECASE)
_CLAUSE_WEAK_ALIAS = re.compile(r"^([afn])\.k\.a\. '(.+)'$")
_CLAUSE_PASSPORT = re.compile(r"^(?:alt\. )?(?:Diplomatic )?Passport .*\(([^()]+)\)$", re.IGNORECASE)


def _date_bounds(text: str) -> tuple[date, date] | None:
    """'05 Mar 1960' → that day; 'Mar 1960' → the month; '1960' → the year."""
    m = _DATE.match(text.strip())
    if not m:
        return None
    day, month, year = m.group(1), m.group(2), int(m.group(3))
    if month is None:
        return (date(year, 1, 1), date(year, 12, 31)) if day is None else None
    month_no = _MONTHS.get(month.lower())
    if month_no is None:
        return None
    last = monthrange(year, month_no)[1]
    if day is None:
        return date(year, month_no, 1), date(year, month_no, last)
    if not 1 <= int(day) <= last:
        return None
    d = date(year, month_no, int(day))
    return d, d


def parse_date_of_birth(text: str) -> dict | None:
    """One DOB value as published: '28 Jul 1963', 'Jul 1963', '1963', 'circa 1963', '1960 to 1962',
    '01 Jan 1961 to 31 Dec 1962', 'circa 1979-1982' → {"text", "from", "to", "circa"} (ISO dates)."""
    value = text.strip().rstrip(".")
    circa = value.lower().startswith("circa ")
    if circa:
        value = value[6:].strip()
    parts = re.split(r"\s+to\s+|(?<=\d{4})-(?=\d{4}$)", value)
    if len(parts) > 2:
        return None
    bounds = [_date_bounds(p) for p in parts]
    if any(b is None for b in bounds):
        return None
    start, end = bounds[0][0], bounds[-1][1]
    if end < start:
        return None
    return {"text": text.strip().rstrip("."), "from": start.isoformat(), "to": end.isoformat(), "circa": circa}


def _clauses(remarks: str) -> list[str]:
    body = remarks.strip()
    if body.endswith("."):
        body = body[:-1]
    return [c.strip() for c in body.split(";") if c.strip()]


def parse_remarks(remarks: str) -> tuple[list[dict], list[str], list[str], list[tuple[str, str]]]:
    """→ (dates of birth, nationalities as published, passport-issuing countries, weak aliases as
    (alt_type, name))."""
    dobs, nationalities, passports, weak = [], [], [], []
    for clause in _clauses(remarks):
        if m := _CLAUSE_DOB.match(clause):
            parsed = parse_date_of_birth(m.group(1))
            if parsed and parsed not in dobs:
                dobs.append(parsed)
        elif m := _CLAUSE_NATIONALITY.match(clause):
            value = m.group(1).strip()
            if not value.lower().startswith("of registration") and value not in nationalities:
                nationalities.append(value)
        elif m := _CLAUSE_WEAK_ALIAS.match(clause):
            weak.append((f"{m.group(1)}ka", m.group(2).strip()))
        elif m := _CLAUSE_PASSPORT.match(clause):
            passports.append(m.group(1).strip())
    return dobs, nationalities, passports, weak


# --- the set ----------------------------------------------------------------------------------------

def _programs(value: str) -> list[str]:
    return [p.strip(" []") for p in value.split("] [") if p.strip(" []")]


def parse_set(files: dict[str, bytes], *, progress: Callable[[int], None] | None = None) -> OfacSet:
    """Parse sdn.csv + alt.csv + add.csv (+ sdn_comments.csv when given), all or nothing."""
    for required in (SDN_FILE, ALT_FILE, ADD_FILE):
        if required not in files:
            raise SanctionsFileError(required, None, "file is missing")
    tick = progress or (lambda n: None)
    meta: dict[str, dict] = {}

    entries: dict[int, SdnRecord] = {}
    for line, f in read_rows(SDN_FILE, files[SDN_FILE], SDN_FIELDS):
        ent_num = _int(SDN_FILE, line, "ent_num", f[0])
        if ent_num in entries:
            raise SanctionsFileError(SDN_FILE, line, f"ent_num {ent_num} appears twice (first at line "
                                                     f"{entries[ent_num].line})")
        if not f[1]:
            raise SanctionsFileError(SDN_FILE, line, f"ent_num {ent_num} has no SDN_Name")
        sdn_type = SDN_TYPES.get(f[2].lower())
        if sdn_type is None:
            raise SanctionsFileError(SDN_FILE, line, f"unknown SDN_Type {f[2]!r} (individual, vessel, aircraft "
                                                     f"or -0- for an entity)")
        entries[ent_num] = SdnRecord(
            line=line, ent_num=ent_num, name=f[1], entity_type=sdn_type, programs=_programs(f[3]), title=f[4],
            call_sign=f[5], vessel_type=f[6], tonnage=f[7], gross_registered_tonnage=f[8], vessel_flag=f[9],
            vessel_owner=f[10], remarks=f[11],
        )
        tick(1)
    if not entries:
        raise SanctionsFileError(SDN_FILE, None, "no entries")
    meta[SDN_FILE] = {"rows": len(entries)}

    if COMMENTS_FILE in files:
        rows = 0
        for line, f in read_rows(COMMENTS_FILE, files[COMMENTS_FILE], COMMENTS_FIELDS):
            ent_num = _int(COMMENTS_FILE, line, "ent_num", f[0])
            if ent_num not in entries:
                raise SanctionsFileError(COMMENTS_FILE, line, f"ent_num {ent_num} is not in {SDN_FILE}")
            # The comment continues the cut-off Remarks, sometimes mid-word: join by direct concatenation.
            entries[ent_num].remarks += f[1]
            rows += 1
        meta[COMMENTS_FILE] = {"rows": rows}

    aliases: list[AliasRecord] = []
    seen_alt: dict[int, int] = {}
    for line, f in read_rows(ALT_FILE, files[ALT_FILE], ALT_FIELDS):
        ent_num = _int(ALT_FILE, line, "ent_num", f[0])
        alt_num = _int(ALT_FILE, line, "alt_num", f[1])
        if ent_num not in entries:
            raise SanctionsFileError(ALT_FILE, line, f"ent_num {ent_num} is not in {SDN_FILE}")
        if alt_num in seen_alt:
            raise SanctionsFileError(ALT_FILE, line, f"alt_num {alt_num} appears twice (first at line "
                                                     f"{seen_alt[alt_num]})")
        seen_alt[alt_num] = line
        alt_type = f[2].lower()
        if alt_type not in ALT_TYPES:
            raise SanctionsFileError(ALT_FILE, line, f"unknown alt_type {f[2]!r} (aka, fka or nka)")
        if not f[3]:
            raise SanctionsFileError(ALT_FILE, line, f"alt_num {alt_num} has no alt_name")
        aliases.append(AliasRecord(ent_num=ent_num, alt_num=alt_num, alt_type=alt_type, name=f[3], remarks=f[4],
                                   is_weak=False))
        tick(1)
    meta[ALT_FILE] = {"rows": len(aliases)}

    addresses: list[AddressRecord] = []
    seen_add: dict[int, int] = {}
    for line, f in read_rows(ADD_FILE, files[ADD_FILE], ADD_FIELDS):
        ent_num = _int(ADD_FILE, line, "ent_num", f[0])
        add_num = _int(ADD_FILE, line, "add_num", f[1])
        if ent_num not in entries:
            raise SanctionsFileError(ADD_FILE, line, f"ent_num {ent_num} is not in {SDN_FILE}")
        if add_num in seen_add:
            raise SanctionsFileError(ADD_FILE, line, f"add_num {add_num} appears twice (first at line "
                                                     f"{seen_add[add_num]})")
        seen_add[add_num] = line
        addresses.append(AddressRecord(ent_num=ent_num, add_num=add_num, address=f[2], city=f[3], country=f[4],
                                       remarks=f[5]))
        tick(1)
    meta[ADD_FILE] = {"rows": len(addresses)}

    for entry in entries.values():
        dobs, nationalities, passports, weak = parse_remarks(entry.remarks)
        entry.dates_of_birth = dobs
        entry.nationalities = nationalities
        # A passport's issuing country is evidence of nationality too (screening compares codes only).
        entry.nationality_codes = sorted({c for c in map(country_code, nationalities + passports) if c})
        aliases.extend(AliasRecord(ent_num=entry.ent_num, alt_num=None, alt_type=alt_type, name=name, remarks="",
                                   is_weak=True) for alt_type, name in weak)

    for name, data in files.items():
        meta.setdefault(name, {})
        meta[name].update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), encoding=decode(data)[1])
    return OfacSet(entries=list(entries.values()), aliases=aliases, addresses=addresses, files=meta)


def read_directory(directory: str | Path) -> dict[str, bytes]:
    """The set's files from a directory (sdn_comments.csv only if present)."""
    folder = Path(directory)
    if not folder.is_dir():
        raise SanctionsFileError(str(folder), None, "is not a directory")
    files = {}
    for name in (SDN_FILE, ALT_FILE, ADD_FILE, COMMENTS_FILE):
        path = folder / name
        if path.is_file():
            files[name] = path.read_bytes()
        elif name != COMMENTS_FILE:
            raise SanctionsFileError(name, None, f"file is missing from {folder}")
    return files
