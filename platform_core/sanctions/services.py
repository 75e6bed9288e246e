"""Writes on sanctions lists: import a new version (all or nothing, switched to current atomically) and
fan a list update out to every active brokerage for re-screening."""
from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from psycopg.types.json import Jsonb

from platform_core.sanctions import ofac
from platform_core.sanctions.models import (
    ListSource,
    ListStatus,
    SanctionsAddress,
    SanctionsAlias,
    SanctionsEntry,
    SanctionsList,
)
from platform_core.sanctions.screening import forget_current_version
from tenancy.context import platform_context
from tenancy.services import platform_audit

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]  # (stage, rows done since the last call)


@dataclass(frozen=True)
class ImportOutcome:
    sanctions_list: SanctionsList
    created: bool  # False: the files are byte-identical to the current version, nothing was written
    previous: SanctionsList | None


def _copy(cursor, model, columns: list[str], rows, types: list[str], tick: Callable[[int], None]) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in columns)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        copy.set_types(types)
        done = 0
        for row in rows:
            copy.write_row(row)
            done += 1
            if done % 2000 == 0:
                tick(2000)
        tick(done % 2000)


def sanctions_list_import(*, source: str = ListSource.OFAC_SDN, directory: str | Path | None = None,
                          files: dict[str, bytes] | None = None, published_on: date | None = None,
                          force: bool = False, actor_label: str = "cli",
                          progress: Progress | None = None) -> ImportOutcome:
    """Import a published set of files as the new current version of `source`; the previous version is kept
    (superseded). Files byte-identical to the current version create nothing unless force=True.

    Raises SanctionsFileError (naming file and line) before touching the database when a file is malformed;
    a database error rolls everything back. Re-screening of every brokerage is sent after commit.
    """
    if source != ListSource.OFAC_SDN:
        raise ValueError(f"No importer for source {source!r}.")
    report = progress or (lambda stage, n: None)
    started = time.perf_counter()
    if files is None:
        files = ofac.read_directory(directory)
    parsed = ofac.parse_set(files, progress=partial(report, "read"))
    location = str(Path(directory).resolve()) if directory is not None else ""

    with platform_context(), transaction.atomic():
        # One import per source at a time; readers keep seeing the old current version until commit.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(f"sanctions:{source}".encode())])
        previous = SanctionsList.objects.select_for_update().filter(source=source, status=ListStatus.CURRENT).first()
        if previous is not None and previous.checksums == parsed.checksums and not force:
            return ImportOutcome(sanctions_list=previous, created=False, previous=previous)
        version = (SanctionsList.objects.filter(source=source).aggregate(v=Max("version"))["v"] or 0) + 1
        if previous is not None:
            previous.status = ListStatus.SUPERSEDED
            previous.save(update_fields=["status"])
        new = SanctionsList.objects.create(
            source=source, version=version, published_on=published_on, status=ListStatus.CURRENT,
            imported_by=actor_label, source_location=location, files=parsed.files,
            entry_count=len(parsed.entries),
            alias_count=sum(1 for a in parsed.aliases if not a.is_weak),
            weak_alias_count=sum(1 for a in parsed.aliases if a.is_weak),
            address_count=len(parsed.addresses),
        )
        _write_rows(new, parsed, tick=partial(report, "write"))
        new.import_ms = int((time.perf_counter() - started) * 1000)
        new.save(update_fields=["import_ms"])
        platform_audit(actor_label=actor_label, action="sanctions_list_imported",
                       old_value=f"{source} v{previous.version}" if previous else "",
                       new_value=f"{source} v{new.version}",
                       reason=f"{new.entry_count} entries, {new.alias_count} aliases (+{new.weak_alias_count} weak), "
                              f"{new.address_count} addresses from {location or 'uploaded files'}")
        from platform_core.sanctions.tasks import sanctions_list_updated

        transaction.on_commit(partial(sanctions_list_updated.send, new.pk))
    # This process screens against the new version at once; other processes within CURRENT_CHECK_S.
    forget_current_version(source)
    log.info("imported %s v%s: %d entries in %d ms", source, new.version, new.entry_count, new.import_ms)
    return ImportOutcome(sanctions_list=new, created=True, previous=previous)


def _write_rows(new: SanctionsList, parsed: ofac.OfacSet, *, tick: Callable[[int], None]) -> None:
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's cursor: COPY is an order of magnitude faster than INSERTs
        _copy(raw, SanctionsEntry,
              ["sanctions_list", "ent_num", "name", "entity_type", "programs", "title", "call_sign", "vessel_type",
               "tonnage", "gross_registered_tonnage", "vessel_flag", "vessel_owner", "remarks", "dates_of_birth",
               "nationalities", "nationality_codes"],
              ((new.pk, e.ent_num, e.name, e.entity_type, e.programs, e.title, e.call_sign, e.vessel_type, e.tonnage,
                e.gross_registered_tonnage, e.vessel_flag, e.vessel_owner, e.remarks, Jsonb(e.dates_of_birth),
                e.nationalities, e.nationality_codes) for e in parsed.entries),
              ["bigint", "integer", "text", "varchar", "text[]", "text", "text", "text", "text", "text", "text",
               "text", "text", "jsonb", "text[]", "varchar[]"], tick)
        ids = dict(SanctionsEntry.objects.filter(sanctions_list=new).values_list("ent_num", "id"))
        _copy(raw, SanctionsAlias, ["entry", "alt_num", "alt_type", "name", "remarks", "is_weak"],
              ((ids[a.ent_num], a.alt_num, a.alt_type, a.name, a.remarks, a.is_weak) for a in parsed.aliases),
              ["bigint", "integer", "varchar", "text", "text", "bool"], tick)
        _copy(raw, SanctionsAddress, ["entry", "add_num", "address", "city", "country", "remarks"],
              ((ids[a.ent_num], a.add_num, a.address, a.city, a.country, a.remarks) for a in parsed.addresses),
              ["bigint", "integer", "text", "text", "text", "text"], tick)


def sanctions_rescreen_fan_out(*, list_id: int) -> int:
    """Send `rescreen_all_clients` to every active brokerage for this list version; returns messages sent."""
    from platform_core.sanctions.tasks import rescreen_all_clients
    from tenancy.models import Brokerage
    from tenancy.workers import send_to_tenant

    with platform_context():
        schemas = list(Brokerage.objects.active().order_by("id").values_list("schema_name", flat=True))
        for schema in schemas:
            send_to_tenant(rescreen_all_clients, schema, list_id)
        SanctionsList.objects.filter(pk=list_id).update(rescreen_sent_at=timezone.now())
    log.info("sanctions list %s: re-screening sent to %d brokerage(s)", list_id, len(schemas))
    return len(schemas)
