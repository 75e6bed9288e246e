"""Fuzzy name matching against one sanctions list version: normalisation, an inverted index, scoring.

1. Normalise: Cyrillic → Latin, casefold, strip diacritics, drop punctuation, honorifics and legal forms;
   tokens are sorted, so "ABU MARZOOK, Mousa" and "Mousa Abu Marzook" are the same string.
2. Fold each token to a transliteration-tolerant key (Mohammed / Muhammad / Mohamad → "muhamad",
   Yevgeniy / Evgeny / Jewgeni → "avgani"), so spelling variants share a key.
3. Candidates come from an inverted index: every folded token and its one-letter deletions (typos) point
   to the names that contain it. A name is a candidate when it shares keys with at least two of the
   query's tokens, or with one rare token (a surname: the other part may be badly misspelt), or is a
   one-token name sharing one; a query never scans the whole list.
4. Candidates are scored: a C-speed prefilter (rapidfuzz token_set_ratio on folded forms), then the name
   score: the best of token_sort_ratio on the normalised names (when ≥ 90) and an alignment of folded
   name parts that tolerates a missing middle name at a cost (larger for a rare part, by inverse
   document frequency). Weak aliases score lower; date of birth and nationality, when both sides have
   them, then raise or lower it.

`NameIndex.search(..., use_index=False)` scores every name (the naive scan); the benchmark uses it as the
baseline, so both paths share one scorer and differ only in candidate generation.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from rapidfuzz import fuzz, process

from platform_core.sanctions.countries import country_code

DEFAULT_THRESHOLD = 85.0
PREFILTER_MARGIN = 25.0  # candidates under threshold − margin on the quick score are not scored in full
SORT_MIN = 90.0  # a whole-name sort ratio below this is not evidence on its own
TOKEN_MATCH = 75.0  # two tokens are "the same name part" at or above this ratio (folded forms)
# Per name part present on one side only (missing middle name, extra name): from MIN for the most common
# part of the list to MAX for one it has never seen, by inverse document frequency.
UNMATCHED_PENALTY_MIN, UNMATCHED_PENALTY_MAX = 3.0, 12.0
WEAK_ALIAS_PENALTY = 12.0
DOB_MATCH_BONUS, DOB_NEAR_PENALTY, DOB_MISMATCH_PENALTY = 5.0, 5.0, 20.0
NATIONALITY_MATCH_BONUS, NATIONALITY_MISMATCH_PENALTY = 3.0, 10.0
MIN_DELETE_LEN = 4  # one-letter deletions are indexed for folded tokens at least this long
RARE_TOKEN_NAMES = 40  # a query part whose keys reach at most this many names brings them all in

# --- normalisation -----------------------------------------------------------------------------------

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
}
# Letters NFKD does not decompose into ASCII + combining marks.
_SPECIAL = {"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ð": "d", "ł": "l", "ı": "i", "þ": "th",
            "ħ": "h", "ŀ": "l", "ŧ": "t"}
# Apostrophes vanish ("ABU-'UMAR" → "abu umar", "O'Brien" → "obrien"), dots join abbreviations ("S.A.").
_DROP = {"'": "", "’": "", "‘": "", "ʻ": "", "ʼ": "", "`": "", "´": "", ".": ""}
_TRANSLATE = str.maketrans({**_CYRILLIC, **_SPECIAL, **_DROP})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

HONORIFICS = frozenset(
    "mr mrs ms miss mx dr prof sir dame lord lady sheikh shaikh shaykh sheik haji hajji hadji alhaj alhaji "
    "imam mullah mulla maulana mawlana sayyid syed jr jnr sr snr ii iii iv phd esq herr frau mme mlle".split()
)
LEGAL_FORMS = frozenset(
    "ltd llc inc co corp corporation company limited sa gmbh ag bv nv plc jsc ojsc cjsc pjsc ooo oao zao "
    "pao fze fzco fzc fzllc llp lp srl sarl spa sas sl kft doo dd ab oy".split()
)
# Arabic articles ("al-Zawahiri", "el Sayed") are written, joined or left out at will: not a name part.
PARTICLES = frozenset({"al", "el", "ul"})


def normalise_tokens(name: str) -> list[str]:
    """'ABU MARZOOK, Mousa Mohammed' → ['abu', 'marzook', 'mousa', 'mohammed'] (published order kept)."""
    text = name.casefold().translate(_TRANSLATE)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c)).translate(_TRANSLATE)
        text = text.encode("ascii", "ignore").decode()
    tokens = _NON_ALNUM.sub(" ", text).split()
    kept = [t for t in tokens if t not in HONORIFICS and t not in LEGAL_FORMS]
    return kept or tokens


_FOLD_RULES = [  # longest first; applied left to right by one regex
    ("tsch", "c"), ("shch", "s"), ("sch", "s"), ("tch", "c"), ("zh", "s"), ("sh", "s"), ("ch", "c"),
    ("cz", "c"), ("ts", "c"), ("tz", "c"), ("kh", "h"), ("gh", "g"), ("ph", "f"), ("th", "t"), ("dh", "d"),
    ("ck", "k"), ("q", "k"), ("c", "k"), ("w", "v"), ("x", "ks"), ("y", "i"), ("j", "i"), ("o", "u"),
    ("e", "a"),
]
_FOLD_MAP = dict(_FOLD_RULES)
_FOLD_RE = re.compile("|".join(re.escape(k) for k, _ in _FOLD_RULES))
# A letter repeated (after folding) is one letter: "mohammed" → "muhamad", "yurii" → "iuri".
_REPEATS = re.compile(r"(.)\1+")


@lru_cache(maxsize=200_000)
def fold_token(token: str) -> str:
    """A transliteration-tolerant key for one normalised token."""
    if token.isdigit():
        return token
    if len(token) > 3 and token[:2] in ("ye", "je"):  # Cyrillic Е: Yevgeniy / Evgeniy / Jewgeni
        token = token[1:]
    head = ""
    if token.startswith("zh"):  # pinyin Zhao/Zhang is not Russian Zhukov/Schukow: keep it apart from "s"
        head, token = "z", token[2:]
    folded = _REPEATS.sub(r"\1", head + _FOLD_RE.sub(lambda m: _FOLD_MAP[m.group(0)], token))
    if len(folded) > 3 and folded.endswith("h") and folded[-2] in "aiu":  # Abdullah / Abdulla
        folded = folded[:-1]
    return folded


def _deletions(folded: str) -> tuple[str, ...]:
    if len(folded) < MIN_DELETE_LEN:
        return (folded,)
    return (folded, *{folded[:i] + folded[i + 1:] for i in range(len(folded))})


@lru_cache(maxsize=200_000)
def token_keys(folded: str) -> tuple[str, ...]:
    """The index keys of a folded token: itself and, when long enough, each of its one-letter deletions;
    for a token that may carry a joined Arabic article ("alzawahiri"), the same again without it."""
    keys = _deletions(folded)
    if len(folded) >= 6 and folded[:2] in ("al", "ul"):  # "el" folds to "al"
        keys = tuple(dict.fromkeys(keys + _deletions(folded[2:])))
    return keys


@dataclass(frozen=True, slots=True)
class NameForm:
    """One name, ready to compare: sorted normalised string, sorted folded string, folded tokens (in the
    order written), and the folded joins of neighbouring parts ("Abdul Rahman" → "abdulrahman")."""

    norm: str
    fold: str
    fold_tokens: tuple[str, ...]
    joined: tuple[str, ...] = ()

    @classmethod
    def of(cls, name: str) -> NameForm:
        tokens = normalise_tokens(name)
        kept = [t for t in tokens if t not in PARTICLES] or tokens
        folded = [fold_token(t) for t in kept]
        return cls(norm=" ".join(sorted(tokens)), fold=" ".join(sorted(folded)), fold_tokens=tuple(folded),
                   joined=tuple(fold_token(a + b) for a, b in zip(kept, kept[1:], strict=False)))


# --- scoring -------------------------------------------------------------------------------------------

def align_score(query: Sequence[str], candidate: Sequence[str], weight: Callable[[str], float]) -> float:
    """Pair name parts one to one (best ratio first); the length-weighted mean of the paired ratios, minus
    a penalty per part left unpaired on either side, larger for a rare part (a missing surname) than for
    a common one (a missing "Muhammad"). Fewer than two pairs counts only when both names are a single
    part: a lone shared first name is not a match."""
    nq, nc = len(query), len(candidate)
    if not nq or not nc:
        return 0.0
    # Identical folded parts pair first (ratio 100, what "best ratio first" would pick anyway); only the
    # rest are compared letter by letter.
    rest_c = list(candidate)
    rest_q = []
    total = mass = 0.0
    for q in query:
        if q in rest_c:
            rest_c.remove(q)
            total += 100.0 * len(q)
            mass += len(q)
        else:
            rest_q.append(q)
    pairs = nq - len(rest_q)
    if rest_q and rest_c:
        scored = sorted(((fuzz.ratio(q, c, score_cutoff=TOKEN_MATCH), i, j)
                         for i, q in enumerate(rest_q) for j, c in enumerate(rest_c)), reverse=True)
        used_q, used_c = set(), set()
        for ratio, i, j in scored:
            if ratio < TOKEN_MATCH:
                break
            if i in used_q or j in used_c:
                continue
            used_q.add(i)
            used_c.add(j)
            w = max(len(rest_q[i]), len(rest_c[j]))
            total += ratio * w
            mass += w
        pairs += len(used_q)
        rest_q = [q for i, q in enumerate(rest_q) if i not in used_q]
        rest_c = [c for j, c in enumerate(rest_c) if j not in used_c]
    if pairs == 0 or (pairs < 2 and not (nq == 1 and nc == 1)):
        return 0.0
    return total / mass - sum(map(weight, rest_q)) - sum(map(weight, rest_c))


def sort_score(query: NameForm, candidate: NameForm) -> float:
    """token_sort_ratio of the normalised names, when close: it catches parts joined or split differently
    ("Abdulrahman" / "Abdul Rahman"); below SORT_MIN it says little ("chen jing" / "he jing" is 88)."""
    return fuzz.token_sort_ratio(query.norm, candidate.norm, score_cutoff=SORT_MIN)


def _years_apart(d: date, start: date, end: date) -> int:
    if start <= d <= end:
        return 0
    return start.year - d.year if d < start else d.year - end.year


def dob_adjustment(dob: date, entry_dobs: Sequence[tuple[date, date, bool, str]]) -> tuple[float, str]:
    best = None
    for start, end, circa, text in entry_dobs:
        if circa:
            start, end = date(start.year - 1, 1, 1), date(end.year + 1, 12, 31)
        apart = _years_apart(dob, start, end)
        if best is None or apart < best[0]:
            best = (apart, start, end, text)
    apart, start, end, text = best
    if start <= dob <= end:
        return DOB_MATCH_BONUS, f"date of birth matches ({text})"
    if dob.year in (start.year, end.year) or apart == 0:
        return 0.0, f"year of birth matches, not the date ({text})"
    if apart == 1:
        return -DOB_NEAR_PENALTY, f"date of birth a year off ({text})"
    return -DOB_MISMATCH_PENALTY, f"date of birth differs ({text})"


# --- the index -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class EntryInfo:
    id: int
    ent_num: int
    name: str
    entity_type: str
    programs: tuple[str, ...]
    dates_of_birth: tuple[tuple[date, date, bool, str], ...]
    nationality_codes: frozenset[str]
    nationalities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    entry: EntryInfo
    matched_name: str
    matched_kind: str  # "name", "aka", "fka", "nka", "weak aka", ...
    score: float
    name_score: float
    reasons: tuple[str, ...]


@dataclass
class NameIndex:
    list_id: int | None
    entries: list[EntryInfo] = field(default_factory=list)
    v_entry: list[int] = field(default_factory=list)  # variant → position in entries
    v_name: list[str] = field(default_factory=list)
    v_kind: list[str] = field(default_factory=list)
    v_weak: list[bool] = field(default_factory=list)
    v_form: list[NameForm] = field(default_factory=list)
    v_fold: list[str] = field(default_factory=list)  # v_form[i].fold, kept flat for rapidfuzz batch calls
    v_penalties: list[tuple[float, ...]] = field(default_factory=list)  # each name's part penalties, ascending
    postings: dict[str, list[int]] = field(default_factory=dict)
    single_token: set[int] = field(default_factory=set)
    doc_freq: dict[str, int] = field(default_factory=dict)  # folded token → names containing it
    _penalties: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(cls, *, list_id: int | None, entries: Iterable[dict], aliases: Iterable[dict]) -> NameIndex:
        """entries: dicts with id, ent_num, name, entity_type, programs, dates_of_birth, nationality_codes,
        nationalities; aliases: dicts with entry_id, name, alt_type, is_weak."""
        index = cls(list_id=list_id)
        position: dict[int, int] = {}
        for e in entries:
            position[e["id"]] = len(index.entries)
            index.entries.append(EntryInfo(
                id=e["id"], ent_num=e["ent_num"], name=e["name"], entity_type=e["entity_type"],
                programs=tuple(e.get("programs") or ()),
                dates_of_birth=tuple(
                    (date.fromisoformat(d["from"]), date.fromisoformat(d["to"]), bool(d.get("circa")), d["text"])
                    for d in e.get("dates_of_birth") or ()),
                nationality_codes=frozenset(e.get("nationality_codes") or ()),
                nationalities=tuple(e.get("nationalities") or ()),
            ))
            index._add(position[e["id"]], e["name"], "name", False)
        for a in aliases:
            kind = f"weak {a['alt_type']}" if a["is_weak"] else a["alt_type"]
            index._add(position[a["entry_id"]], a["name"], kind, a["is_weak"])
        index.v_penalties = [tuple(sorted(map(index.unmatched_penalty, f.fold_tokens))) for f in index.v_form]
        return index

    def _add(self, entry_pos: int, name: str, kind: str, weak: bool) -> None:
        form = NameForm.of(name)
        if not form.fold_tokens:
            return
        vid = len(self.v_name)
        self.v_entry.append(entry_pos)
        self.v_name.append(name)
        self.v_kind.append(kind)
        self.v_weak.append(weak)
        self.v_form.append(form)
        self.v_fold.append(form.fold)
        postings = self.postings
        keys = set()
        for token in set(form.fold_tokens):
            self.doc_freq[token] = self.doc_freq.get(token, 0) + 1
            keys.update(token_keys(token))
        keys.update(form.joined)  # "ABDUL RAHMAN" is found by "Abdulrahman" (split the other way: candidates())
        for key in keys:
            postings.setdefault(key, []).append(vid)
        if len(form.fold_tokens) == 1:
            self.single_token.add(vid)

    @property
    def name_count(self) -> int:
        return len(self.v_name)

    def unmatched_penalty(self, token: str) -> float:
        """What leaving this name part unpaired costs: more for a part rare in the list (or absent)."""
        penalty = self._penalties.get(token)
        if penalty is None:
            n = max(2, len(self.v_name))
            rarity = math.log(n / self.doc_freq.get(token, 1)) / math.log(n)  # 0 = in every name, 1 = unseen/once
            penalty = UNMATCHED_PENALTY_MIN + (UNMATCHED_PENALTY_MAX - UNMATCHED_PENALTY_MIN) * rarity
            self._penalties[token] = penalty
        return penalty

    def candidates(self, form: NameForm) -> set[int]:
        """Names sharing keys with at least two of the query's tokens, all names sharing a rare token, and
        one-token names sharing one. A name holding two neighbouring query parts as one word (or the other
        way round) shares both."""
        postings = self.postings
        per_token: list[set[int]] = []
        for token in form.fold_tokens:
            lists = [postings[k] for k in token_keys(token) if k in postings]
            per_token.append(set().union(*lists) if lists else set())
        for i, key in enumerate(form.joined):
            if key in postings:
                both = set(postings[key])
                per_token[i] |= both
                per_token[i + 1] |= both
        if len(per_token) == 1:
            return per_token[0]
        found: set[int] = set()
        for i in range(len(per_token)):
            if len(per_token[i]) <= RARE_TOKEN_NAMES:
                found |= per_token[i]  # a rare part (a surname) alone: the other part may be badly mangled
            for j in range(i + 1, len(per_token)):
                found |= per_token[i] & per_token[j]
        found |= set().union(*per_token) & self.single_token
        return found

    def search(self, name: str, *, date_of_birth: date | None = None, nationality: str | None = None,
               threshold: float = DEFAULT_THRESHOLD, use_index: bool = True) -> list[Hit]:
        """Hits at or above threshold, best per entry, best first. use_index=False scores every name."""
        form = NameForm.of(name)
        if not form.fold_tokens:
            return []
        if use_index:
            ids = sorted(self.candidates(form))
            choices = [self.v_fold[i] for i in ids]
        else:
            ids, choices = None, self.v_fold
        quick = process.extract(form.fold, choices, scorer=fuzz.token_set_ratio,
                                score_cutoff=max(0.0, threshold - PREFILTER_MARGIN), limit=None)
        nationality_code = country_code(nationality)
        bonus = (DOB_MATCH_BONUS if date_of_birth else 0.0) + (NATIONALITY_MATCH_BONUS if nationality_code else 0.0)
        query_penalties = sorted(map(self.unmatched_penalty, form.fold_tokens))
        nq = len(query_penalties)
        best: dict[int, Hit] = {}
        for _, _, pos in quick:
            vid = ids[pos] if ids is not None else pos
            cand = self.v_form[vid]
            weak_cost = WEAK_ALIAS_PENALTY if self.v_weak[vid] else 0.0
            # No pairing leaves fewer than |nq - nc| parts unpaired: the cheapest ones bound the alignment.
            nc = len(cand.fold_tokens)
            floor = sum(query_penalties[:nq - nc]) if nq > nc else sum(self.v_penalties[vid][:nc - nq])
            sort = sort_score(form, cand)
            if max(sort, 100.0 - floor) - weak_cost + bonus < threshold:
                continue
            align = align_score(form.fold_tokens, cand.fold_tokens, self.unmatched_penalty) \
                if 100.0 - floor > sort else 0.0
            if sort >= align:
                score, how = sort, ("same name parts" if sort == 100 else "close spelling")
            else:
                score, how = align, "name parts match as transliterations/typos" + (
                    ", some parts missing" if nq != nc else "")
            reasons = [f"name: {how} ({score:.0f})"]
            if weak_cost:
                score -= weak_cost
                reasons.append("weak alias (a.k.a. in remarks): scored lower")
            named = score
            if score + bonus < threshold:
                continue
            entry_pos = self.v_entry[vid]
            entry = self.entries[entry_pos]
            if date_of_birth and entry.dates_of_birth:
                delta, why = dob_adjustment(date_of_birth, entry.dates_of_birth)
                score += delta
                reasons.append(why)
            if nationality_code and entry.nationality_codes:
                if nationality_code in entry.nationality_codes:
                    score += NATIONALITY_MATCH_BONUS
                    reasons.append(f"nationality matches ({nationality_code})")
                else:
                    score -= NATIONALITY_MISMATCH_PENALTY
                    reasons.append(f"nationality differs ({nationality_code}; listed: "
                                   f"{', '.join(sorted(entry.nationality_codes))})")
            score = max(0.0, min(100.0, score))
            if score < threshold:
                continue
            previous = best.get(entry_pos)
            if previous is None or score > previous.score:
                best[entry_pos] = Hit(entry=entry, matched_name=self.v_name[vid], matched_kind=self.v_kind[vid],
                                      score=round(score, 1), name_score=round(named, 1), reasons=tuple(reasons))
        return sorted(best.values(), key=lambda h: (-h.score, h.entry.ent_num))
