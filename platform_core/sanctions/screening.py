"""Screening one person against the current sanctions list, and the per-process cache of its name index.

Pure with respect to tenants: it reads platform data only and stores nothing; the KYC capability calls it
per client and keeps the result in the brokerage's schema.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from django.utils import timezone

from platform_core.sanctions.errors import NoSanctionsList
from platform_core.sanctions.matching import DEFAULT_THRESHOLD, NameForm, NameIndex
from platform_core.sanctions.models import (
    ListSource,
    ListStatus,
    SanctionsAlias,
    SanctionsEntry,
    SanctionsList,
)

log = logging.getLogger(__name__)

CURRENT_CHECK_S = 10.0  # how stale this process's idea of "the current version" may get
KEEP_INDEXES = 2  # the current version and the one before (a re-screen may still be using it)


@dataclass(frozen=True)
class ScreeningHit:
    source: str
    list_id: int
    entry_id: int
    ent_num: int
    name: str
    entity_type: str
    programs: tuple[str, ...]
    matched_name: str
    matched_kind: str
    score: float
    name_score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ScreeningResult:
    full_name: str
    date_of_birth: date | None
    nationality: str | None
    threshold: float
    lists: tuple[tuple[str, int, int], ...]  # (source, list id, version) screened against
    hits: tuple[ScreeningHit, ...]
    # Set when the name could not be compared at all (a script we do not transliterate): never "clear".
    unscreenable_reason: str = ""
    screened_at: datetime = field(default_factory=timezone.now)

    @property
    def is_clear(self) -> bool:
        return not self.hits and not self.unscreenable_reason

    @property
    def top_score(self) -> float:
        return max((h.score for h in self.hits), default=0.0)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["date_of_birth"] = self.date_of_birth.isoformat() if self.date_of_birth else None
        data["screened_at"] = self.screened_at.isoformat()
        return data


# --- the index cache -------------------------------------------------------------------------------------

class _IndexCache:
    def __init__(self):
        self.lock = threading.Lock()
        self.indexes: OrderedDict[int, NameIndex] = OrderedDict()
        self.current: dict[str, tuple[int, SanctionsList, float]] = {}  # source → (list id, row, checked at)

    def current_list(self, source: str) -> SanctionsList:
        now = time.monotonic()
        known = self.current.get(source)
        if known and now - known[2] < CURRENT_CHECK_S:
            return known[1]
        row = SanctionsList.objects.filter(source=source, status=ListStatus.CURRENT).first()
        if row is None:
            self.current.pop(source, None)
            raise NoSanctionsList(f"No {source} list has been imported yet (manage.py import_sanctions).")
        self.current[source] = (row.pk, row, now)
        return row

    def index(self, list_id: int) -> NameIndex:
        index = self.indexes.get(list_id)
        if index is not None:
            return index
        with self.lock:  # one build per version, whichever thread asks first
            index = self.indexes.get(list_id)
            if index is None:
                index = build_index(list_id)
                self.indexes[list_id] = index
                while len(self.indexes) > KEEP_INDEXES:
                    self.indexes.popitem(last=False)
        return index

    def forget(self, source: str | None = None) -> None:
        if source is None:
            self.current.clear()
        else:
            self.current.pop(source, None)


_cache = _IndexCache()


def build_index(list_id: int) -> NameIndex:
    started = time.perf_counter()
    entries = SanctionsEntry.objects.filter(sanctions_list_id=list_id).values(
        "id", "ent_num", "name", "entity_type", "programs", "dates_of_birth", "nationality_codes", "nationalities")
    aliases = SanctionsAlias.objects.filter(entry__sanctions_list_id=list_id).order_by("id").values(
        "entry_id", "name", "alt_type", "is_weak")
    index = NameIndex.build(list_id=list_id, entries=entries.iterator(chunk_size=5000),
                            aliases=aliases.iterator(chunk_size=5000))
    log.info("sanctions index for list %s: %d names, built in %.2f s", list_id, index.name_count,
             time.perf_counter() - started)
    return index


def current_index(source: str = ListSource.OFAC_SDN) -> tuple[SanctionsList, NameIndex]:
    """The current version of a source and its name index (built on first use, rebuilt when it changes)."""
    row = _cache.current_list(source)
    return row, _cache.index(row.pk)


def forget_current_version(source: str | None = None) -> None:
    """Make this process look the current version up again on its next screening (after an import)."""
    _cache.forget(source)


# --- the service ---------------------------------------------------------------------------------------

def screen_person(*, full_name: str, date_of_birth: date | None = None, nationality: str | None = None,
                  threshold: float = DEFAULT_THRESHOLD,
                  sources: tuple[str, ...] = (ListSource.OFAC_SDN,)) -> ScreeningResult:
    """Screen a natural person's name (with date of birth and nationality, ISO code or name, when known)
    against the current version of each source. Raises NoSanctionsList when a source was never imported.
    Latin (any diacritics) and Cyrillic names are compared; a name in another script comes back with
    `unscreenable_reason` set and is never clear."""
    hits: list[ScreeningHit] = []
    lists = []
    unscreenable = ""
    if not NameForm.of(full_name).fold_tokens:
        unscreenable = ("the name has no Latin or Cyrillic letters to compare (e.g. Arabic or Chinese script): "
                        "screen the Latin spelling from the identity document")
    for source in sources:
        row, index = current_index(source)
        lists.append((source, row.pk, row.version))
        for hit in index.search(full_name, date_of_birth=date_of_birth, nationality=nationality,
                                threshold=threshold):
            e = hit.entry
            hits.append(ScreeningHit(
                source=source, list_id=row.pk, entry_id=e.id, ent_num=e.ent_num, name=e.name,
                entity_type=e.entity_type, programs=e.programs, matched_name=hit.matched_name,
                matched_kind=hit.matched_kind, score=hit.score, name_score=hit.name_score, reasons=hit.reasons,
            ))
    hits.sort(key=lambda h: (-h.score, h.source, h.ent_num))
    return ScreeningResult(full_name=full_name, date_of_birth=date_of_birth, nationality=nationality,
                           threshold=threshold, lists=tuple(lists), hits=tuple(hits),
                           unscreenable_reason=unscreenable)
