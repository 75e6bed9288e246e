"""Shared fixtures: the platform (public tenant + template + blueprint), two ready brokerages made by the
fast path once per session, tenant-bound HTTP clients, and a real dramatiq worker on real Redis."""
from __future__ import annotations

import dramatiq
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

PASSWORD = "test-pass-2026!"
OPERATOR_EMAIL = "operator@platform.test"

TENANT_SPECS = {
    "alpha": {"name": "Alpha Trading", "theme_preset": "midnight", "jurisdiction": "cysec", "timezone_name": "Asia/Nicosia"},
    "beta": {"name": "Beta Capital", "theme_preset": "emerald", "jurisdiction": "fsa_sc", "timezone_name": "Asia/Dubai"},
}


def _clear_test_cache_keys() -> None:
    """Delete this run's cache keys only (RedisCache.clear() would flush the whole shared Redis DB)."""
    from platform_core.redis import redis_client

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = redis_client()
    keys = list(client.scan_iter(match=f"*:{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_keepdb,
                    django_db_modify_db_settings):
    """The test database (always: every test here needs it, including `committed_db`-only runs, for which
    pytest-django's own fixture would set up nothing), then the platform rows, the template schema and
    its blueprint."""
    from django.test.utils import setup_databases, teardown_databases

    from provisioning import schemas
    from provisioning.services import platform_ensure

    with django_db_blocker.unblock():
        db_cfg = setup_databases(verbosity=request.config.option.verbose, interactive=False,
                                 keepdb=django_db_keepdb, aliases={"default"}, serialized_aliases=set())
    name = connection.settings_dict["NAME"]
    if not name.startswith("test_"):
        pytest.exit(f"Refusing to set up test tenants in the non-test database {name!r}.", returncode=3)
    with django_db_blocker.unblock():
        platform_ensure(operator_email=OPERATOR_EMAIL, operator_password=PASSWORD)
        schemas.blueprint_current()
    _clear_test_cache_keys()
    dramatiq.get_broker().flush_all()
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)


@pytest.fixture(scope="session")
def tenants(django_db_setup, django_db_blocker):
    """Two committed, active brokerages (alpha, beta) built by the fast path, shared by the session."""
    from provisioning.services import provision_brokerage

    made = {}
    with django_db_blocker.unblock():
        for slug, spec in TENANT_SPECS.items():
            job = provision_brokerage(slug=slug, admin_email=f"admin@{slug}.test", admin_password=PASSWORD,
                                      source="cli", **spec)
            assert job.status == "succeeded", job.error
            made[slug] = job.brokerage
            # A Super Admin must use MFA before the back office: the session's admins are enrolled.
            mfa_enrol(made[slug], f"admin@{slug}.test")
        connection.set_schema_to_public()
    return made


# --- two-factor sign-in (allauth.mfa TOTP) ----------------------------------------------------------------

MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # base32; the test's "authenticator app"


def totp_code(secret: str = MFA_SECRET, *, at: float | None = None) -> str:
    """The 6-digit code an authenticator app shows for `secret` now (RFC 6238, computed by allauth's HOTP)."""
    import time

    from allauth.mfa import app_settings as mfa_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    counter = int(time.time() if at is None else at) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def mfa_enrol(brokerage, email: str, secret: str = MFA_SECRET) -> None:
    """Give a user of the brokerage an authenticator app with a known secret (and recovery codes)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    from tenant_apps.identity.models import User

    with tenant_context(brokerage):
        user = User.objects.get(email=email)
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, secret)
            RecoveryCodes.activate(user)


def sign_in(client: Client, brokerage, email: str, password: str = PASSWORD, secret: str = MFA_SECRET):
    """Sign in through the real forms: password, then the TOTP step when the account has one.
    Returns the last response (the one that completes the sign-in)."""
    response = client.post("/accounts/login/", {"login": email, "password": password})
    if response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/":
        from django.core.cache import cache

        from tenant_apps.identity.models import User

        code = totp_code(secret)
        with tenant_context(brokerage):
            # allauth refuses a code used twice within its period; tests sign the same admin in many times.
            user_id = User.objects.get(email=email).pk
            cache.delete(f"allauth.mfa.totp.used?user={user_id}&code={code}")
        response = client.post("/accounts/2fa/authenticate/", {"code": code})
    return response


@pytest.fixture(autouse=True)
def _back_to_public_schema():
    yield
    connection.set_schema_to_public()


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Database access WITHOUT the per-test transaction: for migrations, workers in other threads and other
    code that must see committed rows. Tests using it clean up what they make."""
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()


def host_of(brokerage) -> str:
    return f"{brokerage.slug}.{settings.PLATFORM_DOMAIN}"


@pytest.fixture
def tenant_client():
    """tenant_client(brokerage, email=None) → a Client on the brokerage's host, signed in if email is given."""

    def make(brokerage, email: str | None = None) -> Client:
        client = Client(HTTP_HOST=host_of(brokerage))
        if email:
            from tenant_apps.identity.models import User

            with tenant_context(brokerage):
                client.force_login(User.objects.get(email=email))
        return client

    return make


@pytest.fixture
def platform_client():
    return Client(HTTP_HOST=settings.PLATFORM_DOMAIN)


@pytest.fixture
def operator_client(db, platform_client):
    from tenant_apps.identity.models import User

    connection.set_schema_to_public()
    platform_client.force_login(User.objects.get(email=OPERATOR_EMAIL))
    return platform_client


@pytest.fixture
def broker():
    broker = dramatiq.get_broker()
    broker.flush_all()
    yield broker
    broker.flush_all()


def declare_all_actors() -> None:
    """Import every actor module, so every queue is declared before a worker starts (a worker consumes the
    queues declared when it starts, plus those declared later through its broker middleware)."""
    import importlib
    import pkgutil

    import provisioning.tasks  # noqa: F401
    import tenancy.tasks  # noqa: F401
    import tenant_apps

    for module in pkgutil.iter_modules(tenant_apps.__path__):
        try:
            importlib.import_module(f"tenant_apps.{module.name}.tasks")
        except ModuleNotFoundError as exc:
            if exc.name != f"tenant_apps.{module.name}.tasks":
                raise


def stop_worker(broker, w) -> None:
    """Stop a worker AND detach it from the broker. dramatiq's Worker.stop() leaves the worker's middleware on
    the broker: a queue declared later (an actor module imported by a later test) would then start a consumer
    thread for the stopped worker, which prefetches that queue's messages into a work queue nobody drains —
    the messages of every later test on that queue would sit there unprocessed."""
    w.stop()
    broker.middleware[:] = [m for m in broker.middleware if getattr(m, "worker", None) is not w]


@pytest.fixture
def worker(broker):
    """A real dramatiq worker (threads, real Redis) processing this test's messages."""
    declare_all_actors()
    w = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    w.start()
    yield w
    stop_worker(broker, w)
