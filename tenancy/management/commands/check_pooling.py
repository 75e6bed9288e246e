"""`manage.py check_pooling`: is the database connection pooled per session (fine) or per transaction (PgBouncer
pool_mode = transaction — refused: tenants' search paths would mix)? Exit 1 with the fix when it is."""
from django.core.management.base import BaseCommand, CommandError

from platform_core.observability.readiness import pooling_probe


class Command(BaseCommand):
    help = "Probe that session state (search_path) survives between statements; fails behind transaction pooling."

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=int, default=20, help="statement pairs to try (default 20)")

    def handle(self, *args, rounds, **options):
        ok, reason = pooling_probe(rounds=max(1, rounds))
        if not ok:
            raise CommandError(reason)
        self.stdout.write(self.style.SUCCESS(f"pooling ok: session state survived {rounds} statement pairs"))
