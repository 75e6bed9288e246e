"""The default roles every brokerage starts with (the permission matrix that gives them rights comes next)."""

DEFAULT_ROLES: list[dict] = [
    {"code": "client", "name": "Client", "is_staff_role": False,
     "description": "Trader using the Trader's Room."},
    {"code": "ib", "name": "Introducing broker", "is_staff_role": False,
     "description": "Partner using the partner portal."},
    {"code": "sales", "name": "Sales", "description": "Own and team leads and clients; no finance data or KYC documents."},
    {"code": "support", "name": "Support", "description": "Statuses and reasons; never edits money or KYC decisions."},
    {"code": "compliance", "name": "Compliance", "description": "KYC review, screening, risk; never changes payment details."},
    {"code": "finance", "name": "Finance", "description": "Deposits, withdrawals, adjustments, reconciliation; never KYC decisions."},
    {"code": "manager", "name": "Manager", "description": "Supervisor: overrides, escalations, exception approvals."},
    {"code": "super_admin", "name": "Super Admin", "description": "Configures the brokerage and its staff."},
]
