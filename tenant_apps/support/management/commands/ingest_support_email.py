"""Feed one raw e-mail (RFC 822, on standard input or --file) to a brokerage's support desk:
`manage.py ingest_support_email <schema> < message.eml` (e.g. from a mail server's pipe transport)."""
import sys

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from tenancy.models import Brokerage


class Command(BaseCommand):
    help = "Turn a raw e-mail on stdin into a ticket reply or a new ticket of the brokerage <schema>."

    def add_arguments(self, parser):
        parser.add_argument("schema", help="the brokerage's schema name (see list_tenants)")
        parser.add_argument("--file", help="read the e-mail from this file instead of standard input")
        parser.add_argument("--show-secret", action="store_true",
                            help="print the shared secret of POST /support/inbound-email/ for this brokerage")

    def handle(self, *args, schema, file=None, show_secret=False, **options):
        from tenant_apps.support.email_in import email_ingest, inbound_secret
        from tenant_apps.support.errors import InboundEmailError

        brokerage = Brokerage.objects.filter(schema_name=schema).first()
        if schema == "public" or brokerage is None:
            raise CommandError(f"No brokerage with schema {schema!r}.")
        if show_secret:
            self.stdout.write(inbound_secret(schema))
            return
        if file:
            with open(file, "rb") as handle:
                raw = handle.read()
        else:
            raw = sys.stdin.buffer.read()
        with tenant_context(brokerage):
            try:
                outcome = email_ingest(raw)
            except InboundEmailError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"{outcome.result} {outcome.ticket.number} message {outcome.message.pk}")
