"""Provision the demo brokerages with staff and clients (idempotent)."""
from django.core.management.base import BaseCommand

from provisioning.demo import seed_demo


class Command(BaseCommand):
    help = "Provision the two demo brokerages with staff for every role and realistic clients."

    def handle(self, *args, **options):
        brokerages = seed_demo(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"demo data ready: {', '.join(b.slug for b in brokerages)}"))
