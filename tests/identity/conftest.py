"""Fixtures of the identity tests: users with passwords, clients from chosen IPs and browsers, and a clean
slate of allauth's rate-limit counters (Redis is not rolled back with a test's transaction)."""
from __future__ import annotations

import itertools

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from platform_core.redis import redis_client
from tests.conftest import PASSWORD, host_of

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")
CHROME_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0.0.0 Safari/537.36")

# Documentation addresses (RFC 5737): only ever a REMOTE_ADDR in a request object, never a network peer.
_ADDRESSES = (f"198.51.100.{i}" for i in itertools.count(1))


def _clear_rate_limits() -> None:
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = redis_client()
    keys = list(client.scan_iter(match=f"*:{prefix}:*allauth:rl:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    _clear_rate_limits()
    yield
    _clear_rate_limits()


@pytest.fixture
def new_ip():
    """new_ip() → an address no other request of this test run came from."""
    return lambda: next(_ADDRESSES)


@pytest.fixture
def browser(new_ip):
    """browser(brokerage, ip=None, user_agent=FIREFOX_WINDOWS) → a Client on the brokerage's host: one browser."""

    def make(brokerage, *, ip: str | None = None, user_agent: str = FIREFOX_WINDOWS) -> Client:
        return Client(HTTP_HOST=host_of(brokerage), REMOTE_ADDR=ip or new_ip(), HTTP_USER_AGENT=user_agent)

    return make


def user_create(brokerage, email: str, *, kind: str = "client", roles: tuple[str, ...] = (),
                password: str = PASSWORD):
    """A user of the brokerage with a verified e-mail address, as sign-up + verification would leave them."""
    from allauth.account.models import EmailAddress

    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.identity.services import staff_user_create

    with tenant_context(brokerage):
        if kind == "staff":
            return staff_user_create(email=email, password=password, role_codes=list(roles))[0]
        user = User.objects.create_user(email=email, password=password, kind=UserKind(kind))
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user


def login(client: Client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def signed_in(client: Client) -> bool:
    """Whether the client's session cookie still belongs to a signed-in user (asks a login-only page)."""
    response = client.get("/accounts/2fa/")
    return response.status_code == 200
