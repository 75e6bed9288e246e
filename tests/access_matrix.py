"""Who reaches what: every page and endpoint of both hosts × every kind of visitor, in ONE table.

tests/test_access_matrix.py turns each cell into a test and fails when a URL pattern has no row here.
Tenant rows are requested on Alpha Trading's host; platform rows on the platform host. Every actor presents
the session it really has, wherever it goes: a session from one host means nothing on another (its row says so).
"""
from __future__ import annotations

from dataclasses import dataclass, field

ACTORS = (
    "anonymous",           # no session at all
    "client",              # a client (trader) of Alpha, signed in at Alpha
    "super_admin",         # Alpha's Super Admin, signed in at Alpha
    "sales",               # Alpha staff whose only role is Sales
    "operator",            # a platform operator, signed in at the platform
    "platform_user",       # a public-schema user who is NOT an operator, signed in at the platform
    "other_tenant_staff",  # Beta's Super Admin presenting the session cookie Beta gave them
)

LOGIN = "redirect-login"   # 302 to the host's sign-in page, with ?next=<this path>
FORBIDDEN = "forbidden"    # 403


def to(path: str) -> str:
    """A redirect to exactly this path (not the sign-in page)."""
    return f"redirect:{path}"


@dataclass(frozen=True)
class Row:
    host: str                # "tenant" (Alpha's domain) or "platform"
    method: str
    route: str               # the route as the URLconf spells it, with a leading "/"
    expect: tuple            # one outcome per ACTORS entry: a status code, LOGIN, FORBIDDEN or to(path)
    params: dict = field(default_factory=dict)  # values for the route's <placeholders>, over SAMPLE_PARAMS
    data: dict | None = None  # form-encoded body of a POST
    branded: bool = False    # a page of the tenant that must carry the tenant's own branding
    covers: str = ""         # a route prefix this row stands for in the completeness check
    setup: str = ""          # a preparation the test performs first (see test_access_matrix.SETUPS)
    in_urlconf: bool = True  # False for paths answered by middleware (/healthz)

    def __post_init__(self):
        assert self.host in ("tenant", "platform"), self.host
        assert len(self.expect) == len(ACTORS), (self.route, len(self.expect))

    @property
    def id(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.host}:{self.method}:{self.route}" + (f"[{extra}]" if extra else "")


SAMPLE_PARAMS = {"slug": "alpha", "kind": "logo", "action": "resume", "job_id": "<alpha's provisioning job>"}

ALL_200 = (200,) * 7
HOME = to("/backoffice/")
STAFF_PAGE = (LOGIN, FORBIDDEN, 200, 200, LOGIN, LOGIN, LOGIN)
AUDIT_PAGE = (LOGIN, FORBIDDEN, 200, FORBIDDEN, LOGIN, LOGIN, LOGIN)  # audit:view — compliance, manager, super admin


def staff_admin(outcome) -> tuple:
    """A back-office page for staff:view/manage or roles:manage (manager, super admin; never sales)."""
    return (LOGIN, FORBIDDEN, outcome, FORBIDDEN, LOGIN, LOGIN, LOGIN)


def any_staff(outcome) -> tuple:
    """A back-office page every staff member reaches (e.g. api_tokens:manage)."""
    return (LOGIN, FORBIDDEN, outcome, outcome, LOGIN, LOGIN, LOGIN)


def tenant_api(super_admin, *, sales=FORBIDDEN, client=FORBIDDEN) -> tuple:
    """A /api/v1/ endpoint of a brokerage: no session of Alpha's means a typed 403 (not_authenticated)."""
    return (FORBIDDEN, client, super_admin, sales, FORBIDDEN, FORBIDDEN, FORBIDDEN)


NO_SUCH = "999999"  # an id no row has
CLIENT_PAGE = (LOGIN, 200, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)  # Trader's Room pages of a signed-in client


def client_page(outcome) -> tuple:
    return (LOGIN, outcome, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)
SUPER_ADMIN_WRITE = (LOGIN, FORBIDDEN, to("/backoffice/branding/"), FORBIDDEN, LOGIN, LOGIN, LOGIN)
OPERATOR_PAGE = (LOGIN, LOGIN, LOGIN, LOGIN, 200, FORBIDDEN, LOGIN)
OPERATOR_API = (FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, 200, FORBIDDEN, FORBIDDEN)


def operator_api(status: int) -> tuple:
    return OPERATOR_API[:4] + (status,) + OPERATOR_API[5:]


def operator_page(outcome) -> tuple:
    return OPERATOR_PAGE[:4] + (outcome,) + OPERATOR_PAGE[5:]


#                                                                anonymous  client     super_admin sales      operator  platform_user other_tenant_staff
ROWS: list[Row] = [
    # --- a brokerage's host -----------------------------------------------------------------------------
    Row("tenant", "GET", "/",                            (200,       200,       HOME,       HOME,      200,      200,       200), branded=True),
    Row("tenant", "GET", "/theme.css",                   ALL_200),
    Row("tenant", "GET", "/branding/<str:kind>",         ALL_200, setup="alpha_logo"),
    Row("tenant", "GET", "/branding/<str:kind>",         (404,) * 7, params={"kind": "favicon"}),  # none uploaded
    Row("tenant", "GET", "/branding/<str:kind>",         (404,) * 7, params={"kind": "settings"}, setup="alpha_logo"),
    Row("tenant", "POST", "/i18n/setlang/",              (to("/"),) * 7, data={"language": "es", "next": "/"}),
    Row("tenant", "GET", "/accounts/login/",             (200,       to("/"),   to("/"),    to("/"),   200,      200,       200),
        branded=True, covers="/accounts/"),
    Row("tenant", "GET", "/accounts/signup/",            (200,       to("/"),   to("/"),    to("/"),   200,      200,       200),
        branded=True),
    Row("tenant", "GET", "/accounts/password/reset/",    ALL_200, branded=True),
    Row("tenant", "GET", "/accounts/email/",             (LOGIN,     200,       200,        200,       LOGIN,    LOGIN,     LOGIN)),
    Row("tenant", "POST", "/accounts/logout/",           (to("/"),) * 7),
    Row("tenant", "GET", "/backoffice/",                 STAFF_PAGE, branded=True),
    Row("tenant", "GET", "/backoffice/branding/",        STAFF_PAGE, branded=True),
    Row("tenant", "POST", "/backoffice/branding/",       SUPER_ADMIN_WRITE, data={"portal_name": "Alpha Trading"}),
    Row("tenant", "POST", "/backoffice/branding/image/<str:kind>/", SUPER_ADMIN_WRITE, data={"action": "remove"}),
    Row("tenant", "POST", "/backoffice/branding/reset/", SUPER_ADMIN_WRITE, data={"preset": "midnight"}),  # Alpha's own
    Row("tenant", "GET", "/backoffice/branding/contrast/", STAFF_PAGE),
    Row("tenant", "GET", "/backoffice/permissions/",     STAFF_PAGE, branded=True),
    Row("tenant", "GET", "/backoffice/clients/",         STAFF_PAGE, branded=True),
    # A client outside Sales' own-and-team scope: 404 for Sales (never confirming it exists), 200 for Super Admin.
    Row("tenant", "GET", "/backoffice/clients/<int:client_id>/", (LOGIN, FORBIDDEN, 200, 404, LOGIN, LOGIN, LOGIN)),
    # global search (clients:view, results scoped like the client list)
    Row("tenant", "GET", "/backoffice/search/",          STAFF_PAGE, branded=True),
    Row("tenant", "GET", "/backoffice/clients/<int:client_id>/finance/", (LOGIN, FORBIDDEN, 200, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    # lead routing rules (crm.routing: view for sales/manager/super admin, manage for manager/super admin)
    Row("tenant", "GET", "/backoffice/clients/routing/", STAFF_PAGE, branded=True),
    Row("tenant", "POST", "/backoffice/clients/routing/", (LOGIN, FORBIDDEN, 400, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        data={"name": ""}),
    Row("tenant", "GET", "/backoffice/clients/routing/<int:rule_id>/", (LOGIN, FORBIDDEN, 404, 404, LOGIN, LOGIN, LOGIN),
        params={"rule_id": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/clients/routing/<int:rule_id>/",
        (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN, LOGIN), params={"rule_id": NO_SUCH}, data={"name": "x"}),
    Row("tenant", "GET", "/api/v1/clients/",             (403, 403, 200, 200, 403, 403, 403)),
    Row("tenant", "GET", "/api/v1/clients/<int:client_id>/", (403, 403, 200, 404, 403, 403, 403)),
    Row("tenant", "GET", "/api/v1/clients/<int:client_id>/finance/", (403, 403, 200, 403, 403, 403, 403)),
    # --- lead pipeline, tasks, notes, lead import, working hours (issue 8 item 3, crm) ---
    # pipeline and my tasks: clients:view (Sales scoped); tasks/notes on a client: clients:edit and the client in scope
    Row("tenant", "GET", "/backoffice/clients/pipeline/", STAFF_PAGE, branded=True),
    Row("tenant", "GET", "/backoffice/clients/tasks/",    STAFF_PAGE, branded=True),
    Row("tenant", "POST", "/backoffice/clients/tasks/<int:task_id>/complete/",
        (LOGIN, FORBIDDEN, 404, 404, LOGIN, LOGIN, LOGIN), params={"task_id": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/clients/<int:client_id>/tasks/",
        (LOGIN, FORBIDDEN, 404, 404, LOGIN, LOGIN, LOGIN), params={"client_id": NO_SUCH}, data={"title": "x"}),
    Row("tenant", "POST", "/backoffice/clients/<int:client_id>/notes/",
        (LOGIN, FORBIDDEN, 404, 404, LOGIN, LOGIN, LOGIN), params={"client_id": NO_SUCH}, data={"body": "x"}),
    # lead import: crm.leads:create (manager, super admin)
    Row("tenant", "GET", "/backoffice/clients/leads/import/", staff_admin(200), branded=True),
    Row("tenant", "POST", "/backoffice/clients/leads/import/", staff_admin(400), data={}),
    Row("tenant", "GET", "/backoffice/clients/leads/import/<int:import_id>/", staff_admin(404),
        params={"import_id": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/clients/leads/import/<int:import_id>/confirm/", staff_admin(404),
        params={"import_id": NO_SUCH}),
    # teams' working hours: crm.routing view (sales, manager, super admin) / manage (manager, super admin)
    Row("tenant", "GET", "/backoffice/clients/routing/hours/", STAFF_PAGE, branded=True),
    Row("tenant", "POST", "/backoffice/clients/routing/hours/", staff_admin(400), data={"team": ""}),
    Row("tenant", "POST", "/api/v1/crm/leads/",          tenant_api(400), data={"name": "no e-mail"}),
    # sanctions screening and risk of one client: kyc.screening (compliance and manager only, not Super Admin)
    Row("tenant", "GET", "/backoffice/screening/<int:client_id>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "POST", "/backoffice/screening/<int:client_id>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        data={"action": "pep_on"}),
    # KYC review (kyc:view reads the queue and cases: support, compliance, manager, super admin; kyc:decide
    # claims and decides, kyc.documents:view opens a document: compliance and manager — never Super Admin or Sales)
    Row("tenant", "GET", "/backoffice/kyc/",             AUDIT_PAGE, branded=True),
    Row("tenant", "GET", "/backoffice/kyc/<int:case_id>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"case_id": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/kyc/<int:case_id>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"case_id": NO_SUCH}, data={"outcome": "approve"}),
    Row("tenant", "POST", "/backoffice/kyc/<int:case_id>/assign/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"case_id": NO_SUCH}, data={}),
    Row("tenant", "GET", "/backoffice/kyc/documents/<int:document_id>/file/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN,
        LOGIN, LOGIN, LOGIN), params={"document_id": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/audit/",           AUDIT_PAGE, branded=True),
    # money (payments): the Trader's Room pages of a client; back-office queues — payments:view reads deposits and
    # adjustments (Super Admin too), payments:review the withdrawal stages and payments:adjust decides (not Super Admin)
    Row("tenant", "GET", "/money/",                      client_page(200), covers="/money/"),
    Row("tenant", "GET", "/money/deposit/",              client_page(200)),
    Row("tenant", "GET", "/money/deposit/return/",       client_page(to("/money/"))),
    Row("tenant", "GET", "/money/deposit/<int:pk>/",     client_page(404), params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/money/withdraw/",             client_page(200)),
    Row("tenant", "GET", "/money/withdrawals/<int:pk>/", client_page(404), params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/money/transfer/",             client_page(200)),
    Row("tenant", "GET", "/money/statement/",            client_page(200)),
    Row("tenant", "GET", "/backoffice/money/deposits/",  (LOGIN, FORBIDDEN, 200, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "GET", "/backoffice/money/deposits/<int:pk>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/money/withdrawals/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "GET", "/backoffice/money/withdrawals/<int:pk>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/money/adjustments/", (LOGIN, FORBIDDEN, 200, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "GET", "/backoffice/money/transfers/", (LOGIN, FORBIDDEN, 200, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "GET", "/backoffice/money/transfers/<int:pk>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/money/transfers/<int:pk>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}, data={"action": "retry", "note": "x"}),
    Row("tenant", "POST", "/backoffice/money/adjustments/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        data={"amount": "1"}),
    Row("tenant", "POST", "/backoffice/money/deposits/<int:pk>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}, data={"action": "approve"}),
    # reconciliation: payments:view reads the discrepancies; payments:reconcile (Finance, Manager) resolves them
    Row("tenant", "GET", "/backoffice/money/reconciliation/", (LOGIN, FORBIDDEN, 200, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "POST", "/backoffice/money/reconciliation/<int:pk>/resolve/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN,
        LOGIN, LOGIN, LOGIN), params={"pk": NO_SUCH}, data={"note": "checked"}),
    # payment methods and their rules: payments:configure (Finance, Manager — not Super Admin, not Sales)
    Row("tenant", "GET", "/backoffice/money/methods/",   (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "POST", "/backoffice/money/methods/",  (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        data={"code": ""}),
    Row("tenant", "GET", "/backoffice/money/methods/<int:pk>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/money/methods/<int:pk>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}, data={"code": ""}),
    # incoming bank wires: payments.wires:view reads the queue and a wire (Super Admin too); match (import, enter,
    # match, return, ignore) is Finance's and approve (a name mismatch) Compliance's or a Manager's — not Super Admin
    Row("tenant", "GET", "/backoffice/money/wires/",     (LOGIN, FORBIDDEN, 200, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "GET", "/backoffice/money/wires/import/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "POST", "/backoffice/money/wires/import/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), data={"action": "enter"}),
    Row("tenant", "GET", "/backoffice/money/wires/<int:pk>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"pk": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/money/wires/<int:pk>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}, data={"action": "ignore", "note": "x"}),
    Row("tenant", "POST", "/backoffice/money/wires/<int:pk>/approve/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN,
        LOGIN, LOGIN), params={"pk": NO_SUCH}, data={"action": "approve"}),
    Row("tenant", "GET", "/api/v1/payments/withdrawals/", (403, 403, 403, 403, 403, 403, 403)),
    Row("tenant", "GET", "/api/v1/payments/deposits/review/", (403, 403, 200, 403, 403, 403, 403)),
    # the staff money API: the same permissions as the pages (payments:review withdrawals, payments:view reads
    # deposits and adjustments, payments:approve decides deposits, payments:adjust makes and decides adjustments)
    Row("tenant", "GET", "/api/v1/payments/withdrawals/<int:pk>/", (403,) * 7, params={"pk": NO_SUCH}),
    Row("tenant", "POST", "/api/v1/payments/withdrawals/<int:pk>/approve/", (403,) * 7, params={"pk": NO_SUCH},
        data={}),
    Row("tenant", "POST", "/api/v1/payments/withdrawals/<int:pk>/reject/", (403,) * 7, params={"pk": NO_SUCH},
        data={}),
    Row("tenant", "GET", "/api/v1/payments/deposits/<int:pk>/", tenant_api(404), params={"pk": NO_SUCH}),
    Row("tenant", "POST", "/api/v1/payments/deposits/<int:pk>/approve/", (403,) * 7, params={"pk": NO_SUCH},
        data={}),
    Row("tenant", "POST", "/api/v1/payments/deposits/<int:pk>/reject/", (403,) * 7, params={"pk": NO_SUCH}, data={}),
    Row("tenant", "GET", "/api/v1/payments/adjustments/", tenant_api(200)),
    Row("tenant", "POST", "/api/v1/payments/adjustments/", (403,) * 7, data={}),
    Row("tenant", "POST", "/api/v1/payments/adjustments/<int:pk>/decide/", (403,) * 7, params={"pk": NO_SUCH},
        data={}),
    Row("tenant", "POST", "/backoffice/money/withdrawals/<int:pk>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}, data={"action": "approve"}),
    Row("tenant", "POST", "/backoffice/money/adjustments/<int:pk>/decide/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN,
        LOGIN, LOGIN), params={"pk": NO_SUCH}, data={"action": "approve"}),
    Row("tenant", "GET", "/backoffice/audit/<str:object_type>/<str:object_id>/", AUDIT_PAGE,
        params={"object_type": "themes.theme", "object_id": "1"}),
    Row("tenant", "GET", "/backoffice/audit/export/user/<int:user_id>.csv", AUDIT_PAGE, params={"user_id": "1"}),
    Row("tenant", "GET", "/backoffice/audit/export/user/<int:user_id>.json", AUDIT_PAGE, params={"user_id": "1"}),
    # staff management (staff:view to read, staff:manage to change; user 1 is Alpha's first Super Admin)
    Row("tenant", "GET", "/backoffice/staff/",           staff_admin(200), branded=True),
    Row("tenant", "GET", "/backoffice/staff/invite/",    staff_admin(200)),
    Row("tenant", "POST", "/backoffice/staff/invite/",   staff_admin(400), data={}),
    Row("tenant", "POST", "/backoffice/staff/invites/<int:invite_id>/revoke/", staff_admin(404),
        params={"invite_id": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/staff/invites/<int:invite_id>/resend/", staff_admin(404),
        params={"invite_id": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/staff/teams/",     staff_admin(200)),
    Row("tenant", "POST", "/backoffice/staff/teams/",    staff_admin(400), data={}),
    Row("tenant", "POST", "/backoffice/staff/teams/<int:team_id>/", staff_admin(404), params={"team_id": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/staff/<int:user_id>/", staff_admin(200), params={"user_id": "1"}),
    Row("tenant", "POST", "/backoffice/staff/<int:user_id>/", staff_admin(400), params={"user_id": "1"}, data={}),
    Row("tenant", "POST", "/backoffice/staff/<int:user_id>/deactivate/", staff_admin(400), params={"user_id": "1"},
        data={}),
    Row("tenant", "POST", "/backoffice/staff/<int:user_id>/reactivate/", staff_admin(400), params={"user_id": "1"},
        data={}),
    # custom roles (roles:view reads a role, roles:manage writes; role 1 is a system role: read-only)
    Row("tenant", "GET", "/backoffice/roles/new/",       staff_admin(200)),
    Row("tenant", "POST", "/backoffice/roles/new/",      staff_admin(400), data={}),
    Row("tenant", "GET", "/backoffice/roles/<int:role_id>/", STAFF_PAGE, params={"role_id": "1"}),
    Row("tenant", "POST", "/backoffice/roles/<int:role_id>/", staff_admin(400), params={"role_id": "1"}, data={}),
    Row("tenant", "POST", "/backoffice/roles/<int:role_id>/delete/", staff_admin(to("/backoffice/roles/1/")),
        params={"role_id": "1"}),
    # social sign-in providers (settings:view for manager and super admin, settings:edit for super admin)
    Row("tenant", "GET", "/backoffice/settings/sign-in/", staff_admin(200)),
    Row("tenant", "POST", "/backoffice/settings/sign-in/", (LOGIN, FORBIDDEN, 400, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        data={"provider": "google"}),
    # personal API tokens (api_tokens:manage, every staff member)
    Row("tenant", "GET", "/backoffice/account/api-tokens/", any_staff(200), branded=True),
    Row("tenant", "POST", "/backoffice/account/api-tokens/", any_staff(400), data={}),
    Row("tenant", "POST", "/backoffice/account/api-tokens/<int:token_id>/revoke/", any_staff(404),
        params={"token_id": NO_SUCH}),
    # notifications: everyone's OWN list — clients in the Trader's Room (staff are sent to theirs in the back office),
    # staff at /backoffice/notifications/ (notifications:view, every staff member); another's (or none) is not found
    Row("tenant", "GET", "/notifications/",              (LOGIN, 200, to("/backoffice/notifications/"),
        to("/backoffice/notifications/"), LOGIN, LOGIN, LOGIN), covers="/notifications/"),
    Row("tenant", "POST", "/notifications/",             (LOGIN, to("/notifications/"), to("/backoffice/notifications/"),
        to("/backoffice/notifications/"), LOGIN, LOGIN, LOGIN), data={"action": "read_all"}),
    Row("tenant", "POST", "/notifications/<int:pk>/open/", (LOGIN, 404, to("/backoffice/notifications/"),
        to("/backoffice/notifications/"), LOGIN, LOGIN, LOGIN), params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/notifications/",   any_staff(200), branded=True),
    Row("tenant", "POST", "/backoffice/notifications/",  any_staff(to("/backoffice/notifications/")),
        data={"action": "read_all"}),
    Row("tenant", "POST", "/backoffice/notifications/<int:pk>/open/", any_staff(404), params={"pk": NO_SUCH}),
    # support tickets and help centre (tenant_apps/support). Trader's Room: the client's OWN tickets (staff are
    # refused: they work in the back office); another's ticket or attachment is not found. The help centre is public.
    # E-mail in: only the brokerage's HMAC signature counts, never a session. Back office: support:view for every
    # staff member (Sales scoped to its own clients' tickets), support:reply/manage for support, manager, super admin.
    Row("tenant", "GET", "/support/",                    CLIENT_PAGE),
    Row("tenant", "GET", "/support/new/",                CLIENT_PAGE),
    Row("tenant", "POST", "/support/new/",               client_page(400), data={"subject": ""}),
    Row("tenant", "GET", "/support/<int:pk>/",           client_page(404), params={"pk": NO_SUCH}),
    Row("tenant", "POST", "/support/<int:pk>/reply/",    client_page(404), params={"pk": NO_SUCH}, data={"body": "x"}),
    Row("tenant", "POST", "/support/<int:pk>/close/",    client_page(404), params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/support/attachments/<int:pk>/", client_page(404), params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/support/help/",               ALL_200, branded=True),
    Row("tenant", "GET", "/support/help/<slug:slug>/",   (404,) * 7, params={"slug": "no-such-article"}),
    Row("tenant", "POST", "/support/inbound-email/",     (403,) * 7, data={"raw": "From: x@example.test"}),
    Row("tenant", "GET", "/backoffice/support/",         STAFF_PAGE, branded=True),
    Row("tenant", "GET", "/backoffice/support/<int:pk>/", (LOGIN, FORBIDDEN, 404, 404, LOGIN, LOGIN, LOGIN),
        params={"pk": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/support/<int:pk>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"pk": NO_SUCH}, data={"action": "reply", "body": "x"}),
    Row("tenant", "GET", "/backoffice/support/attachments/<int:pk>/", (LOGIN, FORBIDDEN, 404, 404, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/support/articles/", STAFF_PAGE, branded=True),
    Row("tenant", "GET", "/backoffice/support/articles/new/", staff_admin(200)),
    Row("tenant", "POST", "/backoffice/support/articles/new/", staff_admin(400), data={"title": ""}),
    Row("tenant", "GET", "/backoffice/support/articles/<int:pk>/", staff_admin(404), params={"pk": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/support/articles/<int:pk>/", staff_admin(404), params={"pk": NO_SUCH},
        data={"title": ""}),
    # segments and automation rules (automation: view and manage for manager and super admin; never Sales)
    Row("tenant", "GET", "/backoffice/automation/",      staff_admin(200), branded=True),
    Row("tenant", "POST", "/backoffice/automation/",     staff_admin(400), data={"action": "no-such-action"}),
    Row("tenant", "GET", "/backoffice/automation/rules/<int:rule_id>/", staff_admin(404), params={"rule_id": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/automation/rules/<int:rule_id>/", staff_admin(404), params={"rule_id": NO_SUCH},
        data={"name": "x"}),
    Row("tenant", "GET", "/backoffice/automation/runs/", staff_admin(200), branded=True),
    Row("tenant", "GET", "/backoffice/automation/runs/<int:pk>/", staff_admin(404), params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/automation/segments/", staff_admin(200), branded=True),
    Row("tenant", "POST", "/backoffice/automation/segments/", staff_admin(400), data={"name": "", "c0": "nope"}),
    Row("tenant", "GET", "/backoffice/automation/segments/<int:pk>/", staff_admin(404), params={"pk": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/automation/segments/<int:pk>/", staff_admin(404), params={"pk": NO_SUCH},
        data={"name": "x"}),
    # --- work queues (tenant_apps/queues): queues:view for the pages, PLUS each queue's own permission (kyc:view,
    # partners:view, payments:review …); SLA settings: queues:configure (manager, super admin)
    Row("tenant", "GET", "/backoffice/queues/",          STAFF_PAGE, branded=True),
    Row("tenant", "GET", "/backoffice/queues/badge/",    STAFF_PAGE),
    Row("tenant", "GET", "/backoffice/queues/settings/", staff_admin(200), branded=True),
    Row("tenant", "POST", "/backoffice/queues/settings/", staff_admin(400), data={"queue": "kyc", "sla_minutes": "0"}),
    Row("tenant", "GET", "/backoffice/queues/<slug:code>/", (LOGIN, FORBIDDEN, 200, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"code": "kyc"}, branded=True),
    Row("tenant", "GET", "/backoffice/queues/<slug:code>/", STAFF_PAGE, params={"code": "reassignments"}),
    Row("tenant", "GET", "/backoffice/queues/<slug:code>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"code": "withdrawals"}),  # payments:review: support, compliance, finance, manager only
    Row("tenant", "GET", "/backoffice/queues/<slug:code>/", (LOGIN, FORBIDDEN, 404, 404, LOGIN, LOGIN, LOGIN),
        params={"code": "no-such-queue"}),
    Row("tenant", "GET", "/backoffice/queues/<slug:code>/rows/", (LOGIN, FORBIDDEN, 200, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"code": "kyc"}),
    Row("tenant", "POST", "/backoffice/queues/<slug:code>/claims/", (LOGIN, FORBIDDEN, 400, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"code": "kyc"}, data={"action": "claim"}),  # no item chosen: refused, nothing changed
    # --- reports (tenant_apps/reports): reports:funnel (Sales too) for the index and the funnel; reports:view for
    # the others, the money report also clients.finance; reports:export for export jobs (only one's own: 404 else)
    Row("tenant", "GET", "/backoffice/reports/",         STAFF_PAGE, branded=True),
    Row("tenant", "GET", "/backoffice/reports/funnel/",  STAFF_PAGE),
    Row("tenant", "GET", "/backoffice/reports/money/",   AUDIT_PAGE),
    Row("tenant", "GET", "/backoffice/reports/trading/", AUDIT_PAGE),
    Row("tenant", "GET", "/backoffice/reports/dormancy/", AUDIT_PAGE),
    Row("tenant", "GET", "/backoffice/reports/kyc-sla/", AUDIT_PAGE),
    Row("tenant", "GET", "/backoffice/reports/builder/", AUDIT_PAGE),
    Row("tenant", "POST", "/backoffice/reports/builder/", (LOGIN, FORBIDDEN, 400, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        data={"action": "save", "dataset": "deposits", "dimensions": "planet"}),  # unknown dimension: refused
    Row("tenant", "POST", "/backoffice/reports/saved/<int:pk>/delete/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/reports/jobs/<int:pk>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/reports/jobs/<int:pk>/progress/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/reports/jobs/<int:pk>/download/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}),
    # the e-mailed invitation link: anyone may open it; a made-up one is not found
    Row("tenant", "GET", "/backoffice/join/<str:token>/", (404,) * 7, params={"token": "not-an-invitation"}),
    Row("tenant", "POST", "/backoffice/join/<str:token>/", (404,) * 7, params={"token": "not-an-invitation"},
        data={"full_name": "Mallory", "password1": "x", "password2": "x"}),
    # the client's identity verification in the Trader's Room: clients only (staff are refused, visitors sign in)
    Row("tenant", "GET", "/verify/",                     CLIENT_PAGE),
    Row("tenant", "GET", "/verify/profile/",             CLIENT_PAGE),
    Row("tenant", "POST", "/verify/profile/",            client_page(400), data={}),
    Row("tenant", "GET", "/verify/documents/",           CLIENT_PAGE),
    Row("tenant", "POST", "/verify/documents/",          client_page(400), data={}),
    Row("tenant", "GET", "/verify/documents/<int:document_id>/file/", client_page(404), params={"document_id": NO_SUCH}),
    Row("tenant", "POST", "/verify/submit/",             client_page(to("/verify/"))),  # steps missing: back, with why
    Row("tenant", "GET", "/api/v1/brokerage/",           ALL_200, branded=True),
    Row("tenant", "GET", "/api/v1/me/",                  tenant_api(200, sales=200, client=200)),
    # trading: the Trader's Room page and the client API are the client's own; staff pages need trading:view/manage
    Row("tenant", "GET", "/trading/",                    (LOGIN, 200, HOME, HOME, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "POST", "/trading/",                   (LOGIN, to("/trading/"), HOME, HOME, LOGIN, LOGIN, LOGIN),
        data={"action": "open", "account_type": "no-such-type"}),
    Row("tenant", "GET", "/api/v1/trading/accounts/",    tenant_api(FORBIDDEN, client=200)),
    Row("tenant", "GET", "/api/v1/money/withdrawals/",   tenant_api(FORBIDDEN, client=200)),
    Row("tenant", "POST", "/api/v1/money/withdrawals/",  tenant_api(FORBIDDEN, client=400), data={}),
    Row("tenant", "GET", "/api/v1/money/transfers/",     tenant_api(FORBIDDEN, client=200)),
    Row("tenant", "POST", "/api/v1/money/transfers/",    tenant_api(FORBIDDEN, client=400), data={}),
    Row("tenant", "POST", "/api/v1/trading/accounts/",   tenant_api(FORBIDDEN, client=400), data={}),
    Row("tenant", "POST", "/api/v1/trading/accounts/<int:account_id>/leverage/", tenant_api(FORBIDDEN, client=400),
        params={"account_id": NO_SUCH}, data={}),
    Row("tenant", "POST", "/api/v1/trading/accounts/<int:account_id>/archive/", tenant_api(FORBIDDEN, client=404),
        params={"account_id": NO_SUCH}, data={}),
    Row("tenant", "POST", "/api/v1/trading/accounts/<int:account_id>/credentials/", tenant_api(FORBIDDEN, client=404),
        params={"account_id": NO_SUCH}, data={}),
    Row("tenant", "GET", "/backoffice/trading/",         STAFF_PAGE, branded=True),
    Row("tenant", "GET", "/backoffice/trading/<int:account_id>/", (LOGIN, FORBIDDEN, 404, 404, LOGIN, LOGIN, LOGIN),
        params={"account_id": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/trading/<int:account_id>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"account_id": NO_SUCH}, data={"action": "block"}),
    Row("tenant", "POST", "/backoffice/trading/leverage/<int:request_id>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"request_id": NO_SUCH}, data={"decision": "approve"}),
    # the staff trading API: trading:view reads (every staff role, Sales within its clients), trading:manage writes
    Row("tenant", "GET", "/api/v1/backoffice/trading/accounts/", tenant_api(200, sales=200)),
    Row("tenant", "GET", "/api/v1/backoffice/trading/accounts/<int:account_id>/", tenant_api(404, sales=404),
        params={"account_id": NO_SUCH}),
    Row("tenant", "POST", "/api/v1/backoffice/trading/accounts/<int:account_id>/block/", tenant_api(404),
        params={"account_id": NO_SUCH}, data={}),
    Row("tenant", "POST", "/api/v1/backoffice/trading/accounts/<int:account_id>/unblock/", tenant_api(404),
        params={"account_id": NO_SUCH}, data={}),
    Row("tenant", "POST", "/api/v1/backoffice/trading/accounts/<int:account_id>/leverage/", tenant_api(404),
        params={"account_id": NO_SUCH}, data={}),
    # partners (IBs): partners:view reads (sales too), partners:manage edits (manager, super admin), partners:approve
    # decides IB applications (sales, manager), partners:reassign requests a move (sales, manager, super admin),
    # partners:reassign_approve decides it (manager only; never the requester)
    Row("tenant", "GET", "/backoffice/partners/",        STAFF_PAGE, branded=True),
    Row("tenant", "GET", "/backoffice/partners/settings/", STAFF_PAGE),
    # IB performance report (partners:view; the commissions column only for commissions:view)
    Row("tenant", "GET", "/backoffice/partners/performance/", STAFF_PAGE, branded=True),
    Row("tenant", "POST", "/backoffice/partners/settings/", (LOGIN, FORBIDDEN, 400, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        data={}),
    Row("tenant", "GET", "/backoffice/partners/reassignments/", STAFF_PAGE, branded=True),
    Row("tenant", "POST", "/backoffice/partners/reassignments/", (LOGIN, FORBIDDEN, 400, 400, LOGIN, LOGIN, LOGIN),
        data={}),
    Row("tenant", "POST", "/backoffice/partners/reassignments/<int:request_id>/", (LOGIN, FORBIDDEN, FORBIDDEN,
        FORBIDDEN, LOGIN, LOGIN, LOGIN), params={"request_id": NO_SUCH}, data={"action": "approve"}),
    Row("tenant", "POST", "/backoffice/partners/reassignments/<int:request_id>/cancel/", (LOGIN, FORBIDDEN, 404, 404,
        LOGIN, LOGIN, LOGIN), params={"request_id": NO_SUCH}),
    # a client's IB history (dispute view): outside Sales' own-and-team scope is a 404
    Row("tenant", "GET", "/backoffice/partners/clients/<int:client_id>/", (LOGIN, FORBIDDEN, 200, 404, LOGIN, LOGIN,
        LOGIN)),
    Row("tenant", "GET", "/backoffice/partners/<int:pk>/", (LOGIN, FORBIDDEN, 404, 404, LOGIN, LOGIN, LOGIN),
        params={"pk": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/partners/<int:pk>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        params={"pk": NO_SUCH}, data={"action": "suspend"}),
    Row("tenant", "POST", "/backoffice/partners/<int:pk>/decide/", (LOGIN, FORBIDDEN, FORBIDDEN, 404, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}, data={"action": "approve"}),
    # marketing materials for IBs: partners:view reads (sales too), partners:manage uploads and withdraws
    Row("tenant", "GET", "/backoffice/partners/materials/", STAFF_PAGE, branded=True),
    Row("tenant", "POST", "/backoffice/partners/materials/", (LOGIN, FORBIDDEN, 400, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        data={"title": ""}),
    Row("tenant", "POST", "/backoffice/partners/materials/<int:pk>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}, data={"active": "1"}),
    Row("tenant", "GET", "/backoffice/partners/materials/<int:pk>/file", (LOGIN, FORBIDDEN, 404, 404, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}),
    Row("tenant", "GET", "/api/v1/partners/",            tenant_api(200, sales=200)),
    Row("tenant", "GET", "/api/v1/partners/clients/<int:client_id>/", tenant_api(200, sales=404)),
    Row("tenant", "GET", "/api/v1/partners/reassignments/", tenant_api(200, sales=200)),
    Row("tenant", "POST", "/api/v1/partners/reassignments/", tenant_api(400, sales=400), data={}),
    Row("tenant", "POST", "/api/v1/partners/reassignments/<int:request_id>/decide/", tenant_api(FORBIDDEN),
        params={"request_id": NO_SUCH}, data={"decision": "approve"}),
    # the partner portal: an active IB account only (a client who is not an IB, and staff, are refused)
    Row("tenant", "GET", "/partner/",                    (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "GET", "/partner/referrals/",          (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "GET", "/partner/referrals/<int:client_id>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN)),
    Row("tenant", "GET", "/partner/links/",              (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "POST", "/partner/links/",             (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        data={"campaign": "x"}),
    Row("tenant", "GET", "/partner/links/<slug:code>/qr.svg", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"code": "no-such-link"}),
    Row("tenant", "GET", "/partner/tree/",               (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "GET", "/partner/materials/",          (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "GET", "/partner/materials/<int:pk>/file", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}),
    # IB commissions: partner portal statements (an active IB only); back office — commissions:view reads (not
    # Sales), commissions:manage edits plans (Super Admin too), :approve computes/approves periods and :pay pays
    # (Finance, Manager — not Super Admin)
    Row("tenant", "GET", "/partner/commissions/",        (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN)),
    Row("tenant", "GET", "/partner/commissions/<str:period>/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"period": "2026-10"}),
    Row("tenant", "GET", "/backoffice/commissions/",     AUDIT_PAGE, branded=True),
    Row("tenant", "POST", "/backoffice/commissions/",    (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        data={"period": "2026-10", "action": "accrue"}),
    Row("tenant", "GET", "/backoffice/commissions/plans/", AUDIT_PAGE),
    Row("tenant", "POST", "/backoffice/commissions/plans/", (LOGIN, FORBIDDEN, 400, FORBIDDEN, LOGIN, LOGIN, LOGIN),
        data={"name": ""}),
    Row("tenant", "GET", "/backoffice/commissions/plans/<int:pk>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}),
    Row("tenant", "POST", "/backoffice/commissions/plans/<int:pk>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), params={"pk": NO_SUCH}, data={"action": "assign"}),
    Row("tenant", "GET", "/backoffice/commissions/payouts/", AUDIT_PAGE),
    Row("tenant", "POST", "/backoffice/commissions/payouts/", (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN, LOGIN,
        LOGIN), data={"partner_id": NO_SUCH}),
    Row("tenant", "GET", "/backoffice/commissions/statements/<int:pk>/", (LOGIN, FORBIDDEN, 404, FORBIDDEN, LOGIN,
        LOGIN, LOGIN), params={"pk": NO_SUCH}),
    # the Trader's Room referral area: the client's link and the IB application (an invalid one here: nothing made)
    Row("tenant", "GET", "/referrals/",                  CLIENT_PAGE),
    Row("tenant", "POST", "/referrals/",                 client_page(400), data={"website": "not a web address"}),
    Row("tenant", "GET", "/api/v1/staff/",               tenant_api(200)),
    Row("tenant", "POST", "/api/v1/staff/",              tenant_api(400), data={}),
    Row("tenant", "GET", "/api/v1/staff/<int:user_id>/", tenant_api(200), params={"user_id": "1"}),
    Row("tenant", "PATCH", "/api/v1/staff/<int:user_id>/", tenant_api(400), params={"user_id": "1"}, data={}),
    Row("tenant", "POST", "/api/v1/staff/<int:user_id>/deactivate/", tenant_api(400), params={"user_id": "1"}, data={}),
    Row("tenant", "GET", "/api/v1/api-tokens/",          tenant_api(200, sales=200)),
    Row("tenant", "POST", "/api/v1/api-tokens/",         tenant_api(400, sales=400), data={}),
    Row("tenant", "DELETE", "/api/v1/api-tokens/<int:token_id>/", tenant_api(404, sales=404),
        params={"token_id": NO_SUCH}),
    # PSP callbacks: no session counts, the signature decides; an unsigned body is refused (and kept for forensics).
    Row("tenant", "POST", "/webhooks/psp/<slug:provider_code>/", (400,) * 7, params={"provider_code": "sandbox"},
        data={"id": "evt_forged", "type": "payment_intent.succeeded"}),
    # KYC vendor callbacks: the digest decides; with no Sumsub connection configured the brokerage has no such vendor.
    Row("tenant", "POST", "/webhooks/kyc/sumsub/", (404,) * 7, data={"type": "applicantReviewed"}),
    Row("tenant", "GET", "/api/schema/",                 ALL_200),
    Row("tenant", "GET", "/api/docs/",                   ALL_200),
    Row("tenant", "GET", "/healthz",                     ALL_200, in_urlconf=False),
    # --- observability (platform_core/observability: issue 10) ---------------------------------------------------
    # readiness needs a live worker heartbeat: none runs in this test, so every host answers 503 "not ready"
    Row("tenant", "GET", "/readyz",                      (503,) * 7, in_urlconf=False),
    Row("tenant", "GET", "/metrics",                     (404,) * 7, in_urlconf=False),  # platform host only
    # --- Trader's Room dashboard and installable app (tenant_apps/portal: issue 9) -----------------------------
    # the dashboard's live account figures (htmx fragment): a signed-in client only; staff go to the back office
    Row("tenant", "GET", "/dashboard/live/",             (LOGIN, 200, HOME, HOME, LOGIN, LOGIN, LOGIN)),
    # the web app manifest and its icons: public (a browser fetches them without cookies), this brokerage's only
    Row("tenant", "GET", "/manifest.webmanifest",        ALL_200),
    Row("tenant", "GET", "/pwa/icon-<int:size>.png",     ALL_200, params={"size": 192}),
    Row("tenant", "GET", "/pwa/icon-<int:size>.png",     (404,) * 7, params={"size": 100}),  # no such size

    # --- the platform host ----------------------------------------------------------------------------------
    Row("platform", "GET", "/",                          OPERATOR_PAGE),
    Row("platform", "GET", "/login/",                    (200,       200,       200,        200,       to("/"),  to("/"),   200)),
    Row("platform", "POST", "/login/",                   (200,       200,       200,        200,       to("/"),  to("/"),   200),
        data={"username": "admin@alpha.test", "password": "a tenant's password is no use here"}),
    Row("platform", "POST", "/logout/",                  (to("/login/"),) * 7),
    Row("platform", "GET", "/brokerages/new/",           OPERATOR_PAGE),
    Row("platform", "POST", "/brokerages/new/",          operator_page(400), data={}),
    Row("platform", "GET", "/brokerages/<slug:slug>/",   OPERATOR_PAGE),
    Row("platform", "POST", "/brokerages/<slug:slug>/dead-letters/", operator_page(to("/brokerages/alpha/")),
        data={"action": "retry", "all": "1"}),
    Row("platform", "POST", "/brokerages/<slug:slug>/<str:action>/", operator_page(to("/brokerages/alpha/"))),
    Row("platform", "GET", "/jobs/<uuid:job_id>/",       OPERATOR_PAGE),
    Row("platform", "GET", "/migrations/",               OPERATOR_PAGE),
    Row("platform", "GET", "/api/v1/platform/brokerages/", OPERATOR_API),
    Row("platform", "POST", "/api/v1/platform/brokerages/", operator_api(400), data={}),
    Row("platform", "GET", "/api/v1/platform/brokerages/<slug:slug>/", OPERATOR_API),
    Row("platform", "POST", "/api/v1/platform/brokerages/<slug:slug>/suspend/", operator_api(400)),  # no reason
    Row("platform", "POST", "/api/v1/platform/brokerages/<slug:slug>/resume/", operator_api(409)),   # alpha is active
    Row("platform", "POST", "/api/v1/platform/brokerages/<slug:slug>/archive/", operator_api(400)),  # no reason
    Row("platform", "GET", "/api/v1/platform/jobs/<uuid:job_id>/", OPERATOR_API),
    Row("platform", "GET", "/api/schema/",               ALL_200),
    Row("platform", "GET", "/api/docs/",                 ALL_200),
    Row("platform", "GET", "/theme.css",                 ALL_200),
    Row("platform", "GET", "/branding/<str:kind>",       (404,) * 7, setup="alpha_logo"),  # never a tenant's logo
    Row("platform", "POST", "/i18n/setlang/",            (to("/"),) * 7, data={"language": "ar", "next": "/"}),
    Row("platform", "GET", "/healthz",                   ALL_200, in_urlconf=False),
    # --- observability (platform_core/observability: issue 10) ---------------------------------------------------
    Row("platform", "GET", "/readyz",                    (503,) * 7, in_urlconf=False),  # no worker in this test
    # no METRICS_TOKEN in tests: only a signed-in operator scrapes; everyone else 403 (a scraper is no person)
    Row("platform", "GET", "/metrics",                   (403, 403, 403, 403, 200, 403, 403)),
]
