"""Generated from tests/access_matrix.py: one test per row × actor, branding isolation for every tenant page, and a
completeness check that fails when any URL pattern of either host has no row."""
from __future__ import annotations

import base64
import json
import re
from contextlib import contextmanager, nullcontext
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from django.views.generic.edit import ProcessFormView
from django_tenants.utils import tenant_context

from provisioning.models import ProvisioningJob
from tenant_apps.identity.models import User, UserKind
from tenant_apps.identity.services import staff_user_create
from tests.access_matrix import ACTORS, FORBIDDEN, LOGIN, ROWS, SAMPLE_PARAMS, Row
from tests.conftest import OPERATOR_EMAIL, PASSWORD, host_of

URLCONFS = {"tenant": "platform_core.urls_tenant", "platform": "platform_core.urls_public"}
LOGIN_PAGES = {"tenant": "/accounts/login/", "platform": "/login/"}
# Who each actor is known to: a session is only worth something on the host that issued it.
HOME_HOST = {"client": "tenant", "super_admin": "tenant", "sales": "tenant", "operator": "platform",
             "platform_user": "platform", "other_tenant_staff": None, "anonymous": None}
EMAILS = {"client": "trader@alpha.test", "super_admin": "admin@alpha.test", "sales": "sales@alpha.test",
          "operator": OPERATOR_EMAIL, "platform_user": "visitor@platform.test", "other_tenant_staff": "admin@beta.test"}
# A 1×1 PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def is_stranger(actor: str, row: Row) -> bool:
    return HOME_HOST[actor] != row.host


# --- signing the actors in ----------------------------------------------------------------------------

def _public_user(actor: str) -> User:
    connection.set_schema_to_public()
    if actor == "operator":
        return User.objects.get(email=OPERATOR_EMAIL)
    return User.objects.create_user(email=EMAILS[actor], password=PASSWORD, kind=UserKind.CLIENT)


def _alpha_user(actor: str) -> User:
    if actor == "client":
        return User.objects.create_user(email=EMAILS[actor], password=PASSWORD, kind=UserKind.CLIENT)
    if actor == "sales":
        return staff_user_create(email=EMAILS[actor], password=PASSWORD, role_codes=["sales"])[0]
    return User.objects.get(email=EMAILS[actor])


@pytest.fixture
def sign_in(db, tenants):
    """sign_in(actor) → a Client holding the session that actor really has (signed in on its own host)."""

    def make(actor: str) -> Client:
        client = Client()
        if actor == "anonymous":
            return client
        if actor == "other_tenant_staff":
            with tenant_context(tenants["beta"]):
                client.force_login(User.objects.get(email=EMAILS[actor]))
        elif HOME_HOST[actor] == "tenant":
            with tenant_context(tenants["alpha"]):
                client.force_login(_alpha_user(actor))
        else:
            client.force_login(_public_user(actor))
        connection.set_schema_to_public()
        return client

    return make


@contextmanager
def alpha_logo(tenants):
    from themes.models import Theme

    with tenant_context(tenants["alpha"]):
        theme = Theme.objects.order_by("id").first()
        theme.logo.save("logo.png", ContentFile(PNG), save=True)
    try:
        yield
    finally:
        with tenant_context(tenants["alpha"]):
            theme.logo.delete(save=False)


SETUPS = {"alpha_logo": alpha_logo}


# --- requests and outcomes -------------------------------------------------------------------------------

def _alpha_sample_client_id() -> int:
    """A client of Alpha owned by nobody: inside Super Admin's view, outside Sales' own-and-team scope."""
    from tenancy.models import Brokerage

    with tenant_context(Brokerage.objects.get(slug="alpha")):
        client, _ = User.objects.get_or_create(email="sample.client@alpha.test", defaults={"kind": UserKind.CLIENT})
        pk = client.pk
    connection.set_schema_to_public()
    return pk


def path_of(row: Row) -> str:
    values = {**SAMPLE_PARAMS, **row.params}
    if "<uuid:job_id>" in row.route and "job_id" not in row.params:
        values["job_id"] = ProvisioningJob.objects.filter(slug="alpha").values_list("pk", flat=True).first()
    if "<int:client_id>" in row.route and "client_id" not in row.params:
        values["client_id"] = _alpha_sample_client_id()
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), row.route)


def host_for(row: Row, tenants) -> str:
    return host_of(tenants["alpha"]) if row.host == "tenant" else settings.PLATFORM_DOMAIN


def send(client: Client, row: Row, path: str, host: str):
    if row.method == "GET":
        return client.get(path, HTTP_HOST=host)
    if row.method == "POST":
        return client.post(path, row.data or {}, HTTP_HOST=host)
    # PATCH, PUT, DELETE: API endpoints, with a JSON body
    return client.generic(row.method, path, json.dumps(row.data or {}), content_type="application/json", HTTP_HOST=host)


def body_of(response) -> bytes:
    # Reading a streamed body to the end closes the response the way the test client expects (calling
    # close() again would fire request_finished and close the test's database connection).
    return b"".join(response.streaming_content) if response.streaming else response.content


def assert_outcome(response, content: bytes, expected, row: Row, path: str) -> None:
    where = f"{row.method} {path} on the {row.host} host answered {response.status_code} " \
            f"{response.get('Location', '')} {content[:200]!r}"
    if expected == LOGIN:
        location = urlsplit(response.get("Location", ""))
        assert response.status_code == 302 and location.path == LOGIN_PAGES[row.host], where
        assert parse_qs(location.query) == {"next": [path]}, where
    elif expected == FORBIDDEN:
        assert response.status_code == 403, where
    elif isinstance(expected, str):
        assert response.status_code == 302 and response["Location"] == expected.removeprefix("redirect:"), where
    else:
        assert response.status_code == expected, where


CELLS = [pytest.param(row, actor, id=f"{row.id}-{actor}") for row in ROWS for actor in ACTORS]


@pytest.mark.parametrize(("row", "actor"), CELLS)
def test_access_matrix(row: Row, actor: str, sign_in, tenants):
    expected = row.expect[ACTORS.index(actor)]
    client = sign_in(actor)
    path = path_of(row)
    with SETUPS[row.setup](tenants) if row.setup else nullcontext():
        response = send(client, row, path, host_for(row, tenants))
        content = body_of(response)
        assert_outcome(response, content, expected, row, path)
    if row.host == "tenant":
        # Nothing of the other brokerage, ever, whoever asks on Alpha's host.
        assert b"Beta Capital" not in content and b"admin@beta.test" not in content
    if is_stranger(actor, row):
        # A session from elsewhere is worth nothing here: the visitor sees no one's account.
        typed = {str(v) for v in (row.data or {}).values()}
        for email in set(EMAILS.values()) - typed:
            assert email.encode() not in content, (email, content[:300])
    if path.startswith("/api/v1/") and response.status_code >= 400:
        assert json.loads(content)["code"], content  # typed error bodies on the API


def test_a_session_from_another_host_counts_for_nothing_in_the_table():
    """The table itself encodes the rule: a stranger's expectation is the anonymous visitor's, on every row."""
    wrong = [(row.id, actor) for row in ROWS for actor in ACTORS
             if is_stranger(actor, row) and row.expect[ACTORS.index(actor)] != row.expect[0]]
    assert wrong == []


# --- branding isolation -----------------------------------------------------------------------------------

BRANDED = [pytest.param(row, id=row.id) for row in ROWS if row.branded]


@pytest.mark.parametrize("row", BRANDED)
def test_every_tenant_page_shows_its_own_brokerage_and_never_the_other(db, row: Row, tenants):
    actor = next(a for a in ("anonymous", "super_admin") if row.expect[ACTORS.index(a)] == 200)
    names = {"alpha": (b"Alpha Trading", b"Beta Capital"), "beta": (b"Beta Capital", b"Alpha Trading")}
    path = path_of(row)
    # Alpha, then Beta, then Alpha again: a cache keyed without the tenant would show up on the second or third.
    for slug in ("alpha", "beta", "alpha"):
        brokerage = tenants[slug]
        client = Client(HTTP_HOST=host_of(brokerage))
        if actor == "super_admin":
            with tenant_context(brokerage):
                client.force_login(User.objects.get(email=f"admin@{slug}.test"))
        response = client.get(path)
        assert response.status_code == 200, (slug, path, response.status_code)
        own, other = names[slug]
        assert own in response.content and other not in response.content, (slug, path)


@pytest.mark.django_db
def test_each_brokerages_stylesheet_carries_its_own_colours(tenants):
    from themes.models import Theme

    colours = {}
    for slug, brokerage in tenants.items():
        with tenant_context(brokerage):
            colours[slug] = Theme.objects.get().primary_colour.lower()
    assert colours["alpha"] != colours["beta"]
    for slug, brokerage in tenants.items():
        css = Client(HTTP_HOST=host_of(brokerage)).get("/theme.css").content.decode().lower()
        other = colours["beta" if slug == "alpha" else "alpha"]
        assert colours[slug] in css and other not in css, slug


@pytest.mark.django_db
def test_a_brokerages_logo_is_served_only_on_its_own_host(tenants):
    with alpha_logo(tenants):
        assert body_of(Client(HTTP_HOST=host_of(tenants["alpha"])).get("/branding/logo")) == PNG
        assert Client(HTTP_HOST=host_of(tenants["beta"])).get("/branding/logo").status_code == 404


# --- completeness ----------------------------------------------------------------------------------------

def walk(resolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern, prefix + str(pattern.pattern))
        else:
            yield "/" + prefix + str(pattern.pattern), pattern


def served_methods(pattern) -> set[str]:
    """The HTTP methods a class-based view answers (not HEAD/OPTIONS; not FormView's PUT alias of POST)."""
    view_class = getattr(pattern.callback, "view_class", None)
    if view_class is None:
        return set()
    methods = set()
    for method in ("get", "post", "put", "patch", "delete"):
        handler = getattr(view_class, method, None)
        if handler is None or method not in view_class.http_method_names:
            continue
        if method == "put" and handler is ProcessFormView.put:
            continue
        methods.add(method.upper())
    return methods


@pytest.mark.parametrize("host", ["tenant", "platform"])
def test_every_url_pattern_and_method_has_a_row_in_the_access_matrix(host):
    rows = [row for row in ROWS if row.host == host]
    prefixes = [row.covers for row in rows if row.covers]
    missing = []
    for route, pattern in walk(get_resolver(URLCONFS[host])):
        if any(route.startswith(prefix) for prefix in prefixes):
            continue
        methods = {row.method for row in rows if row.route == route}
        if not methods:
            missing.append(f"{route} (name {pattern.name!r})")
        missing += [f"{method} {route}" for method in sorted(served_methods(pattern) - methods)]
    assert missing == [], f"add these to tests/access_matrix.py: {missing}"


@pytest.mark.parametrize("host", ["tenant", "platform"])
def test_every_row_of_the_access_matrix_names_a_route_that_exists(db, tenants, host):
    routes = {route for route, _ in walk(get_resolver(URLCONFS[host]))}
    for row in ROWS:
        if row.host != host or not row.in_urlconf:
            continue
        assert row.route in routes, f"stale row {row.id}"
        # The sample values really reach that route (e.g. a slug never lands on /brokerages/new/).
        assert "/" + resolve(path_of(row), urlconf=URLCONFS[host]).route == row.route, row.id
