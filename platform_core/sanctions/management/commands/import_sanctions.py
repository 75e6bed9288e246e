"""Import a published sanctions list as the new current version, with a progress bar."""
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from platform_core.sanctions import ofac
from platform_core.sanctions.errors import SanctionsFileError
from platform_core.sanctions.models import ListSource
from platform_core.sanctions.services import sanctions_list_import


class Command(BaseCommand):
    help = ("Import a sanctions list (OFAC SDN legacy CSV: sdn.csv, alt.csv, add.csv, optional sdn_comments.csv) "
            "as a new version; the previous version is kept, and every brokerage re-screens its clients.")

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=ListSource.values, default=ListSource.OFAC_SDN)
        parser.add_argument("--dir", required=True, dest="directory", help="folder holding the list's files")
        parser.add_argument("--published-on", type=date.fromisoformat, help="publication date (YYYY-MM-DD)")
        parser.add_argument("--force", action="store_true", help="import even if the files equal the current version")

    def handle(self, *args, source, directory, published_on, force, verbosity, **o):
        try:
            files = ofac.read_directory(directory)
        except SanctionsFileError as exc:
            raise CommandError(f"Nothing was imported: {exc}") from exc
        rows = sum(data.count(b"\n") for data in files.values())
        bar = tqdm(total=rows * 2, desc="importing", unit="row", unit_scale=True, disable=verbosity == 0,
                   bar_format="{desc}: {bar:20} {percentage:3.0f}% {postfix}")

        def progress(stage, n):
            bar.set_postfix_str(stage, refresh=False)
            bar.update(n)

        try:
            outcome = sanctions_list_import(source=source, directory=directory, files=files,
                                            published_on=published_on, force=force,
                                            actor_label="cli", progress=progress)
        except SanctionsFileError as exc:
            bar.close()
            raise CommandError(f"Nothing was imported: {exc}") from exc
        bar.update(max(0, bar.total - bar.n))
        bar.close()
        lst = outcome.sanctions_list
        if not outcome.created:
            self.stdout.write(f"{source} v{lst.version} already holds these files (same checksums); nothing imported. "
                              f"Use --force to import them again.")
            return
        where = Path(directory).resolve()
        self.stdout.write(self.style.SUCCESS(
            f"{source} v{lst.version} is current: {lst.entry_count} entries, {lst.alias_count} aliases "
            f"(+{lst.weak_alias_count} weak), {lst.address_count} addresses from {where} in {lst.import_ms} ms"
            + (f"; v{outcome.previous.version} kept as superseded" if outcome.previous else "")))
