"""Importing a list: exact counts, versions that switch atomically and keep the previous one, all-or-nothing
refusals, the management command, and the full published list in seconds."""
from __future__ import annotations

import shutil
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from platform_core.sanctions.errors import SanctionsFileError
from platform_core.sanctions.models import (
    ListStatus,
    SanctionsAddress,
    SanctionsAlias,
    SanctionsEntry,
    SanctionsList,
)
from platform_core.sanctions.screening import screen_person
from platform_core.sanctions.services import sanctions_list_import
from tenancy.models import PlatformAuditEvent

pytestmark = pytest.mark.django_db


def _rows(lst: SanctionsList) -> tuple[int, int, int, int]:
    return (SanctionsEntry.objects.filter(sanctions_list=lst).count(),
            SanctionsAlias.objects.filter(entry__sanctions_list=lst, is_weak=False).count(),
            SanctionsAlias.objects.filter(entry__sanctions_list=lst, is_weak=True).count(),
            SanctionsAddress.objects.filter(entry__sanctions_list=lst).count())


def _copy_extract(extract_dir, tmp_path):
    target = tmp_path / "set"
    shutil.copytree(extract_dir, target)
    return target


def test_importing_the_extract_stores_exactly_its_entries_aliases_and_addresses(extract_dir):
    outcome = sanctions_list_import(directory=extract_dir, actor_label="ops@platform.test")

    lst = outcome.sanctions_list
    assert outcome.created and outcome.previous is None
    assert (lst.source, lst.version, lst.status) == ("ofac_sdn", 1, ListStatus.CURRENT)
    assert (lst.entry_count, lst.alias_count, lst.weak_alias_count, lst.address_count) == (200, 489, 55, 311)
    assert _rows(lst) == (200, 489, 55, 311)
    assert set(lst.files) == {"sdn.csv", "alt.csv", "add.csv"}
    assert all(len(meta["sha256"]) == 64 for meta in lst.files.values())
    assert PlatformAuditEvent.objects.filter(action="sanctions_list_imported", new_value="ofac_sdn v1",
                                             actor_label="ops@platform.test").exists()


def test_an_imported_entry_keeps_what_was_published_and_what_its_remarks_say(extract_list):
    marzook = SanctionsEntry.objects.get(sanctions_list=extract_list, ent_num=3754)
    vessel = SanctionsEntry.objects.get(sanctions_list=extract_list, ent_num=15038)

    assert (marzook.name, marzook.entity_type, marzook.programs) == ("ABU MARZOOK, Mousa Mohammed", "individual",
                                                                      ["SDGT"])
    assert [d["from"] for d in marzook.dates_of_birth] == ["1951-02-09"]
    assert marzook.nationality_codes == ["EG"]  # passport (Egypt)
    assert set(marzook.aliases.filter(is_weak=True).values_list("name", flat=True)) == {"ABU-'UMAR"}
    assert marzook.aliases.filter(is_weak=False).count() == 5
    assert (vessel.entity_type, vessel.name) == ("vessel", "ARGO I")
    assert vessel.addresses.count() == 1


def test_reimporting_changed_files_creates_a_new_current_version_and_keeps_the_previous(extract_dir, tmp_path):
    first = sanctions_list_import(directory=extract_dir).sanctions_list
    changed = _copy_extract(extract_dir, tmp_path)
    sdn = (changed / "sdn.csv").read_bytes()
    first_line = sdn.split(b"\r\n", 1)[0]
    (changed / "sdn.csv").write_bytes(sdn[len(first_line) + 2:])  # one entry delisted
    delisted = int(first_line.split(b",", 1)[0])
    for name in ("alt.csv", "add.csv"):
        lines = (changed / name).read_bytes().split(b"\r\n")
        kept = [ln for ln in lines if not ln.startswith(b"%d," % delisted)]
        (changed / name).write_bytes(b"\r\n".join(kept))

    second = sanctions_list_import(directory=changed)

    first.refresh_from_db()
    assert second.created and second.previous == first
    assert (first.status, second.sanctions_list.status) == (ListStatus.SUPERSEDED, ListStatus.CURRENT)
    assert second.sanctions_list.version == 2
    assert _rows(first)[0] == 200 and _rows(second.sanctions_list)[0] == 199
    assert not SanctionsEntry.objects.filter(sanctions_list=second.sanctions_list, ent_num=delisted).exists()
    assert list(SanctionsList.objects.filter(status=ListStatus.CURRENT)) == [second.sanctions_list]


def test_identical_files_are_not_imported_twice_unless_forced(extract_dir):
    first = sanctions_list_import(directory=extract_dir)

    again = sanctions_list_import(directory=extract_dir)
    forced = sanctions_list_import(directory=extract_dir, force=True)

    assert not again.created and again.sanctions_list == first.sanctions_list
    assert forced.created and forced.sanctions_list.version == 2
    assert SanctionsList.objects.count() == 2


def test_screening_switches_to_the_new_version_as_soon_as_it_is_imported(extract_dir):
    first = sanctions_list_import(directory=extract_dir).sanctions_list
    assert screen_person(full_name="Vladimir Putin").lists == (("ofac_sdn", first.pk, 1),)

    second = sanctions_list_import(directory=extract_dir, force=True).sanctions_list

    result = screen_person(full_name="Vladimir Putin")
    assert result.lists == (("ofac_sdn", second.pk, 2),)
    assert {h.list_id for h in result.hits} == {second.pk}


def test_the_database_allows_only_one_current_version_per_source(extract_list):
    with pytest.raises(IntegrityError), transaction.atomic():
        SanctionsList.objects.create(source="ofac_sdn", version=99, status=ListStatus.CURRENT)


def test_a_malformed_file_imports_nothing_and_leaves_the_current_version_alone(extract_dir, tmp_path):
    current = sanctions_list_import(directory=extract_dir).sanctions_list
    broken = _copy_extract(extract_dir, tmp_path)
    alt = (broken / "alt.csv").read_bytes().split(b"\r\n")
    alt[9] = b'99999999,1,"aka","NOBODY",-0- '  # line 10 points at no entry
    (broken / "alt.csv").write_bytes(b"\r\n".join(alt))

    with pytest.raises(SanctionsFileError, match=r"^alt\.csv line 10: ent_num 99999999 is not in sdn\.csv$"):
        sanctions_list_import(directory=broken, force=True)

    assert list(SanctionsList.objects.values_list("pk", "status")) == [(current.pk, ListStatus.CURRENT)]
    assert SanctionsEntry.objects.count() == 200


def test_a_database_failure_halfway_rolls_the_whole_import_back(extract_dir, monkeypatch):
    from platform_core.sanctions import services

    current = sanctions_list_import(directory=extract_dir).sanctions_list

    def fail_after_entries(new, parsed, *, tick):
        SanctionsEntry.objects.create(sanctions_list=new, ent_num=1, name="PARTIAL", entity_type="entity")
        raise RuntimeError("connection lost")

    monkeypatch.setattr(services, "_write_rows", fail_after_entries)
    with pytest.raises(RuntimeError, match="connection lost"):
        sanctions_list_import(directory=extract_dir, force=True)

    current.refresh_from_db()
    assert current.status == ListStatus.CURRENT
    assert SanctionsList.objects.count() == 1
    assert not SanctionsEntry.objects.filter(name="PARTIAL").exists()


def test_the_command_imports_with_a_summary_and_refuses_a_bad_set_naming_file_and_line(extract_dir, tmp_path,
                                                                                       capsys):
    call_command("import_sanctions", "--source", "ofac_sdn", "--dir", str(extract_dir), "--published-on",
                 "2023-12-28")
    out = capsys.readouterr().out
    assert "ofac_sdn v1 is current: 200 entries, 489 aliases (+55 weak), 311 addresses" in out
    assert str(SanctionsList.objects.get().published_on) == "2023-12-28"

    broken = _copy_extract(extract_dir, tmp_path)
    sdn = (broken / "sdn.csv").read_bytes().split(b"\r\n")
    at = next(i for i, line in enumerate(sdn) if i > 3 and line.endswith(b",-0- "))
    sdn[at] = sdn[at][:-len(b",-0- ")]  # this line loses its last field
    (broken / "sdn.csv").write_bytes(b"\r\n".join(sdn))
    with pytest.raises(CommandError, match=rf"Nothing was imported: sdn\.csv line {at + 1}: expected 12 fields, "
                                           rf"found 11"):
        call_command("import_sanctions", "--dir", str(broken), "--force", verbosity=0)
    assert SanctionsList.objects.count() == 1


def test_the_full_published_list_imports_in_seconds_and_screens_a_sanctioned_name(full_dir):
    started = time.perf_counter()
    lst = sanctions_list_import(directory=full_dir).sanctions_list
    seconds = time.perf_counter() - started

    assert (lst.entry_count, lst.alias_count, lst.address_count) == (13821, 17091, 18990)
    assert _rows(lst)[0] == 13821
    assert seconds < 15, f"the full list took {seconds:.1f} s to import"
    result = screen_person(full_name="Evgeny Prigozhin")
    assert 21171 in [h.ent_num for h in result.hits]
    assert screen_person(full_name="Emma Johansson").is_clear
