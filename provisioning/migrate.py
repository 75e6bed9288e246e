"""Migrating every tenant schema fast: template first, one query to skip the current ones, bounded workers.

Stock `migrate_schemas` runs Django's whole `migrate` command (~116 queries: table checks, the migration plan,
post-migrate content-type and permission handlers) in every schema even when there is nothing to apply. Here:

  1. ONE query lists every tenant schema with how many of the graph's migrations (loaded once) its
     django_migrations holds (a per-schema count the server plans on its own, via query_to_xml); schemas that
     have them all are skipped;
  2. the template schema (what new tenants are built from) is migrated first, in this process;
  3. the rest run Django's migrate (through django-tenants' run_migrations, so its signals fire) in a pool of
     `workers` forked processes, each result recorded as it arrives (MigrationRun + TenantMigrationResult
     rows in the public schema). A failing schema is recorded and the others go on.

A re-run resumes: schemas that succeeded are current and skipped by step 2, failed ones are retried, and the
new run points at the unfinished one it resumes.
"""
from __future__ import annotations

import logging
import multiprocessing
import sys
import time
import traceback
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from provisioning.models import (
    MigrationRun,
    MigrationRunStatus,
    TenantMigrationResult,
    TenantMigrationStatus,
)
from provisioning.schemas import quote_ident, template_schema
from tenancy.context import platform_context

log = logging.getLogger(__name__)

# One run at a time: a session-level advisory lock, held on a connection of its own for the whole run.
LOCK_KEY = 7_106_921_003


class MigrationLockedError(RuntimeError):
    pass


# Inherited connection objects of a forked worker: kept referenced so they are never finalised there
# (closing one would end the parent's session on the shared socket).
_INHERITED: list = []


def expected_migrations() -> frozenset[str]:
    """Every migration of the graph as 'app.name': what a current tenant schema has recorded.

    Django's migrate records every migration of every installed app in each schema (the tenant router only
    turns the shared apps' operations into no-ops there), so a current schema holds the whole graph."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(f"{app}.{name}" for app, name in loader.graph.nodes)


def tenant_schemas(expected: frozenset[str]) -> list[tuple[str, int, bool, int]]:
    """(schema_name, brokerage id, schema exists, how many of `expected` it has applied) for every tenant row
    but public, template first — in ONE query, however many schemas there are.

    Each schema's django_migrations is counted by a small statement the server plans on its own
    (query_to_xml): a 1,000-branch UNION ALL spent seconds just being planned. A row whose schema does not exist
    (a provisioning still in its transaction) or has no django_migrations comes back with 0."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.schema_name, b.id, n.oid IS NOT NULL, CASE WHEN c.oid IS NULL THEN 0 ELSE "
            "(xpath('/row/c/text()', query_to_xml(format("
            "'SELECT count(*) AS c FROM %%I.django_migrations WHERE app || ''.'' || name = ANY(%%L::text[])', "
            "b.schema_name, %s::text[]), false, true, '')))[1]::text::int END "
            "FROM tenancy_brokerage b "
            "LEFT JOIN pg_namespace n ON n.nspname = b.schema_name "
            "LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'django_migrations' AND c.relkind = 'r' "
            "WHERE b.schema_name <> %s ORDER BY (b.schema_name = %s) DESC, b.id",
            [sorted(expected), settings.PUBLIC_SCHEMA_NAME, template_schema()],
        )
        return list(cursor.fetchall())


def applied_set(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{quote_ident(schema)}.django_migrations"])
        if not cursor.fetchone()[0]:
            return set()
        cursor.execute(f"SELECT app || '.' || name FROM {quote_ident(schema)}.django_migrations")
        return {row[0] for row in cursor.fetchall()}


@dataclass
class SchemaOutcome:
    schema: str
    ok: bool
    applied: list[str] = field(default_factory=list)
    error: str = ""
    duration_ms: int = 0


def migrate_options(verbosity: int = 0) -> dict:
    """Django migrate's full option set (its parser defaults), as migrate_schemas passes them on."""
    from django_tenants.utils import get_tenant_base_migrate_command_class

    command = get_tenant_base_migrate_command_class()()
    options = vars(command.create_parser("manage.py", "migrate").parse_args([]))
    options.update(verbosity=verbosity, interactive=False, skip_checks=True)
    return options


def migrate_schema(schema: str, verbosity: int = 0) -> SchemaOutcome:
    """Run Django's migrate in one schema; never raises (the failure is the outcome)."""
    from django_tenants.migration_executors.base import run_migrations

    started = time.perf_counter()
    before: set[str] = set()
    try:
        before = applied_set(schema)
        run_migrations([], migrate_options(verbosity), "brokeros", schema, allow_atomic=False)
        connection.set_schema_to_public()
        applied = sorted(applied_set(schema) - before)
        return SchemaOutcome(schema, True, applied, duration_ms=int((time.perf_counter() - started) * 1000))
    except Exception as exc:  # a failing tenant is reported, never stops the others
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        applied: list[str] = []
        try:
            connection.close()  # an aborted transaction or a broken session: start clean
            connection.set_schema_to_public()
            applied = sorted(applied_set(schema) - before)
        except Exception:  # noqa: BLE001 - best effort: the error above is what matters
            pass
        return SchemaOutcome(schema, False, applied, detail[:4000], int((time.perf_counter() - started) * 1000))


def _worker_init() -> None:
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _INHERITED.append(conn.connection)
            conn.connection = None


def _worker_run(args: tuple[str, int]) -> SchemaOutcome:
    schema, verbosity = args
    return migrate_schema(schema, verbosity)


def _record(run: MigrationRun, outcome: SchemaOutcome, brokerage_id: int | None) -> None:
    status = TenantMigrationStatus.SUCCEEDED if outcome.ok else TenantMigrationStatus.FAILED
    TenantMigrationResult.objects.create(run=run, brokerage_id=brokerage_id, schema_name=outcome.schema,
                                         status=status, applied=outcome.applied, error=outcome.error,
                                         duration_ms=outcome.duration_ms)
    if outcome.ok:
        run.succeeded += 1
    else:
        run.failed += 1
        log.error("migrating %s failed: %s", outcome.schema, outcome.error.splitlines()[-1] if outcome.error else "")
    run.save(update_fields=["succeeded", "failed"])  # an interrupted run still shows how far it got


def migrate_tenants(*, workers: int = 2, only: list[str] | None = None, progress: bool = True,
                    verbosity: int = 0, stream=None) -> MigrationRun:
    """Bring every tenant schema (or those in `only`, always with the template first) to the current graph."""
    stream = stream or sys.stderr
    lock = _lock_acquire()
    try:
        return _migrate_tenants(workers=workers, only=only, progress=progress, verbosity=verbosity, stream=stream)
    finally:
        lock.close()  # ends the session, releasing the lock


def _lock_acquire():
    """A separate connection holding the run lock (forked workers never touch it; they exit with os._exit)."""
    from django.db import DEFAULT_DB_ALIAS

    lock = connections.create_connection(DEFAULT_DB_ALIAS)
    with lock.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        acquired = cursor.fetchone()[0]
    if not acquired:
        lock.close()
        raise MigrationLockedError("Another migrate_tenants run is in progress; try again when it has finished.")
    return lock


def _migrate_tenants(*, workers: int, only: list[str] | None, progress: bool, verbosity: int, stream) -> MigrationRun:
    started = time.perf_counter()
    with platform_context():
        # We hold the run lock: a run still marked running was interrupted (killed, crashed). Say so.
        MigrationRun.objects.filter(status=MigrationRunStatus.RUNNING).update(status=MigrationRunStatus.FAILED)
        previous = MigrationRun.objects.first()
        resumed = previous if previous and previous.status != MigrationRunStatus.SUCCEEDED else None
        run = MigrationRun.objects.create(workers=max(1, workers), resumed_from=resumed)
        expected = expected_migrations()
        run.expected_migrations = len(expected)

        # 1. The template first, in this process: new tenants are built from it.
        template = template_schema()
        check_started = time.perf_counter()
        rows = tenant_schemas(expected)
        run.check_ms = int((time.perf_counter() - check_started) * 1000)
        ids = {name: pk for name, pk, _, _ in rows}
        if only is not None:
            wanted = set(only) | {template}
            rows = [r for r in rows if r[0] in wanted]
        missing = [r for r in rows if not r[2]]
        for name, pk, _, _ in missing:
            TenantMigrationResult.objects.create(run=run, brokerage_id=pk, schema_name=name,
                                                 status=TenantMigrationStatus.MISSING,
                                                 error="The schema does not exist; left alone.")
        run.missing = len(missing)
        present = [r for r in rows if r[2]]
        run.schemas_total = len(present)
        behind = [name for name, _, _, applied in present if applied < len(expected)]
        run.up_to_date = len(present) - len(behind)
        run.save()

        if template in behind:
            behind.remove(template)
            outcome = migrate_schema(template, verbosity)
            _record(run, outcome, ids.get(template))
            if not outcome.ok:
                # Tenants cloned from a broken template would be broken too: stop here.
                return _finish(run, started)
            _blueprint_refresh()

        # 2. Everyone else, in bounded parallel workers.
        if behind:
            for outcome in _run_pool(behind, workers, verbosity, progress, stream):
                _record(run, outcome, ids.get(outcome.schema))
        return _finish(run, started)


def _blueprint_refresh() -> None:
    """Render the blueprint for the template's new state now, so the next provisioning stays fast."""
    from provisioning import schemas

    try:
        schemas.blueprint_ensure()
    except schemas.SchemaBuildError as exc:  # provisioning renders it later, or falls back to migrations
        log.warning("blueprint not refreshed after migrating the template: %s", exc)


def _run_pool(schemas_to_run: list[str], workers: int, verbosity: int, progress: bool, stream):
    from tqdm import tqdm

    bar = tqdm(total=len(schemas_to_run), desc="migrating tenants", unit="schema", file=stream,
               disable=not progress)
    try:
        if workers <= 1 or len(schemas_to_run) == 1:
            for schema in schemas_to_run:
                outcome = migrate_schema(schema, verbosity)
                connection.set_schema_to_public()
                bar.update()
                yield outcome
            return
        # Forked workers inherit the loaded apps and settings; the parent's connections are closed first so no
        # child shares a live socket with it.
        connections.close_all()
        context = multiprocessing.get_context("fork")
        with context.Pool(processes=min(workers, len(schemas_to_run)), initializer=_worker_init) as pool:
            for outcome in pool.imap_unordered(_worker_run, [(s, verbosity) for s in schemas_to_run]):
                bar.update()
                if not outcome.ok:
                    bar.write(f"FAILED {outcome.schema}: {outcome.error.splitlines()[-1] if outcome.error else ''}")
                yield outcome
    finally:
        bar.close()
        connection.set_schema_to_public()


def _finish(run: MigrationRun, started: float) -> MigrationRun:
    run.status = MigrationRunStatus.FAILED if run.failed else MigrationRunStatus.SUCCEEDED
    run.finished_at = timezone.now()
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    run.save()
    return run


# --- reads for the console ----------------------------------------------------------------

def last_run() -> MigrationRun | None:
    return MigrationRun.objects.first()


def failures_of(run: MigrationRun) -> list[TenantMigrationResult]:
    return list(run.results.filter(status=TenantMigrationStatus.FAILED).select_related("brokerage")
                .order_by("schema_name"))


def last_result_for(schema_name: str) -> TenantMigrationResult | None:
    return TenantMigrationResult.objects.filter(schema_name=schema_name).select_related("run").first()
