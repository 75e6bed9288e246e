"""Idempotent platform set-up: public tenant + platform domain, template schema, optional operator."""
from django.core.management.base import BaseCommand

from provisioning.services import platform_ensure


class Command(BaseCommand):
    help = "Create the public tenant row, the platform domain and the template schema (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--operator-email", help="create (or reset the password of) a platform operator")
        parser.add_argument("--operator-password")

    def handle(self, *args, **options):
        platform_ensure(operator_email=options.get("operator_email"), operator_password=options.get("operator_password"),
                        verbosity=max(0, options["verbosity"] - 1))
        self.stdout.write(self.style.SUCCESS("platform ready (public tenant, platform domain, template schema)"))
