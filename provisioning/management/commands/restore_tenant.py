"""Restore an exported brokerage under a new slug."""
from django.core.management.base import BaseCommand, CommandError

from provisioning.errors import ProvisioningError, ProvisioningInputError
from provisioning.transfer import brokerage_restore


class Command(BaseCommand):
    help = "Restore a brokerage export (.tar.gz) as a new brokerage with the given slug."

    def add_arguments(self, parser):
        parser.add_argument("archive")
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", default="")

    def handle(self, *args, **o):
        try:
            brokerage = brokerage_restore(archive=o["archive"], slug=o["slug"], name=o["name"])
        except ProvisioningInputError as exc:
            lines = "\n".join(f"  {f}: {m}" for f, ms in exc.errors.items() for m in ms)
            raise CommandError(f"Nothing was restored:\n{lines}") from exc
        except ProvisioningError as exc:
            raise CommandError(f"Nothing was restored: {exc.message}") from exc
        self.stdout.write(self.style.SUCCESS(f"restored as {brokerage.name} at {brokerage.portal_url('/')}"))
