"""Shared by the console and platform API tests: the operator, and what provisioning could leave behind."""
from django.db import connection

from provisioning.models import ProvisioningJob, ProvisioningStep
from tenancy.models import Brokerage, Domain, PlatformAuditEvent
from tenant_apps.identity.models import User
from tests.conftest import OPERATOR_EMAIL


def operator() -> User:
    connection.set_schema_to_public()
    return User.objects.get(email=OPERATOR_EMAIL)


def footprint() -> dict[str, int]:
    """Everything a provisioning attempt could leave behind in the public schema and the catalogue."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace")
        schemas = cursor.fetchone()[0]
    return {
        "brokerages": Brokerage.objects.count(), "domains": Domain.objects.count(),
        "jobs": ProvisioningJob.objects.count(), "steps": ProvisioningStep.objects.count(),
        "audit": PlatformAuditEvent.objects.count(), "schemas": schemas,
    }
