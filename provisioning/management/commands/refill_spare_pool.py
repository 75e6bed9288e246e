"""Fill the spare-schema pool now (the worker also does it after each claim and every minute)."""
from django.core.management.base import BaseCommand

from provisioning.schemas import spare_count, spare_pool_refill


class Command(BaseCommand):
    help = "Build spare schemas until the pool holds --size of them."

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, default=None)

    def handle(self, *args, **options):
        made = spare_pool_refill(target=options["size"])
        self.stdout.write(f"built {made} spare schema(s); pool now {spare_count()}")
