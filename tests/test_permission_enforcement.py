"""Every back-office page and staff API endpoint × every role, checked against the permission matrix.

The routes are read from the tenant URLconf itself; each view declares the matrix permission it needs
(`permission`/`write_permission` on pages, `required_permissions` per method on the API). For each route,
method and role the test expects exactly what the matrix grants: an over-grant (a role gets in that the
matrix refuses) and an under-grant (a role the matrix allows is refused) both fail. A route under
/backoffice/ or /api/v1/ that declares no permission fails the completeness test, so a new endpoint cannot
be added without a matrix entry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context

from tenant_apps.identity.permissions import BY_CODE, SYSTEM_ROLES, role_grants
from tests.conftest import PASSWORD, host_of, mfa_enrol

GUARDED_PREFIXES = ("backoffice/", "api/v1/")
# Tenant routes under the guarded prefixes that are deliberately open, with the reason.
OPEN_ROUTES = {
    "api/v1/brokerage/": "the brokerage's public profile: what any visitor of the portal sees anyway",
    "api/v1/me/": "who am I: any signed-in user of the brokerage (portals too), and only about themselves",
    "backoffice/join/<str:token>/": "a staff invitation link: for someone who has no account yet; the link's "
                                    "secret is the permission",
    # trading: the signed-in CLIENT's own accounts only (IsClient; the account is looked up among theirs)
    "api/v1/trading/accounts/": "a client's own trading accounts: clients only, never staff",
    "api/v1/money/withdrawals/": "a client's own withdrawals: clients only, never staff",
    "api/v1/money/transfers/": "a client's own transfers between their own accounts: clients only, never staff",
    "api/v1/trading/accounts/<int:account_id>/leverage/": "a client's own account: clients only",
    "api/v1/trading/accounts/<int:account_id>/archive/": "a client's own account: clients only",
    "api/v1/trading/accounts/<int:account_id>/credentials/": "a client's own account: clients only",
}
ROLE_ACTORS = SYSTEM_ROLES  # client, ib, sales, support, compliance, finance, manager, super_admin
ACTORS = ("anonymous", *ROLE_ACTORS, "other_tenant_super_admin")
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Guarded:
    route: str
    method: str
    needs: tuple[str, str]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def _declared(view_class, method: str) -> tuple[str, str] | None:
    required = getattr(view_class, "required_permissions", None)
    if required is not None:
        return required.get(method.upper())
    if hasattr(view_class, "permission"):
        write = getattr(view_class, "write_permission", None)
        return view_class.permission if method == "get" or not write else write
    return None


def guarded_routes() -> tuple[list[Guarded], list[str]]:
    found, undeclared = [], []
    for route, callback in _walk(get_resolver("platform_core.urls_tenant").url_patterns):
        if not route.startswith(GUARDED_PREFIXES) or route in OPEN_ROUTES:
            continue
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        methods = [m for m in METHODS if view_class is not None and hasattr(view_class, m)]
        if not methods:
            undeclared.append(f"{route} (function view: use a class with a declared permission)")
        for method in methods:
            needs = _declared(view_class, method)
            if needs is None:
                undeclared.append(f"{method.upper()} {route}")
            else:
                found.append(Guarded(route, method, needs))
    return found, undeclared


ROUTES, UNDECLARED = guarded_routes()


def test_every_guarded_route_declares_a_matrix_permission():
    assert not UNDECLARED, "routes without a matrix permission:\n" + "\n".join(UNDECLARED)
    assert ROUTES, "no guarded routes found: the walk is broken"


@pytest.mark.parametrize("guarded", ROUTES, ids=lambda g: f"{g.method.upper()} {g.route}")
def test_each_declared_permission_exists_in_the_matrix(guarded):
    capability, action = guarded.needs
    assert capability in BY_CODE and action in BY_CODE[capability].actions, guarded


# --- actors ------------------------------------------------------------------------------------------------

@pytest.fixture
def people(db, tenants):
    """One alpha user per system role (staff enrolled in two-factor), a client owned by the Sales user (so
    Sales' own-clients scope includes it), and beta's admin for the cross-tenant case."""
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.identity.services import staff_user_create

    alpha = tenants["alpha"]
    users = {}
    with tenant_context(alpha):
        for role in ROLE_ACTORS:
            email = f"{role.replace('_', '')}.enforce@alpha.test"
            if role == "client":
                users[role] = User.objects.create_user(email=email, password=PASSWORD, kind=UserKind.CLIENT)
            elif role == "ib":
                users[role] = User.objects.create_user(email=email, password=PASSWORD, kind=UserKind.IB)
            else:
                users[role] = staff_user_create(email=email, password=PASSWORD, role_codes=[role])[0]
        subject = User.objects.create_user(email="subject.enforce@example.test", kind=UserKind.CLIENT,
                                           full_name="Subject Client")
        ClientRecord.objects.create(user=subject, owner=users["sales"], country="CY")
    for role in ("support", "compliance", "finance", "manager", "super_admin"):
        mfa_enrol(alpha, users[role].email)
    return {"users": users, "subject": subject}


def sample_path(route: str, people) -> str:
    values = {
        "client_id": people["subject"].pk, "user_id": people["subject"].pk, "pk": people["subject"].pk,
        "object_type": "identity.user", "object_id": people["subject"].pk, "kind": "logo",
        # staff management: ids nothing has (the guard answers before the lookup; allowed = not refused)
        "role_id": 999999, "team_id": 999999, "invite_id": 999999, "token_id": 999999,
        "case_id": 999999, "document_id": 999999,
        "rule_id": 999999,  # crm routing rules
        "task_id": 999999, "import_id": 999999,  # crm tasks and lead imports
        "account_id": 999999, "request_id": 999999,  # trading accounts and leverage requests
        # work queues: the route's guard is queues:view; each queue's own permission is tested in tests/queues
        "code": "no-such-queue",
    }

    def fill(match):
        name = match.group(1)
        if name not in values:
            pytest.fail(f"add a sample value for <{name}> in tests/test_permission_enforcement.py")
        return str(values[name])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", fill, route)


def client_for(actor: str, people, tenants) -> Client:
    from tenant_apps.identity.models import User

    client = Client(HTTP_HOST=host_of(tenants["alpha"]))
    if actor == "anonymous":
        return client
    if actor == "other_tenant_super_admin":
        with tenant_context(tenants["beta"]):
            client.force_login(User.objects.get(email="admin@beta.test"))
        return client
    with tenant_context(tenants["alpha"]):
        client.force_login(people["users"][actor])
    return client


def expected_allowed(actor: str, needs: tuple[str, str]) -> bool:
    if actor in ("anonymous", "other_tenant_super_admin") or actor in ("client", "ib"):
        return False  # staff pages and staff API: never for non-staff, whatever the matrix says of them
    return f"{needs[0]}:{needs[1]}" in role_grants(actor)


def outcome(response) -> str:
    status = response.status_code
    if status >= 500:
        return "error"
    if status == 403:
        return "denied"
    if status == 401:
        return "unauthenticated"
    if status == 302:
        target = urlsplit(response["Location"]).path
        if target.startswith("/accounts/login/"):
            return "unauthenticated"
        if target.startswith("/accounts/2fa/"):
            return "mfa-redirect"
    return "allowed"


CELLS = [pytest.param(g, actor, id=f"{g.method.upper()} {g.route} as {actor}") for g in ROUTES for actor in ACTORS]


@pytest.mark.parametrize(("guarded", "actor"), CELLS)
def test_the_route_grants_exactly_what_the_matrix_says(guarded, actor, people, tenants):
    client = client_for(actor, people, tenants)
    path = sample_path(guarded.route, people)
    send = getattr(client, guarded.method)
    response = send(path, {}, content_type="application/json") if guarded.is_api and guarded.method != "get" \
        else send(path)
    got = outcome(response)
    assert got != "error", f"{guarded.method.upper()} {path} as {actor}: HTTP {response.status_code}"
    assert got != "mfa-redirect", f"{actor} was sent to two-factor enrolment: the fixture must enrol them"
    if expected_allowed(actor, guarded.needs):
        assert got == "allowed", (f"under-grant: {actor} holds {guarded.needs} but {guarded.method.upper()} {path} "
                                  f"answered {response.status_code}")
    elif actor in ("anonymous", "other_tenant_super_admin"):
        assert got in ("unauthenticated", "denied"), f"{actor} reached {path}: HTTP {response.status_code}"
    else:
        assert got == "denied", (f"over-grant: {actor} lacks {guarded.needs} but {guarded.method.upper()} {path} "
                                 f"answered {response.status_code}")
