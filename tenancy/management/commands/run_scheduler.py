"""Start the periodic-job scheduler (fans jobs out over active brokerages)."""
from django.core.management.base import BaseCommand
from django.utils.module_loading import autodiscover_modules

from tenancy import scheduler


class Command(BaseCommand):
    help = "Run the BrokerOS scheduler: sends periodic jobs, one message per active brokerage."

    def add_arguments(self, parser):
        parser.add_argument("--tick", type=float, default=1.0, help="seconds between checks")

    def handle(self, *args, **options):
        autodiscover_modules("tasks")
        self.stdout.write(f"scheduler: {len(scheduler.REGISTRY)} periodic jobs: {', '.join(sorted(scheduler.REGISTRY))}")
        try:
            scheduler.run_forever(tick_s=options["tick"])
        except KeyboardInterrupt:
            self.stdout.write("scheduler stopped")
