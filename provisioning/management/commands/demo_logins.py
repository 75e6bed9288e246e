"""Print every URL and login of the running demo."""
from django.core.management.base import BaseCommand

from provisioning.demo import demo_logins_text


class Command(BaseCommand):
    help = "Print the demo's URLs and logins."

    def handle(self, *args, **options):
        self.stdout.write(demo_logins_text())
