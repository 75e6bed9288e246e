"""Print the current two-factor code of a demo staff login (demo brokerages only)."""
from django.core.management.base import BaseCommand, CommandError

from provisioning.demo import demo_totp_code


class Command(BaseCommand):
    help = "Print the current TOTP code for a demo staff e-mail (e.g. superadmin@acme.demo)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, **options):
        email = options["email"].strip().lower()
        if not email.endswith(".demo"):
            raise CommandError("Only demo logins (…@<slug>.demo) have a known two-factor secret.")
        self.stdout.write(demo_totp_code(email))
