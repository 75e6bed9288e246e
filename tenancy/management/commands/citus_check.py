"""manage.py citus_check [--schema S]: what would block moving tenant schemas to Citus schema-based sharding."""
from django.core.management.base import BaseCommand, CommandError

from tenancy.citus import citus_readiness


class Command(BaseCommand):
    help = "Check a tenant schema (default: the template schema) for Citus schema-based sharding."

    def add_arguments(self, parser):
        parser.add_argument("--schema", help="a tenant schema (default: the template every brokerage is cloned from)")

    def handle(self, *args, schema=None, **options):
        from django.db import connection

        from provisioning.schemas import template_schema

        schema = schema or template_schema()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
            if cursor.fetchone() is None:
                raise CommandError(f"No schema {schema!r} in this database.")
        report = citus_readiness(schema)
        for line in report.blockers:
            self.stdout.write(self.style.ERROR(f"blocker  {line}"))
        for line in report.warnings:
            self.stdout.write(self.style.WARNING(f"warning  {line}"))
        if report.blockers:
            raise CommandError(f"{len(report.blockers)} blocker(s) for schema-based sharding in {schema}.")
        self.stdout.write(self.style.SUCCESS(
            f"{schema}: no cross-schema foreign key, every table has a primary key "
            f"({len(report.warnings)} 32-bit identity column(s) from Django/allauth apps)."))
