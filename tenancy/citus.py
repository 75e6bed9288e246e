"""Readiness for Citus schema-based sharding (`citus.enable_schema_based_sharding`), read from the real catalog.

With schema-based sharding every tenant schema becomes a distributed schema living on one worker node; the public
schema stays on the coordinator. What that needs from a tenant schema, checked here (`manage.py citus_check`):

* no foreign key from a tenant table to a table in another schema — another tenant's would be on another node, and
  a public table would have to be made a reference table first (`create_reference_table`): listed, a blocker;
* a primary key (or replica identity) on every table: the rebalancer moves a schema between nodes by logical
  replication, which cannot replicate UPDATE/DELETE of a table without one: a blocker;
* 64-bit identity columns: not a Citus requirement but the capacity one for many tenants' data on few nodes;
  BrokerOS's own models use BigAutoField; the 32-bit ones come from Django's and allauth's own apps (permissions,
  content types, e-mail addresses, social accounts — small per-tenant tables): reported as warnings.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

_CROSS_SCHEMA_FKS = """
SELECT l.relname, r_ns.nspname, r.relname, c.conname
FROM pg_constraint c
JOIN pg_class l ON l.oid = c.conrelid JOIN pg_namespace l_ns ON l_ns.oid = l.relnamespace
JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace r_ns ON r_ns.oid = r.relnamespace
WHERE c.contype = 'f' AND l_ns.nspname = %(schema)s AND r_ns.nspname <> %(schema)s
ORDER BY 1, 4
"""
_NO_PRIMARY_KEY = """
SELECT t.relname FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = %(schema)s AND t.relkind IN ('r', 'p') AND t.relreplident <> 'f'
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = t.oid AND c.contype = 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid AND i.indisreplident)
ORDER BY 1
"""
_SMALL_IDENTITIES = """
SELECT t.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = %(schema)s AND t.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
  AND a.atttypid <> 'int8'::regtype
  AND (a.attidentity <> '' OR pg_get_serial_sequence(format('%%I.%%I', n.nspname, t.relname), a.attname) IS NOT NULL)
ORDER BY 1
"""


@dataclass
class CitusReport:
    schema: str
    cross_schema_fks: list[tuple[str, str, str, str]] = field(default_factory=list)
    without_primary_key: list[str] = field(default_factory=list)
    small_identities: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def blockers(self) -> list[str]:
        return ([f"{t}: foreign key {name} to {ns}.{r} (another schema)" for t, ns, r, name in self.cross_schema_fks]
                + [f"{t}: no primary key or replica identity" for t in self.without_primary_key])

    @property
    def warnings(self) -> list[str]:
        return [f"{t}.{col} is {typ} (32-bit identity)" for t, col, typ in self.small_identities]


def citus_readiness(schema: str) -> CitusReport:
    report = CitusReport(schema=schema)
    with connection.cursor() as cursor:
        cursor.execute(_CROSS_SCHEMA_FKS, {"schema": schema})
        report.cross_schema_fks = [tuple(r) for r in cursor.fetchall()]
        cursor.execute(_NO_PRIMARY_KEY, {"schema": schema})
        report.without_primary_key = [r[0] for r in cursor.fetchall()]
        cursor.execute(_SMALL_IDENTITIES, {"schema": schema})
        report.small_identities = [tuple(r) for r in cursor.fetchall()]
    return report
