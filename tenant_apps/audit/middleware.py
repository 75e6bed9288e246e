"""Gives every audit entry recorded while serving a request that request's IP and user agent.

Services need not pass `request` down: `audit_record` reads the origin from here when its actor is a
user. Install after the tenant middleware (the origin is tied to the brokerage the request is for).
"""
from tenant_apps.audit.services import audit_request_origin


class AuditOriginMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_request_origin(request):
            return self.get_response(request)
