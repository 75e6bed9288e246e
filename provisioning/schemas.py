"""Building tenant schemas fast: template, blueprint replay, spare pool, and migrations as the fallback.

Three ways to get a fully migrated schema, fastest first:
  pool       — rename a pre-built spare schema (`ALTER SCHEMA ... RENAME`): a catalog update, flat in
               the number of tenants. Spares are Brokerage rows of kind "spare", so `migrate_schemas`
               keeps them current; a worker refills the pool after each claim.
  blueprint  — replay the template schema's DDL, rendered once per migration state by pg_dump, in the
               caller's transaction (stock cloning's catalog queries grow with the catalog; this doesn't).
  migrations — CREATE SCHEMA + run every migration. Slow, always correct; the reference the others are
               tested against (tables, columns, indexes, constraints, sequences must be identical).
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import schema_exists

from tenancy.context import platform_context
from tenancy.models import Brokerage, BrokerageKind, BrokerageStatus

log = logging.getLogger(__name__)

PLACEHOLDER = "__BROKEROS_SCHEMA__"
SCHEMA_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class SchemaBuildError(RuntimeError):
    pass


def template_schema() -> str:
    return settings.TENANT_TEMPLATE_SCHEMA


def quote_ident(name: str) -> str:
    if not SCHEMA_NAME_RE.match(name):
        raise SchemaBuildError(f"Refusing unsafe schema name {name!r}.")
    return f'"{name}"'


# --- migrations (reference path) ---------------------------------------------------------

def build_by_migrations(schema: str, *, verbosity: int = 0) -> None:
    """CREATE SCHEMA and run every tenant migration into it. Not transactional (migrations commit)."""
    if connection.in_atomic_block:
        raise SchemaBuildError("Building a schema by migrations cannot run inside a transaction.")
    with platform_context():
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
        call_command("migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=verbosity)
    connection.set_schema_to_public()


def ensure_template(*, verbosity: int = 0) -> Brokerage:
    """The template is an ordinary (empty) tenant row, so `migrate_schemas` keeps it current."""
    name = template_schema()
    with platform_context():
        template, _ = Brokerage.objects.get_or_create(
            schema_name=name,
            defaults={"name": "Template schema", "slug": "brokeros-template", "kind": BrokerageKind.TEMPLATE,
                      "status": BrokerageStatus.ACTIVE},
        )
    if not schema_exists(name):
        build_by_migrations(name, verbosity=verbosity)
    return template


def migration_fingerprint(schema: str) -> str:
    """md5 over the migrations applied in a schema; equal fingerprints mean equal migration states."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT coalesce(md5(string_agg(app || '.' || name, ',' ORDER BY app, name)), '') "
            f"FROM {quote_ident(schema)}.django_migrations"
        )
        return cursor.fetchone()[0]


# --- blueprint replay --------------------------------------------------------------------

def _pg_env_and_args() -> tuple[dict, list[str]]:
    db = connection.settings_dict
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    args = ["-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432), "-U", db.get("USER") or "postgres"]
    return env, args


def pg_tool(name: str) -> str:
    """Find pg_dump/psql, preferring the newest installed server version's client (must be ≥ the server)."""
    candidates = sorted(
        (os.path.join(root, v, "bin", name) for root in ["/usr/lib/postgresql"] if os.path.isdir(root)
         for v in os.listdir(root)),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p)[:1]] or [0],
        reverse=True,
    )
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if not found:
        raise SchemaBuildError(f"{name} is not installed; install the PostgreSQL client tools.")
    return found


def rewrite_schema_sql(sql: str, *, source: str, target: str) -> str:
    """Point a plain-format pg_dump of `source` at `target`, touching statements but never row data.

    Every schema-qualified name (`source.x`, `"source".x`, `'source.x'`) is re-pointed. COPY data blocks and
    INSERT values are left alone. A statement about schemas (or a search_path) that still names the source
    afterwards is refused rather than guessed at. Function bodies must not name their schema (our
    migrations write unqualified names); schema_signature comparisons in the tests prove the result.
    """
    qualified = re.compile(rf'(?<![\w"]){re.escape(source)}(?=\.)|"{re.escape(source)}"(?=\.)')
    bare = re.compile(rf"(?<![\w]){re.escape(source)}(?![\w])")
    out: list[str] = []
    in_copy = False
    for line in sql.splitlines():
        if in_copy:
            if line == "\\.":
                in_copy = False
            out.append(line)
            continue
        if line.startswith("--") or not line.strip():
            continue
        if line.startswith(("SET ", "SELECT pg_catalog.set_config(", "\\restrict", "\\unrestrict")):
            continue  # session settings and psql meta-commands; every statement below is schema-qualified
        if line.startswith("CREATE SCHEMA "):
            out.append(f"CREATE SCHEMA {target};")
            continue
        if line.startswith("INSERT INTO "):
            prefix, sep, values = line.partition(" VALUES ")
            out.append(qualified.sub(target, prefix) + sep + values)
            continue
        if line.startswith("COPY "):
            in_copy = True
        rewritten = qualified.sub(target, line)
        # Column or index names may equal the schema name (a brokerage called "email"); only statements that
        # name schemas (ALTER ... SET SCHEMA, search_path settings on functions) must not still mention it.
        if ("SCHEMA" in rewritten.upper() or "SEARCH_PATH" in rewritten.upper()) and bare.search(rewritten):
            raise SchemaBuildError(f"Unexpected '{source}' left in a statement after rewrite: {rewritten[:200]}")
        out.append(rewritten)
    return "\n".join(out) + "\n"


def dump_schema(schema: str, *, data_as_inserts: bool) -> str:
    env, args = _pg_env_and_args()
    cmd = [pg_tool("pg_dump"), *args, "--schema", schema, "--no-owner", "--no-privileges", "--no-comments",
           "--no-tablespaces", "--no-publications", "--no-subscriptions", "--no-security-labels"]
    if data_as_inserts:
        cmd.append("--inserts")
    cmd.append(connection.settings_dict["NAME"])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SchemaBuildError(f"pg_dump failed: {proc.stderr.strip()[:500]}")
    return proc.stdout


def blueprint_current(*, create: bool = True):
    """The blueprint matching the template's migration state, rendered now if missing."""
    from provisioning.models import SchemaBlueprint

    with platform_context():
        fingerprint = migration_fingerprint(template_schema())
        blueprint = SchemaBlueprint.objects.filter(fingerprint=fingerprint).first()
        if blueprint is not None or not create:
            return blueprint
        started = time.perf_counter()
        raw = dump_schema(template_schema(), data_as_inserts=True)
        sql = rewrite_schema_sql(raw, source=template_schema(), target=PLACEHOLDER)
        tables = len(re.findall(r"^CREATE TABLE ", sql, flags=re.M))
        statements = sql.count(";\n")
        blueprint, _ = SchemaBlueprint.objects.get_or_create(
            fingerprint=fingerprint,
            defaults={"sql": sql, "table_count": tables, "statement_count": statements,
                      "render_ms": int((time.perf_counter() - started) * 1000)},
        )
        log.info("rendered schema blueprint %s: %d tables in %d ms", fingerprint[:10], tables, blueprint.render_ms)
        return blueprint


def blueprint_ensure() -> bool:
    """True once a blueprint for the template's current migrations exists (rendered now if missing)."""
    from provisioning.models import SchemaBlueprint

    with platform_context():
        if SchemaBlueprint.objects.filter(fingerprint=migration_fingerprint(template_schema())).exists():
            return True
    return blueprint_current() is not None


def build_by_blueprint(schema: str) -> None:
    """Replay the blueprint into a new schema, inside the caller's transaction (all or nothing)."""
    blueprint = blueprint_current()
    sql = blueprint.sql.replace(PLACEHOLDER, quote_ident(schema))
    with platform_context(), connection.cursor() as cursor:
        cursor.execute(sql)


# --- spare pool ---------------------------------------------------------------------------

def spare_count() -> int:
    with platform_context():
        return Brokerage.objects.filter(kind=BrokerageKind.SPARE).count()


def spare_create() -> str:
    """Build one spare schema by blueprint replay and register it (so migrations keep it current)."""
    token = secrets.token_hex(6)
    schema = f"spare_{token}"
    with platform_context(), transaction.atomic():
        Brokerage.objects.create(schema_name=schema, slug=f"spare-{token}", name="Spare schema",
                                 kind=BrokerageKind.SPARE, status=BrokerageStatus.ACTIVE)
        build_by_blueprint(schema)
    return schema


def spare_pool_refill(*, target: int | None = None) -> int:
    """Top the pool up to `target` spares; returns how many were made."""
    target = settings.PROVISIONING_SPARE_POOL_SIZE if target is None else target
    made = 0
    while spare_count() < target:
        spare_create()
        made += 1
    return made


def spare_claim(target_schema: str) -> bool:
    """Rename a current spare to `target_schema` inside the caller's transaction. False if none is usable.

    SKIP LOCKED lets concurrent provisionings take different spares without waiting on each other.
    """
    if not connection.in_atomic_block:
        raise SchemaBuildError("spare_claim must run inside the provisioning transaction.")
    with platform_context():
        wanted = migration_fingerprint(template_schema())
        spares = (Brokerage.objects.filter(kind=BrokerageKind.SPARE)
                  .select_for_update(skip_locked=True).order_by("id"))
        for spare in spares[:3]:
            if migration_fingerprint(spare.schema_name) != wanted:
                log.warning("spare %s is behind the template's migrations; dropping it", spare.schema_name)
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP SCHEMA {quote_ident(spare.schema_name)} CASCADE")
                Brokerage.objects.filter(pk=spare.pk).delete()
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER SCHEMA {quote_ident(spare.schema_name)} RENAME TO {quote_ident(target_schema)}")
                # A spare row has no domains, jobs or audit events pointing at it: a plain DELETE suffices.
                cursor.execute("DELETE FROM tenancy_brokerage WHERE id = %s AND kind = 'spare'", [spare.pk])
            return True
    return False


# --- comparing schemas --------------------------------------------------------------------

_ARRAY_CAST = re.compile(r"\(ARRAY\[((?:'[^']*'::character varying(?:, )?)+)\]\)::text\[\]")
_ARRAY_ELEMENT = re.compile(r"'[^']*'::character varying")


def canonical_in_lists(text: str) -> str:
    """PostgreSQL deparses `col IN ('a','b')` on a varchar column as `(ARRAY['a'::varchar, …])::text[]` when the
    index/constraint was created by Django, but as `ARRAY[('a'::varchar)::text, …]` after a dump and replay.
    Same meaning, different text: compare them in one spelling."""
    return _ARRAY_CAST.sub(
        lambda m: "ARRAY[" + ", ".join(f"({e})::text" for e in _ARRAY_ELEMENT.findall(m.group(1))) + "]", text)


@dataclass(frozen=True)
class SchemaSignature:
    tables: frozenset
    columns: frozenset
    indexes: frozenset
    constraints: frozenset
    sequences: frozenset
    migrations: frozenset
    triggers: frozenset
    functions: frozenset


def schema_signature(schema: str) -> SchemaSignature:
    """Everything that makes two schemas 'the same', with the schema's own name normalised away."""

    def norm(text: str | None) -> str:
        return canonical_in_lists((text or "").replace(f'"{schema}".', "S.").replace(f"{schema}.", "S."))

    q = quote_ident(schema)
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        tables = frozenset(r[0] for r in cursor.fetchall())
        cursor.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default, character_maximum_length, "
            "numeric_precision, numeric_scale, is_identity FROM information_schema.columns WHERE table_schema = %s",
            [schema],
        )
        columns = frozenset(tuple(norm(str(v)) for v in r) for r in cursor.fetchall())
        cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s", [schema])
        indexes = frozenset((r[0], r[1], norm(r[2])) for r in cursor.fetchall())
        cursor.execute(
            "SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid) FROM pg_constraint con "
            "JOIN pg_class rel ON rel.oid = con.conrelid JOIN pg_namespace n ON n.oid = rel.relnamespace "
            "WHERE n.nspname = %s",
            [schema],
        )
        constraints = frozenset((r[0], r[1], r[2], norm(r[3])) for r in cursor.fetchall())
        cursor.execute(
            "SELECT sequence_name, data_type, start_value, increment FROM information_schema.sequences "
            "WHERE sequence_schema = %s",
            [schema],
        )
        sequences = frozenset(tuple(map(str, r)) for r in cursor.fetchall())
        cursor.execute(f"SELECT app, name FROM {q}.django_migrations")
        migrations = frozenset(cursor.fetchall())
        # Triggers (e.g. the audit table's append-only guard) and the functions they call: a build path that
        # loses one, or alters a function body, must show up here.
        cursor.execute(
            "SELECT rel.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled FROM pg_trigger t "
            "JOIN pg_class rel ON rel.oid = t.tgrelid JOIN pg_namespace n ON n.oid = rel.relnamespace "
            "WHERE n.nspname = %s AND NOT t.tgisinternal",
            [schema],
        )
        triggers = frozenset((r[0], r[1], norm(r[2]), r[3]) for r in cursor.fetchall())
        cursor.execute(
            "SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid) "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.prokind IN ('f', 'p')",
            [schema],
        )
        functions = frozenset((r[0], r[1], norm(r[2])) for r in cursor.fetchall())
    return SchemaSignature(tables, columns, indexes, constraints, sequences, migrations, triggers, functions)


def drop_schema(schema: str) -> None:
    with platform_context(), connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
