"""The permission matrix: capability × action × role. The single source of truth for who may do what.

The API (DRF permission class), the back-office views (mixin), the templates (`{% can %}` tag) and the
services (`permission_require`) all ask `has_perm(user, capability, action)`. The back office renders
this table as it is. Custom roles a brokerage defines hold a subset of these permissions (data, not code).

Reading the matrix: each capability lists its actions; each action names the system roles granted it.
Field-level rules (Sales never receives amounts) are capabilities too ("clients.finance").
"""
from __future__ import annotations

from dataclasses import dataclass

# Roles, in the order the matrix table shows them.
SYSTEM_ROLES: tuple[str, ...] = ("client", "ib", "sales", "support", "compliance", "finance", "manager", "super_admin")
STAFF_ROLES = ("sales", "support", "compliance", "finance", "manager", "super_admin")
ALL_STAFF = frozenset(STAFF_ROLES)


@dataclass(frozen=True)
class Capability:
    code: str
    label: str
    actions: dict[str, frozenset[str]]
    # Holding any action of a sensitive capability makes MFA mandatory for that staff member.
    sensitive: bool = False


def _cap(code: str, label: str, sensitive: bool = False, **actions: set[str] | frozenset[str]) -> Capability:
    return Capability(code, label, {a: frozenset(r) for a, r in actions.items()}, sensitive)


CAPABILITIES: tuple[Capability, ...] = (
    _cap("backoffice", "Back office", view=ALL_STAFF),
    # clients:view alone is scoped to the user's own and team's clients; view_all lifts the scope.
    _cap("clients", "Client records (profile, status, notes)",
         view=ALL_STAFF, view_all={"support", "compliance", "finance", "manager", "super_admin"},
         edit={"sales", "manager", "super_admin"},
         deactivate={"compliance", "manager", "super_admin"}),
    _cap("clients.contact", "Client contact details (e-mail, phone, address)",
         view={"sales", "support", "compliance", "finance", "manager", "super_admin"}),
    # clients.messages: the notifications a client was sent (Client 360); money titles need clients.finance too
    _cap("clients.messages", "Messages sent to a client (notifications and their delivery)",
         view={"support", "compliance", "finance", "manager", "super_admin"}),
    _cap("crm.routing", "Lead routing rules (country, language, source → team)",
         view={"sales", "manager", "super_admin"}, manage={"manager", "super_admin"}),
    # crm.leads:create — bring leads in by CSV import or the API (they are routed like registrations)
    _cap("crm.leads", "Lead intake (CSV import, API)", create={"manager", "super_admin"}),
    _cap("clients.finance", "Client money figures (deposit amounts, balances, equity)", sensitive=True,
         view={"finance", "compliance", "manager", "super_admin"}),
    _cap("kyc", "KYC cases (status and reasons)", view={"support", "compliance", "manager", "super_admin"},
         decide={"compliance", "manager"}),
    _cap("kyc.documents", "Identity documents", sensitive=True, view={"compliance", "manager"}),
    _cap("kyc.screening", "Sanctions screening results and risk scores", sensitive=True,
         view={"compliance", "manager"}, review={"compliance", "manager"}),
    _cap("payments", "Deposits, withdrawals, transfers", sensitive=True,
         view={"support", "finance", "manager", "super_admin"},
         # approve: decide a deposit under review; resolve a transfer in needs_attention (retry now / mark failed
         # and return the money, with a note) at /backoffice/money/transfers/<pk>/
         approve={"finance", "manager"},
         adjust={"finance", "manager"},
         # reconcile: resolve a reconciliation discrepancy (with a mandatory note)
         reconcile={"finance", "manager"},
         # review: take a withdrawal's review stage (Support → Compliance → Finance, each its own role)
         review={"support", "compliance", "finance", "manager"},
         # configure: the payment methods and their rules (who sees which method, limits, fees)
         configure={"finance", "manager"}),
    _cap("payments.details", "Payment details (bank accounts, cards)", sensitive=True,
         view={"finance", "manager"}, edit={"finance", "manager"}),
    # Incoming bank wires: the queue and statements (view: Support reads); match: import statements, enter, match,
    # return or ignore wires (Finance); approve: a match despite a payer-name difference (never its proposer).
    _cap("payments.wires", "Incoming bank wires and their matching", sensitive=True,
         view={"support", "compliance", "finance", "manager", "super_admin"}, match={"finance", "manager"},
         approve={"compliance", "manager"}),
    _cap("trading", "Trading accounts", view=ALL_STAFF, manage={"support", "manager", "super_admin"}),
    _cap("partners", "Introducing brokers and commissions", view={"sales", "finance", "manager", "super_admin"},
         manage={"manager", "super_admin"}, pay={"finance", "manager"},
         # approve: decide IB applications; reassign: request a client/IB move; reassign_approve: decide it
         # (maker ≠ checker is enforced by the service as well)
         approve={"sales", "manager"}, reassign={"sales", "manager", "super_admin"}, reassign_approve={"manager"}),
    # commissions: plans (manage), computing and approving periods into the ledger (approve), paying IBs (pay)
    _cap("commissions", "IB commission plans, accruals, approvals and payouts", sensitive=True,
         view={"finance", "manager", "super_admin"}, manage={"manager", "super_admin"},
         approve={"finance", "manager"}, pay={"finance", "manager"}),
    # reports (tenant_apps/reports): view = standard reports and the builder (amounts also need clients.finance);
    # funnel = the registration funnel (counts only, so Sales may see it); export = CSV/XLSX jobs
    _cap("reports", "Reports", view={"finance", "compliance", "manager", "super_admin"},
         funnel={"sales", "finance", "compliance", "manager", "super_admin"},
         export={"finance", "manager", "super_admin"}),
    _cap("audit", "Audit trail", sensitive=True, view={"compliance", "manager", "super_admin"},
         export={"compliance", "manager", "super_admin"}),
    _cap("staff", "Staff accounts and roles", view={"manager", "super_admin"}, manage={"super_admin"}),
    _cap("roles", "Roles and the permission matrix", view=ALL_STAFF, manage={"super_admin"}),
    _cap("branding", "Branding", view=ALL_STAFF, edit={"super_admin"}),
    _cap("settings", "Brokerage configuration (entities, account types, connections)",
         view={"manager", "super_admin"}, edit={"super_admin"}),
    _cap("api_tokens", "Own API tokens", manage=ALL_STAFF),
    # notifications: one's OWN in-app notifications and e-mail choices (nobody reads another person's)
    _cap("notifications", "Own notifications", view=ALL_STAFF),
    # automation: client segments and rules "when X, if Y, then Z" (view the rules, run log and segment previews;
    # manage: save segments, enable/disable and edit rules). Not Sales: previews list clients beyond their scope.
    _cap("automation", "Segments and automation rules", view={"manager", "super_admin"},
         manage={"manager", "super_admin"}),
    # support: tickets and the knowledge base. view: every staff member, scoped like clients:view (Sales reads its
    # own and team's clients' tickets; clients:view_all lifts the scope); reply: answer clients and add internal
    # notes; manage: status, category, severity, assignment and help articles
    _cap("support", "Support tickets and knowledge base", view=ALL_STAFF,
         reply={"support", "manager", "super_admin"}, manage={"support", "manager", "super_admin"}),
    # queues: the back-office work queues (/backoffice/queues/); each queue ALSO needs its own permission (e.g. kyc:view)
    # — assign: give items to others or release anyone's claim; configure: each queue's SLA for the brokerage
    _cap("queues", "Work queues (claims, assignment, SLA)", view=ALL_STAFF, assign={"manager", "super_admin"},
         configure={"manager", "super_admin"}),
)
BY_CODE: dict[str, Capability] = {c.code: c for c in CAPABILITIES}


def permission_key(capability: str, action: str) -> str:
    return f"{capability}:{action}"


def all_permission_keys() -> list[str]:
    return [permission_key(c.code, a) for c in CAPABILITIES for a in c.actions]


def role_grants(role_code: str) -> frozenset[str]:
    """Permissions a SYSTEM role holds, straight from the matrix."""
    return frozenset(permission_key(c.code, a) for c in CAPABILITIES for a, roles in c.actions.items()
                     if role_code in roles)


def _user_keys(user) -> frozenset[str]:
    """Every permission the user may use now: what its roles hold, narrowed to the scopes of the API token
    the request was authenticated with (identity.api_auth sets `_brokeros_token_scopes` on the user)."""
    keys = _role_keys(user)
    scopes = getattr(user, "_brokeros_token_scopes", None)
    return keys if scopes is None else keys & frozenset(scopes)


def _role_keys(user) -> frozenset[str]:
    """Every permission the user holds through its roles (system roles from the matrix, custom from data).

    Cached on the user object for the request: one query for the roles, whatever the number of checks.
    """
    cached = getattr(user, "_brokeros_perms", None)
    if cached is not None:
        return cached
    keys: set[str] = set()
    if getattr(user, "is_authenticated", False) and user.is_active and getattr(user, "pk", None):
        for role in user.roles.all():
            if role.is_system:
                keys |= role_grants(role.code)
            else:
                keys |= set(getattr(role, "permissions", None) or ()) & set(all_permission_keys())
    frozen = frozenset(keys)
    try:
        user._brokeros_perms = frozen
    except AttributeError:  # AnonymousUser is immutable-ish; nothing to cache
        pass
    return frozen


def has_perm(user, capability: str, action: str) -> bool:
    cap = BY_CODE.get(capability)
    if cap is None or action not in cap.actions:
        raise KeyError(f"Unknown permission {capability}:{action}; add it to the matrix first.")
    return permission_key(capability, action) in _user_keys(user)


def holds_sensitive_rights(user) -> bool:
    """True when the user holds any money or compliance right (MFA is then mandatory)."""
    sensitive = {permission_key(c.code, a) for c in CAPABILITIES if c.sensitive for a in c.actions}
    return bool(_user_keys(user) & sensitive)


def matrix_rows() -> list[dict]:
    """The matrix as table rows for the back office: capability, action, and a yes/no per system role."""
    return [
        {"capability": c, "action": a, "grants": [role in roles for role in SYSTEM_ROLES]}
        for c in CAPABILITIES for a, roles in c.actions.items()
    ]


class PermissionDeniedError(PermissionError):
    """Raised by services when the acting user lacks a permission; views turn it into 403."""

    def __init__(self, capability: str, action: str):
        super().__init__(f"You do not have permission to {action} {BY_CODE[capability].label.lower()}.")
        self.capability, self.action = capability, action


def permission_require(user, capability: str, action: str) -> None:
    """Service-layer check (defence in depth: views check too)."""
    if user is None:
        return  # system / worker actors act with the platform's authority
    if not has_perm(user, capability, action):
        raise PermissionDeniedError(capability, action)


def user_permission_keys(user) -> frozenset[str]:
    """The permissions `user` may use in this request (its roles' grants, narrowed by an API token's scopes)."""
    return _user_keys(user)
