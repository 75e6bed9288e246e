"""Fuzzy matching against the committed extract: swapped order, transliterations, missing middle names,
diacritics, typos, date of birth and nationality — and the index finds what a scan of every name finds."""
from __future__ import annotations

from datetime import date

import pytest

from platform_core.sanctions.matching import DEFAULT_THRESHOLD, NameForm, fold_token, normalise_tokens
from platform_core.sanctions.screening import screen_person
from tests.sanctions.cases import CLEAR, MATCHES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name, dob, nationality, ent_num", MATCHES.values(), ids=MATCHES.keys())
def test_a_variant_of_a_sanctioned_name_hits_its_entry(extract_list, name, dob, nationality, ent_num):
    result = screen_person(full_name=name, date_of_birth=dob, nationality=nationality)

    assert ent_num in [h.ent_num for h in result.hits], [(h.ent_num, h.name, h.score) for h in result.hits]
    assert result.hits[0].ent_num == ent_num, "the sanctioned entry is the best hit"


@pytest.mark.parametrize("name, dob, nationality, _", CLEAR.values(), ids=CLEAR.keys())
def test_a_clean_name_gets_no_hits(extract_list, name, dob, nationality, _):
    result = screen_person(full_name=name, date_of_birth=dob, nationality=nationality)

    assert result.is_clear, [(h.ent_num, h.name, h.score, h.reasons) for h in result.hits]


def test_a_birth_date_and_nationality_that_disagree_push_a_common_name_below_the_threshold(extract_list):
    name_only = screen_person(full_name="Hasan Nasrallah")
    different_person = screen_person(full_name="Hasan Nasrallah", date_of_birth=date(1991, 3, 14), nationality="GB")
    same_person = screen_person(full_name="Hasan Nasrallah", date_of_birth=date(1960, 8, 31), nationality="LB")

    assert [h.ent_num for h in name_only.hits] == [2686] and name_only.hits[0].score == 100
    assert different_person.is_clear
    assert same_person.hits[0].ent_num == 2686 and same_person.hits[0].score == 100
    assert "date of birth matches (31 Aug 1960)" in same_person.hits[0].reasons


def test_a_date_of_birth_mismatch_alone_costs_more_than_a_near_miss(extract_index):
    far = extract_index.search("Hasan Nasrallah", date_of_birth=date(1991, 3, 14), threshold=0)
    near = extract_index.search("Hasan Nasrallah", date_of_birth=date(1952, 8, 31), threshold=0)
    same_year = extract_index.search("Hasan Nasrallah", date_of_birth=date(1955, 1, 1), threshold=0)

    score = {name: next(h.score for h in hits if h.entry.ent_num == 2686)
             for name, hits in (("far", far), ("near", near), ("same year", same_year))}
    assert score == {"far": 80.0, "near": 95.0, "same year": 100.0}


def test_a_weak_alias_alone_scores_lower_than_a_strong_one(extract_index):
    weak = extract_index.search("BNC", threshold=0)  # 'BNC' is a weak a.k.a. of BANCO NACIONAL DE CUBA
    strong = extract_index.search("National Bank of Cuba", threshold=0)

    bank_weak = next(h for h in weak if h.entry.ent_num == 306)
    bank_strong = next(h for h in strong if h.entry.ent_num == 306)
    assert (bank_weak.matched_kind, bank_weak.score) == ("weak aka", 88.0)
    assert (bank_strong.matched_kind, bank_strong.score) == ("aka", 100.0)


def test_a_lone_shared_first_name_is_not_a_match(extract_list):
    assert screen_person(full_name="Vladimir Nabokov").is_clear
    assert screen_person(full_name="Muammar Smith").is_clear


def test_names_normalise_across_case_diacritics_punctuation_honorifics_and_scripts():
    assert normalise_tokens("AL ZAWAHIRI, Dr. Ayman") == ["al", "zawahiri", "ayman"]
    assert normalise_tokens("José-María O'Brien") == ["jose", "maria", "obrien"]
    assert normalise_tokens("ANGLO-CARIBBEAN CO., LTD.") == ["anglo", "caribbean"]
    assert normalise_tokens("Евгений Пригожин") == ["evgeniy", "prigozhin"]
    assert NameForm.of("ABU MARZOOK, Mousa").norm == NameForm.of("Mousa Abu Marzook").norm


@pytest.mark.parametrize("variants", [
    ("mohammed", "muhammad", "mohamad", "mohamed", "muhammed"),
    ("yevgeniy", "evgeny", "evgenii", "jewgeni"),
    ("prigozhin", "prigoschin"),
    ("hussein", "husayn", "husein"),
    ("qadhafi", "kadhafi", "qaddafi"),
    ("yuri", "yury", "iouri", "jurij"),
    ("abdullah", "abdulla"),
])
def test_transliteration_variants_fold_to_one_key(variants):
    assert len({fold_token(v) for v in variants}) == 1, {v: fold_token(v) for v in variants}


def test_the_index_offers_a_small_share_of_the_names_and_loses_no_hit_of_the_full_scan(extract_index):
    cases = list(MATCHES.values()) + list(CLEAR.values())
    for name, dob, nationality, _ in cases:
        indexed = extract_index.search(name, date_of_birth=dob, nationality=nationality)
        scanned = extract_index.search(name, date_of_birth=dob, nationality=nationality, use_index=False)
        assert [(h.entry.ent_num, h.score) for h in indexed] == [(h.entry.ent_num, h.score) for h in scanned], name
        assert len(extract_index.candidates(NameForm.of(name))) < extract_index.name_count / 10, name


def test_a_result_says_which_list_version_was_used_and_why_each_hit_matched(extract_list):
    result = screen_person(full_name="Evgeny Prigozhin")

    assert result.lists == (("ofac_sdn", extract_list.pk, 1),) and result.threshold == DEFAULT_THRESHOLD
    hit = result.hits[0]
    assert (hit.ent_num, hit.name, hit.matched_name, hit.matched_kind) == (
        21171, "PRIGOZHIN, Yevgeniy Viktorovich", "PRIGOZHIN, Evgeny", "aka")
    assert hit.reasons == ("name: same name parts (100)",)
    assert result.as_dict()["hits"][0]["ent_num"] == 21171


def test_screening_before_any_list_was_imported_fails_loudly(db):
    from platform_core.sanctions.errors import NoSanctionsList
    from platform_core.sanctions.screening import forget_current_version

    forget_current_version()
    with pytest.raises(NoSanctionsList, match="No ofac_sdn list has been imported yet"):
        screen_person(full_name="Anyone")


def test_a_name_in_a_script_we_cannot_compare_is_never_reported_clear(extract_list):
    result = screen_person(full_name="محمد عبد الله")

    assert not result.hits and not result.is_clear
    assert "no Latin or Cyrillic letters" in result.unscreenable_reason
