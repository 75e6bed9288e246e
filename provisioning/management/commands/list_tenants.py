"""List brokerages with status, domains and user counts (one query for all counts)."""
from django.core.management.base import BaseCommand

from platform_core.console.selectors import brokerage_rows


class Command(BaseCommand):
    help = "List brokerages: slug, status, primary domain, clients, staff."

    def add_arguments(self, parser):
        parser.add_argument("--status", default="")

    def handle(self, *args, **options):
        rows = brokerage_rows(status=options["status"], limit=100000)
        self.stdout.write(f"{'slug':<24} {'status':<13} {'clients':>8} {'staff':>6}  domain")
        for r in rows:
            b = r.brokerage
            self.stdout.write(f"{b.slug:<24} {b.status:<13} {r.clients:>8} {r.staff:>6}  {r.domains[0] if r.domains else '-'}")
        self.stdout.write(f"{len(rows)} brokerage(s)")
