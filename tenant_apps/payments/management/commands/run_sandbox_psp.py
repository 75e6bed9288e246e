"""Run the bundled sandbox PSP (a separate process in `make run`; tests start it in-process)."""
import logging
import os

from django.core.management.base import BaseCommand

from tenant_apps.payments.sandbox_psp.server import DEFAULT_SIGNING_MASTER, SandboxPSP


class Command(BaseCommand):
    help = "Run the sandbox PSP: hosted payment page, signed webhooks, faults on request."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8600)
        parser.add_argument("--public-url", default=None, help="base URL clients' browsers use (default http://host:port)")
        parser.add_argument("--retry-base", type=float, default=1.0, help="first retry delay of a failed callback, s")
        parser.add_argument("--max-attempts", type=int, default=8, help="callback attempts before giving up")

    def handle(self, *args, **options):
        logging.getLogger("sandbox_psp").setLevel(logging.INFO)
        psp = SandboxPSP(host=options["host"], port=options["port"], public_url=options["public_url"],
                         signing_master=os.environ.get("SANDBOX_PSP_SIGNING_MASTER", DEFAULT_SIGNING_MASTER),
                         retry_base_s=options["retry_base"], max_attempts=options["max_attempts"]).bind()
        self.stdout.write(f"sandbox PSP on {psp.url}/ (test cards listed there)")
        try:
            psp.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("sandbox PSP stopped")
        finally:
            psp.deliverer.stop()
