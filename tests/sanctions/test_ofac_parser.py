"""The OFAC legacy-CSV reader: nulls, quoting, the EOF byte, lenient bytes, remarks, and refusals that name
the file and the line. Pure parsing: no database."""
from __future__ import annotations

import pytest

from platform_core.sanctions import ofac
from platform_core.sanctions.errors import SanctionsFileError

SDN = (
    b'306,"BANCO NACIONAL DE CUBA",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"a.k.a. \'BNC\'."\r\n'
    b'173,"ANGLO-CARIBBEAN CO., LTD.",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'
    b'3754,"ABU MARZOOK, Mousa Mohammed","individual","SDGT] [IFSR","Political Leader",-0- ,-0- ,-0- ,-0- ,'
    b'-0- ,-0- ,"DOB 09 Feb 1951; alt. DOB circa 1950; nationality Korea, North; Passport 92/664 (Egypt); '
    b'a.k.a. \'ABU-\'UMAR\'."\r\n'
    b'15038,"ARGO I","vessel","IRAN",-0- ,"9HA2954","Crude Oil Tanker","281,050","298,731","Malta",'
    b'"Owner ""X"" Ltd",-0- \r\n'
    b"\x1a"
)
ALT = b'306,220,"aka","NATIONAL BANK OF CUBA",-0- \r\n3754,1,"fka","MARZUK, Musa Abu",-0- \r\n\x1a'
ADD = (b'306,199,"Zweierstrasse 35","Zurich CH-8022","Switzerland",-0- \r\n'
       b'173,129,-0- ,-0- ,-0- ,-0- \r\n3754,2,-0- ,-0- ,-0- ,-0- \r\n15038,3,-0- ,-0- ,-0- ,-0- \r\n\x1a')


def _set(**overrides: bytes) -> dict[str, bytes]:
    files = {"sdn.csv": SDN, "alt.csv": ALT, "add.csv": ADD}
    files.update({f"{k}.csv": v for k, v in overrides.items()})
    return files


def test_a_well_formed_set_is_read_with_nulls_as_empty_and_entities_typed():
    parsed = ofac.parse_set(_set())
    by_num = {e.ent_num: e for e in parsed.entries}

    assert [e.ent_num for e in parsed.entries] == [306, 173, 3754, 15038]
    bank = by_num[306]
    assert (bank.entity_type, bank.title, bank.call_sign, bank.programs) == ("entity", "", "", ["CUBA"])
    assert by_num[3754].entity_type == "individual" and by_num[3754].programs == ["SDGT", "IFSR"]
    assert [(a.ent_num, a.alt_type, a.name, a.is_weak) for a in parsed.aliases] == [
        (306, "aka", "NATIONAL BANK OF CUBA", False),
        (3754, "fka", "MARZUK, Musa Abu", False),
        (306, "aka", "BNC", True),
        (3754, "aka", "ABU-'UMAR", True),
    ]
    assert [(a.add_num, a.address, a.city, a.country) for a in parsed.addresses][:2] == [
        (199, "Zweierstrasse 35", "Zurich CH-8022", "Switzerland"), (129, "", "", "")]


def test_quoted_fields_keep_their_commas_and_doubled_quotes():
    by_num = {e.ent_num: e for e in ofac.parse_set(_set()).entries}

    assert by_num[173].name == "ANGLO-CARIBBEAN CO., LTD."
    vessel = by_num[15038]
    assert (vessel.entity_type, vessel.tonnage, vessel.gross_registered_tonnage, vessel.vessel_owner) == (
        "vessel", "281,050", "298,731", 'Owner "X" Ltd')


def test_remarks_give_dates_of_birth_nationalities_and_passport_countries():
    marzook = next(e for e in ofac.parse_set(_set()).entries if e.ent_num == 3754)

    assert marzook.dates_of_birth == [
        {"text": "09 Feb 1951", "from": "1951-02-09", "to": "1951-02-09", "circa": False},
        {"text": "circa 1950", "from": "1950-01-01", "to": "1950-12-31", "circa": True},
    ]
    assert marzook.nationalities == ["Korea, North"]
    assert marzook.nationality_codes == ["EG", "KP"]


@pytest.mark.parametrize("text, expected", [
    ("28 Jul 1963", ("1963-07-28", "1963-07-28", False)),
    ("Feb 1964", ("1964-02-01", "1964-02-29", False)),
    ("1960", ("1960-01-01", "1960-12-31", False)),
    ("circa 1957", ("1957-01-01", "1957-12-31", True)),
    ("1960 to 1962", ("1960-01-01", "1962-12-31", False)),
    ("01 Jan 1961 to 31 Dec 1962", ("1961-01-01", "1962-12-31", False)),
    ("circa 1979-1982", ("1979-01-01", "1982-12-31", True)),
])
def test_every_published_date_of_birth_form_becomes_a_date_range(text, expected):
    parsed = ofac.parse_date_of_birth(text)
    assert (parsed["from"], parsed["to"], parsed["circa"]) == expected


def test_an_unreadable_date_of_birth_is_left_in_the_remarks_only():
    assert ofac.parse_date_of_birth("31 Feb 1960") is None
    assert ofac.parse_date_of_birth("sometime in the sixties") is None


def test_the_trailing_eof_byte_is_not_a_row_but_one_in_the_middle_is_refused():
    assert len(ofac.parse_set(_set()).entries) == 4  # SDN ends with CRLF + 0x1A

    broken = SDN.replace(b'\r\n173,', b'\r\n\x1a\r\n173,')
    with pytest.raises(SanctionsFileError, match=r"^sdn\.csv line 2: EOF marker \(0x1A\) before the end"):
        ofac.parse_set(_set(sdn=broken))


def test_a_file_without_the_eof_byte_is_read_too():
    assert len(ofac.parse_set(_set(sdn=SDN[:-1])).entries) == 4


@pytest.mark.parametrize("file, content, error", [
    ("sdn", SDN.replace(b'"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n', b'"CUBA",-0- \r\n'),
     r"^sdn\.csv line 2: expected 12 fields, found 5$"),
    ("sdn", SDN.replace(b"173,", b"17x,"), r"^sdn\.csv line 2: ent_num must be a whole number, found '17x'$"),
    ("sdn", SDN.replace(b'"vessel"', b'"submarine"'), r"^sdn\.csv line 4: unknown SDN_Type 'submarine'"),
    ("sdn", SDN.replace(b"173,", b"306,"), r"^sdn\.csv line 2: ent_num 306 appears twice \(first at line 1\)$"),
    ("sdn", SDN.replace(b'"ANGLO-CARIBBEAN CO., LTD."', b'"ANGLO" CARIBBEAN"'), r"^sdn\.csv line 2: malformed CSV"),
    ("alt", ALT.replace(b"3754,1,", b"9999,1,"), r"^alt\.csv line 2: ent_num 9999 is not in sdn\.csv$"),
    ("alt", ALT.replace(b'"fka"', b'"alias"'), r"^alt\.csv line 2: unknown alt_type 'alias'"),
    ("add", ADD.replace(b"173,129,", b"173,199,"), r"^add\.csv line 2: add_num 199 appears twice"),
])
def test_a_malformed_line_is_refused_naming_the_file_and_the_line(file, content, error):
    with pytest.raises(SanctionsFileError, match=error):
        ofac.parse_set(_set(**{file: content}))


def test_a_missing_file_is_refused_by_name(tmp_path):
    (tmp_path / "sdn.csv").write_bytes(SDN)
    (tmp_path / "add.csv").write_bytes(ADD)
    with pytest.raises(SanctionsFileError, match=r"^alt\.csv: file is missing"):
        ofac.read_directory(tmp_path)


def test_bytes_are_decoded_leniently_utf8_first_then_windows_1252():
    utf8 = SDN.replace(b"BANCO NACIONAL", "BANCO NACIÓNAL".encode())
    cp1252 = SDN.replace(b"BANCO NACIONAL", "BANCO NACIÓNAL".encode("cp1252"))

    for data, encoding in ((utf8, "utf-8"), (cp1252, "cp1252")):
        parsed = ofac.parse_set(_set(sdn=data))
        assert parsed.entries[0].name == "BANCO NACIÓNAL DE CUBA"
        assert parsed.files["sdn.csv"]["encoding"] == encoding


def test_extended_remarks_continue_the_cut_off_remarks_by_concatenation():
    cut = SDN.replace(b"Passport 92/664 (Egypt); a.k.a. 'ABU-'UMAR'.", b"Passport 92/664 (Eg")
    comments = b"3754,\"ypt); a.k.a. 'ABU-'UMAR'.\"\r\n"

    parsed = ofac.parse_set({**_set(sdn=cut), "sdn_comments.csv": comments})

    marzook = next(e for e in parsed.entries if e.ent_num == 3754)
    assert marzook.remarks.endswith("Passport 92/664 (Egypt); a.k.a. 'ABU-'UMAR'.")
    assert "EG" in marzook.nationality_codes
    assert ("aka", "ABU-'UMAR") in [(a.alt_type, a.name) for a in parsed.aliases if a.is_weak]


def test_the_committed_extract_is_a_valid_set_of_200_entries(extract_dir):
    parsed = ofac.parse_set(ofac.read_directory(extract_dir))

    assert (len(parsed.entries), len(parsed.addresses)) == (200, 311)
    assert (sum(not a.is_weak for a in parsed.aliases), sum(a.is_weak for a in parsed.aliases)) == (489, 55)
    assert {e.entity_type for e in parsed.entries} == {"individual", "entity", "vessel", "aircraft"}
