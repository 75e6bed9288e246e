"""Provision a brokerage from the command line, with a progress bar over its steps."""
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from provisioning.errors import ProvisioningInputError
from provisioning.models import JobStatus
from provisioning.services import METHODS, STEPS, provision_brokerage, provisioning_job_run


class Command(BaseCommand):
    help = "Provision a new brokerage: schema, domains, branding, legal entity, roles, account types, first Super Admin."

    def add_arguments(self, parser):
        parser.add_argument("--name", help="display name, e.g. 'Acme Markets'")
        parser.add_argument("--slug", help="portal address <slug>.<PLATFORM_DOMAIN>, also the schema name")
        parser.add_argument("--admin-email", help="first Super Admin")
        parser.add_argument("--admin-password", help="dev only: set this password instead of printing an invite link")
        parser.add_argument("--jurisdiction", default="fsa_sc")
        parser.add_argument("--theme", default="ocean", dest="theme_preset")
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--language", default="en")
        parser.add_argument("--domain", action="append", default=[], dest="custom_domains", help="custom domain (repeatable)")
        parser.add_argument("--legal-entity-name", default="")
        parser.add_argument("--method", choices=METHODS, default="auto",
                            help="schema build: auto (pool, then blueprint, then migrations) or force one")
        parser.add_argument("--resume", metavar="JOB_ID", help="resume a failed job instead of starting a new one")

    def handle(self, *args, **o):
        bar = tqdm(total=len(STEPS), desc="provisioning", unit="step", disable=o["verbosity"] == 0,
                   bar_format="{desc}: {bar:20} {n_fmt}/{total_fmt} {postfix}")

        def progress(step):
            bar.set_postfix_str(f"{step.label} {step.status} ({step.duration_ms} ms)")
            if step.status == "succeeded":
                bar.update(1)

        try:
            if o["resume"]:
                job = provisioning_job_run(job_id=o["resume"], method=o["method"], admin_password=o["admin_password"],
                                           progress=progress)
            else:
                missing = [f"--{k.replace('_', '-')}" for k in ("name", "slug", "admin_email") if o.get(k) is None]
                if missing:
                    raise CommandError(f"Missing required option(s): {', '.join(missing)}")
                job = provision_brokerage(
                    name=o["name"], slug=o["slug"], admin_email=o["admin_email"], jurisdiction=o["jurisdiction"],
                    theme_preset=o["theme_preset"], timezone_name=o["timezone"], language=o["language"],
                    custom_domains=o["custom_domains"], legal_entity_name=o["legal_entity_name"],
                    admin_password=o["admin_password"], source="cli", method=o["method"], progress=progress,
                )
        except ProvisioningInputError as exc:
            bar.close()
            lines = "\n".join(f"  {field}: {msg}" for field, msgs in exc.errors.items() for msg in msgs)
            raise CommandError(f"Nothing was created. Fix these and run again:\n{lines}") from exc
        bar.close()
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(f"Provisioning failed — {job.error}\nResume with: provision_brokerage --resume {job.pk}")
        b = job.brokerage
        self.stdout.write(self.style.SUCCESS(f"{b.name} is live at {b.portal_url('/')} "
                                             f"(schema {b.schema_name}, built by {job.method}, {job.duration_ms} ms)"))
        if job.result.get("invite_url"):
            self.stdout.write(f"Super Admin {job.result['admin_email']}: set a password at {job.result['invite_url']}")
        elif job.result.get("login_url"):
            self.stdout.write(f"Super Admin {job.result['admin_email']}: sign in at {job.result['login_url']}")
