"""Export one brokerage to a .tar.gz (schema dump, files, manifest)."""
from django.core.management.base import BaseCommand, CommandError

from provisioning.errors import ProvisioningError
from provisioning.schemas import SchemaBuildError
from provisioning.transfer import brokerage_export


class Command(BaseCommand):
    help = "Export a brokerage: schema dump + uploaded files + manifest, as one .tar.gz."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--out", help="output file (default: <slug>-export.tar.gz)")

    def handle(self, *args, **o):
        try:
            result = brokerage_export(slug=o["slug"], out_path=o["out"] or f"{o['slug']}-export.tar.gz")
        except (ProvisioningError, SchemaBuildError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"exported {o['slug']} to {result.path}: {result.tables} tables, {result.rows} rows, "
            f"{result.files} files in {result.seconds:.2f} s"))
