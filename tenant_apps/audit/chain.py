"""The hash chain: how an entry's hash is computed, and walking a chain to find its first broken link.

hash = sha256(prev_hash + canonical JSON of every other field). Canonical JSON: keys sorted, no
whitespace, UTF-8, timestamps as UTC ISO-8601 with microseconds, and no floats anywhere (a float's text
form is not stable across languages; money and measurements are stored as strings). Anyone with the
rows can recompute it with a few lines in any language.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = "0" * 64
HASHED_FIELDS = ("seq", "at", "actor_type", "actor_id", "actor_label", "actor_roles", "ip", "user_agent",
                 "object_type", "object_id", "subject_id", "action", "changes", "reason")


def canonical_timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("Audit timestamps must be timezone-aware.")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _refuse_floats(value, path: str = "changes") -> None:
    if isinstance(value, float):
        raise ValueError(f"{path} holds a float ({value!r}); store it as a string (Decimal) instead.")
    if isinstance(value, dict):
        for k, v in value.items():
            _refuse_floats(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _refuse_floats(v, f"{path}[{i}]")


def canonical_payload(entry) -> str:
    """The canonical JSON of an entry's hashed fields (everything except prev_hash and hash)."""
    payload = {name: getattr(entry, name) for name in HASHED_FIELDS}
    payload["at"] = canonical_timestamp(payload["at"])
    payload["actor_roles"] = list(payload["actor_roles"] or [])
    payload["changes"] = payload["changes"] or {}
    _refuse_floats(payload)
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(entry, *, prev_hash: str) -> str:
    return hashlib.sha256((prev_hash + canonical_payload(entry)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    seq: int
    problem: str          # "hash", "prev_hash" or "gap"
    expected: str
    stored: str

    def describe(self) -> str:
        if self.problem == "gap":
            return f"seq {self.seq}: expected seq {self.expected} here (entries are missing)"
        what = "hash" if self.problem == "hash" else "prev_hash (link to the entry before)"
        return f"seq {self.seq}: {what} does not match — expected {self.expected}, stored {self.stored}"


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken: BrokenLink | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def chain_verify(entries: Iterable, *, on_entry=None) -> ChainReport:
    """Walk entries in seq order from the first; stop at the first broken link.

    A row edited in place fails its own hash; a row edited *and* re-hashed fails the next row's prev_hash;
    a deleted row shows as a gap in seq.
    """
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainReport(checked, BrokenLink(entry.seq, "gap", str(expected_seq), str(entry.seq)))
        if entry.prev_hash != prev_hash:
            return ChainReport(checked, BrokenLink(entry.seq, "prev_hash", prev_hash, entry.prev_hash))
        try:
            recomputed = entry_hash(entry, prev_hash=prev_hash)
        except (ValueError, TypeError) as exc:  # a float or a naive timestamp slipped in: not an original row
            return ChainReport(checked, BrokenLink(entry.seq, "hash", f"unhashable ({exc})", entry.hash))
        if recomputed != entry.hash:
            return ChainReport(checked, BrokenLink(entry.seq, "hash", recomputed, entry.hash))
        checked += 1
        prev_hash, expected_seq = entry.hash, expected_seq + 1
        if on_entry is not None:
            on_entry(entry)
    return ChainReport(checked, None)


def iter_in_seq_order(queryset, *, chunk_size: int = 2000) -> Iterator:
    """Iterate a queryset in seq order, one query of `chunk_size` rows at a time (keyset: seq > the last
    one seen, along the primary key), so a chain of millions never sits in memory. Stops at the head that
    existed when it started; entries appended meanwhile are for the next run."""
    head = queryset.order_by("-seq").values_list("seq", flat=True).first()
    last = 0
    while head is not None and last < head:
        chunk = list(queryset.filter(seq__gt=last, seq__lte=head).order_by("seq")[:chunk_size])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].seq
