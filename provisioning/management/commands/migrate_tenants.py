"""Migrate every tenant schema: template first, up-to-date schemas skipped by one query, the rest in parallel.

A separate command rather than an override of `migrate_schemas`: the stock command stays available as the
reference (bench/scale.py measures both in the same run) and for the public schema (`migrate_schemas --shared`).
"""
from django.core.management.base import BaseCommand, CommandError

from provisioning.migrate import MigrationLockedError, migrate_tenants


class Command(BaseCommand):
    help = ("Migrate tenant schemas (template first); skip current ones with one query; run the rest in --workers "
            "processes; record each result; exit non-zero if any tenant failed.")

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=2, help="parallel migrating processes (default 2)")
        parser.add_argument("--schema", action="append", dest="schemas", default=None,
                            help="only this schema (repeatable); the template is always migrated first")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        verbosity = int(options["verbosity"])
        try:
            run = migrate_tenants(workers=options["workers"], only=options["schemas"],
                                  progress=not options["no_progress"] and verbosity >= 1,
                                  verbosity=max(0, verbosity - 1), stream=self.stderr._out)
        except MigrationLockedError as exc:
            raise CommandError(str(exc)) from exc
        if verbosity >= 1:
            self.stdout.write(
                f"migration run {run.pk}: {run.schemas_total} schemas, {run.up_to_date} up to date "
                f"(checked in {run.check_ms} ms), {run.succeeded} migrated, {run.failed} failed, "
                f"{run.missing} without a schema; {run.duration_ms} ms")
        if run.failed:
            untried = run.schemas_total - run.up_to_date - run.succeeded - run.failed
            if untried:
                self.stderr.write(f"the template failed to migrate: {untried} tenant schema(s) not attempted")
            for result in run.results.filter(status="failed").order_by("schema_name"):
                last = result.error.splitlines()[-1] if result.error else ""
                self.stderr.write(f"FAILED {result.schema_name}: {last}")
            raise CommandError(f"{run.failed} tenant schema(s) failed to migrate (run {run.pk}).", returncode=1)
