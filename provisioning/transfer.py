"""Export one brokerage (schema dump + files + manifest) and restore it under a new slug."""
from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from provisioning import schemas
from provisioning.errors import ProvisioningError
from provisioning.validation import provisioning_input_validate
from tenancy.context import platform_context
from tenancy.models import Brokerage, BrokerageKind, BrokerageStatus, Domain
from tenancy.services import brokerage_change_status, platform_audit

log = logging.getLogger(__name__)
FORMAT = "brokeros-tenant-export/1"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    tables: int
    rows: int
    files: int
    seconds: float


def _row_counts(schema: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE' "
            "ORDER BY table_name", [schema])
        tables = [r[0] for r in cursor.fetchall()]
        if not tables:
            return {}
        q = schemas.quote_ident(schema)
        cursor.execute(" UNION ALL ".join(f"SELECT %s, count(*) FROM {q}.\"{t}\"" for t in tables), tables)
        return {name: count for name, count in cursor.fetchall()}


def brokerage_export(*, slug: str, out_path: str | Path, actor=None) -> ExportResult:
    """Write <out_path> (.tar.gz): manifest.json, schema.sql (pg_dump), media/ (the tenant's files)."""
    started = time.perf_counter()
    with platform_context():
        brokerage = Brokerage.objects.filter(slug=slug, kind=BrokerageKind.BROKERAGE).prefetch_related("domains").first()
        if brokerage is None:
            raise ProvisioningError(f"No brokerage with the slug '{slug}'.")
        dump = schemas.dump_schema(brokerage.schema_name, data_as_inserts=False)
        counts = _row_counts(brokerage.schema_name)
        manifest = {
            "format": FORMAT,
            "exported_at": timezone.now().isoformat(),
            "brokerage": {"slug": brokerage.slug, "name": brokerage.name, "schema_name": brokerage.schema_name,
                          "timezone": brokerage.timezone, "default_language": brokerage.default_language,
                          "status": brokerage.status},
            "domains": [d.domain for d in brokerage.domains.all()],
            "migrations": schemas.migration_fingerprint(brokerage.schema_name),
            "row_counts": counts,
        }
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    media_dir = Path(settings.MEDIA_ROOT) / brokerage.schema_name
    files = 0
    with tarfile.open(out_path, "w:gz") as tar:
        for name, data in (("manifest.json", json.dumps(manifest, indent=2).encode()), ("schema.sql", dump.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
        if media_dir.is_dir():
            for path in sorted(media_dir.rglob("*")):
                if path.is_file():
                    tar.add(path, arcname=f"media/{path.relative_to(media_dir)}")
                    files += 1
    platform_audit(actor=actor, action="brokerage.exported", brokerage=brokerage,
                   new_value=f"{sum(counts.values())} rows, {files} files")
    return ExportResult(out_path, len(counts), sum(counts.values()), files, time.perf_counter() - started)


def _read_archive(path: Path) -> tuple[dict, str, tarfile.TarFile]:
    try:
        tar = tarfile.open(path, "r:gz")
        manifest = json.loads(tar.extractfile("manifest.json").read())
        sql = tar.extractfile("schema.sql").read().decode()
    except (OSError, KeyError, tarfile.TarError, ValueError, AttributeError) as exc:
        raise ProvisioningError(f"'{path}' is not a BrokerOS tenant export ({exc.__class__.__name__}).") from exc
    if manifest.get("format") != FORMAT:
        raise ProvisioningError(f"Unsupported export format {manifest.get('format')!r}; expected {FORMAT}.")
    return manifest, sql, tar


def brokerage_restore(*, archive: str | Path, slug: str, name: str = "", actor=None) -> Brokerage:
    """Restore an export as a NEW brokerage `slug`, leaving the original untouched. All or nothing."""
    archive = Path(archive)
    manifest, sql, tar = _read_archive(archive)
    source = manifest["brokerage"]
    with platform_context():
        params = provisioning_input_validate(
            name=name or f"{source['name']} (restored)", slug=slug, admin_email="", require_admin=False,
            timezone=source.get("timezone", "UTC"), language=source.get("default_language", "en"),
        )
        try:
            rewritten = schemas.rewrite_schema_sql(sql, source=source["schema_name"],
                                                   target=schemas.quote_ident(params.schema_name))
        except schemas.SchemaBuildError as exc:
            raise ProvisioningError(f"The export cannot be restored under a new name: {exc}") from exc
        brokerage = Brokerage.objects.create(
            name=params.name, slug=params.slug, schema_name=params.schema_name, kind=BrokerageKind.BROKERAGE,
            status=BrokerageStatus.PROVISIONING, timezone=params.timezone, default_language=params.language,
        )
    try:
        env, args = schemas._pg_env_and_args()
        proc = subprocess.run(
            [schemas.pg_tool("psql"), *args, "-d", connection.settings_dict["NAME"], "-v", "ON_ERROR_STOP=1",
             "--single-transaction", "-q", "-f", "-"],
            input=rewritten, env=env, capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise ProvisioningError(f"Restoring the schema failed: {proc.stderr.strip()[:500]}")
        # An export from an older release is brought up to date; a newer one has migrations we don't know.
        if schemas.migration_fingerprint(params.schema_name) != schemas.migration_fingerprint(schemas.template_schema()):
            call_command("migrate_schemas", schema_name=params.schema_name, tenant=True, interactive=False, verbosity=0)
            connection.set_schema_to_public()
        media_target = Path(settings.MEDIA_ROOT) / params.schema_name
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("media/"):
                relative = Path(member.name[len("media/"):])
                if relative.is_absolute() or ".." in relative.parts:
                    raise ProvisioningError(f"Refusing unsafe path in export: {member.name}")
                destination = media_target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(destination, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        with platform_context(), transaction.atomic():
            Domain.objects.create(domain=params.primary_domain, tenant=brokerage, is_primary=True)
    except Exception:
        with platform_context():
            schemas.drop_schema(params.schema_name)
            Domain.objects.filter(tenant=brokerage).delete()
            Brokerage.objects.filter(pk=brokerage.pk).delete()
        shutil.rmtree(Path(settings.MEDIA_ROOT) / params.schema_name, ignore_errors=True)
        raise
    finally:
        tar.close()
    platform_audit(actor=actor, action="brokerage.restored", brokerage=brokerage, old_value=source["slug"],
                   new_value=params.slug, reason=f"from {archive.name}")
    return brokerage_change_status(brokerage_id=brokerage.pk, action="activate", actor=actor,
                                   reason=f"restored from {source['slug']}")
