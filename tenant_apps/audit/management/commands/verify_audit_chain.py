"""verify_audit_chain [--schema SLUG | --all]: recompute every audit hash, in seq order, per brokerage.

Prints "OK" with the number of entries, or the first broken link (seq, expected vs stored hash), and exits
with status 1 if any chain is broken. Entries are read in keyset chunks along the primary key (a few
thousand rows in memory at a time, however long the chain), up to the head that existed at the start.
"""
from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django_tenants.utils import tenant_context
from tqdm import tqdm

from tenancy.context import platform_context
from tenancy.models import Brokerage, BrokerageKind
from tenant_apps.audit.chain import chain_verify, iter_in_seq_order
from tenant_apps.audit.models import AuditEntry

CHUNK = 2000


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain of one brokerage (or all) and report the first broken link."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--schema", metavar="SLUG", help="The brokerage's slug (or schema name).")
        which.add_argument("--all", action="store_true", help="Every brokerage, whatever its status.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (it is off anyway when "
                                                                       "stderr is not a terminal).")

    def handle(self, *args, **options):
        with platform_context():
            if options["all"]:
                brokerages = list(Brokerage.objects.filter(kind=BrokerageKind.BROKERAGE).order_by("slug"))
            else:
                wanted = options["schema"]
                brokerage = Brokerage.objects.filter(Q(slug=wanted) | Q(schema_name=wanted),
                                                     kind=BrokerageKind.BROKERAGE).first()
                if brokerage is None:
                    raise CommandError(f"No brokerage with the slug or schema '{wanted}'.")
                brokerages = [brokerage]
        broken = []
        for brokerage in brokerages:
            if not self._verify(brokerage, progress=not options["no_progress"] and options["verbosity"] > 0):
                broken.append(brokerage.slug)
        if broken:
            raise CommandError(f"Audit chain broken in: {', '.join(broken)}.", returncode=1)

    def _verify(self, brokerage: Brokerage, *, progress: bool) -> bool:
        with tenant_context(brokerage):
            # For the bar only: the head's seq is the count of an intact chain, read from the index.
            total = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
            bar = tqdm(total=total, desc=brokerage.slug, unit="entry", unit_scale=True, file=sys.stderr,
                       disable=None if progress else True, leave=False, mininterval=0.5)
            seen = 0

            def tick(_entry):
                nonlocal seen
                seen += 1
                if seen % CHUNK == 0:
                    bar.update(CHUNK)

            with bar:
                report = chain_verify(iter_in_seq_order(AuditEntry.objects.all(), chunk_size=CHUNK), on_entry=tick)
                bar.update(seen % CHUNK)
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"{brokerage.slug}: OK, {report.checked} entries"))
            return True
        self.stdout.write(self.style.ERROR(
            f"{brokerage.slug}: BROKEN at {report.broken.describe()} ({report.checked} entries before it verified)"
        ))
        return False
