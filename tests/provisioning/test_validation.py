"""Bad provisioning input: one clear, specific error per problem, and nothing left behind."""
import pytest
from django.db import connection

from provisioning.errors import ProvisioningInputError
from provisioning.models import ProvisioningJob
from provisioning.services import provision_brokerage
from tenancy.models import Brokerage, Domain, PlatformAuditEvent

GOOD = {"name": "Valid Brokerage", "slug": "valid-one", "admin_email": "admin@valid.test"}

CASES = [
    # (overrides, field, message fragment)
    ({"slug": "alpha"}, "slug", "A brokerage with the slug 'alpha' already exists."),
    ({"slug": "ALPHA"}, "slug", "Use lowercase letters"),
    ({"slug": "public"}, "slug", "'public' is reserved"),
    ({"slug": "www"}, "slug", "'www' is reserved"),
    ({"slug": "api"}, "slug", "'api' is reserved"),
    ({"slug": "spare-abc"}, "slug", "'spare-abc' is reserved"),
    ({"slug": "pg-catalog"}, "slug", "'pg-catalog' is reserved"),
    ({"slug": "a" * 41}, "slug", "at most 40 are allowed"),
    ({"slug": "ab"}, "slug", "at least 3 characters"),
    ({"slug": "has_underscore"}, "slug", "Use lowercase letters, digits and hyphens only"),
    ({"slug": "1starts-digit"}, "slug", "starting with a letter"),
    ({"slug": "ends-"}, "slug", "not ending with a hyphen"),
    ({"slug": "dou--ble"}, "slug", "two hyphens in a row"),
    ({"slug": "émigré"}, "slug", "Use lowercase letters"),
    ({"slug": "drop;table"}, "slug", "Use lowercase letters"),
    ({"slug": ""}, "slug", "A slug is required"),
    ({"name": ""}, "name", "A brokerage name is required."),
    ({"name": "x" * 121}, "name", "at most 120 are allowed"),
    ({"name": "bad\x00name"}, "name", "control characters"),
    ({"admin_email": "not-an-email"}, "admin_email", "is not a valid e-mail address"),
    ({"admin_email": ""}, "admin_email", "e-mail address is required"),
    ({"jurisdiction": "mars"}, "jurisdiction", "Unknown jurisdiction 'mars'"),
    ({"theme_preset": "neon"}, "theme_preset", "Unknown theme preset 'neon'"),
    ({"timezone_name": "Mars/Olympus"}, "timezone", "Unknown time zone 'Mars/Olympus'"),
    ({"language": "xx"}, "language", "Unsupported language 'xx'"),
    ({"custom_domains": ["bad..domain.com"]}, "custom_domains", "is not a valid domain name"),
    ({"custom_domains": ["-lead.example.com"]}, "custom_domains", "is not a valid domain name"),
    ({"custom_domains": ["nodot"]}, "custom_domains", "is not a full domain name"),
    ({"custom_domains": ["under_score.example.com"]}, "custom_domains", "is not a valid domain name"),
    ({"custom_domains": ["x" * 250 + ".com"]}, "custom_domains", "longer than 253 characters"),
    ({"custom_domains": ["10.0.0.1"]}, "custom_domains", "is an address, not a domain name"),
    ({"custom_domains": ["sneaky.localhost"]}, "custom_domains", "is under the platform domain"),
    ({"custom_domains": ["alpha.localhost"]}, "custom_domains", "is under the platform domain"),
    ({"custom_domains": ["portal.dup.com", "portal.dup.com"]}, "custom_domains", "is listed twice"),
]


def _snapshot():
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(nspname ORDER BY nspname) FROM pg_namespace")
        namespaces = cursor.fetchone()[0]
    return (Brokerage.objects.count(), Domain.objects.count(), ProvisioningJob.objects.count(),
            PlatformAuditEvent.objects.count(), namespaces)


@pytest.mark.parametrize("overrides,field,fragment", CASES, ids=[f"{c[1]}:{str(list(c[0].values())[0])[:24]}" for c in CASES])
def test_bad_input_is_refused_with_a_specific_error_and_nothing_is_created(db, tenants, overrides, field, fragment):
    before = _snapshot()
    with pytest.raises(ProvisioningInputError) as exc:
        provision_brokerage(**{**GOOD, **overrides})
    assert field in exc.value.errors, exc.value.errors
    assert any(fragment in message for message in exc.value.errors[field]), exc.value.errors[field]
    assert _snapshot() == before


def test_every_problem_is_reported_at_once(db):
    with pytest.raises(ProvisioningInputError) as exc:
        provision_brokerage(name="", slug="www", admin_email="nope", jurisdiction="mars")
    assert set(exc.value.errors) == {"name", "slug", "admin_email", "jurisdiction"}


def test_a_custom_domain_of_another_brokerage_is_refused(db, tenants):
    job = provision_brokerage(**{**GOOD, "custom_domains": ["trade.valid-fx.com"]})
    assert job.status == "succeeded"
    with pytest.raises(ProvisioningInputError) as exc:
        provision_brokerage(name="Other", slug="other-one", admin_email="a@o.test", custom_domains=["TRADE.valid-fx.com."])
    assert exc.value.errors["custom_domains"] == ["The domain 'trade.valid-fx.com' is already used by another brokerage."]


def test_a_custom_domain_routes_to_its_brokerage(db, tenants):
    from django.test import Client

    job = provision_brokerage(**{**GOOD, "custom_domains": ["portal.valid-fx.com"]})
    page = Client(HTTP_HOST="portal.valid-fx.com").get("/")
    assert page.status_code == 200
    assert b"Valid Brokerage" in page.content
    assert job.brokerage.primary_host() == "valid-one.localhost"
