"""Host → brokerage resolution. Fails closed: an unknown host gets a 404, never another tenant's data."""
from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name, remove_www

from tenancy.lean import LEAN_PREFIXES, lean_response
from tenancy.models import BrokerageKind, BrokerageStatus
from tenancy.states import PORTAL_BEHAVIOUR

log = logging.getLogger(__name__)


ASSET_PATHS = ("/static/", "/theme.css", "/branding/")


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


class BrokerageMiddleware(TenantMainMiddleware):
    """django-tenants' host routing plus our rules for unknown hosts and non-serving brokerages."""

    def get_tenant(self, domain_model, hostname):
        from tenancy import routing

        return routing.lookup(hostname, lambda host: super(BrokerageMiddleware, self).get_tenant(domain_model, host))

    @staticmethod
    def hostname_from_request(request):
        # Host names are case-insensitive (RFC 9110); Domain rows are stored in lower case.
        return remove_www(request.get_host().split(":")[0].lower())

    def process_request(self, request):
        if request.path in ("/healthz", "/readyz"):
            # Load balancer probes answer on any host, before any tenant is resolved (readyz: platform_core/observability).
            from platform_core.health import healthz
            from platform_core.observability.readiness import readyz

            connection.set_schema_to_public()
            return healthz(request) if request.path == "/healthz" else readyz(request)
        lean = request.path_info.startswith(LEAN_PREFIXES)
        kept = (connection.schema_name, connection.search_path_set_schemas) if lean else None
        queried = []
        if kept and kept[1] is not None:
            with connection.execute_wrapper(lambda execute, *args: queried.append(1) or execute(*args)):
                response = super().process_request(request)
        else:
            response = super().process_request(request)
        if response is not None:
            return response
        if kept and kept[1] is not None and not queried and kept[0] == connection.schema_name \
                and connection._get_cursor_search_paths() == kept[1]:
            # set_tenant() forgets the search_path it set on this very connection, so the next query would SET it
            # again: a round trip per webhook during a PSP's burst to one brokerage. Nothing ran since (the host
            # was resolved from the routing cache), so it is still exactly in place.
            connection.search_path_set_schemas = kept[1]
        tenant = request.tenant
        if tenant.schema_name == get_public_schema_name():
            return None
        if tenant.kind != BrokerageKind.BROKERAGE:
            # Template and spare schemas have no domains; if one ever got one, never serve it.
            return self._not_found(request, request.get_host())
        behaviour, status = PORTAL_BEHAVIOUR[BrokerageStatus(tenant.status)]
        if behaviour == "serve":
            # Signed machine-to-machine POSTs (PSP webhooks) are answered here, past the people-facing middleware.
            return lean_response(request) if lean else None
        if request.path.startswith(ASSET_PATHS):
            # The maintenance page itself needs the stylesheet, theme and logo of its brokerage.
            return None
        if _wants_json(request):
            code = "brokerage_unavailable" if status == 503 else "brokerage_closed"
            message = (
                "This brokerage is temporarily unavailable." if status == 503 else "This brokerage has closed."
            )
            response = JsonResponse({"code": code, "message": message}, status=status)
        else:
            template = "tenancy/maintenance.html" if status == 503 else "tenancy/gone.html"
            response = render(request, template, {"brokerage": tenant}, status=status)
        if status == 503:
            response["Retry-After"] = "300"
        return response

    def no_tenant_found(self, request, hostname):
        return self._not_found(request, hostname)

    def _not_found(self, request, hostname):
        # Render in the public schema with platform branding: nothing of any tenant may leak.
        connection.set_schema_to_public()
        request.tenant = None
        request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        log.info("no brokerage for host %s", hostname)
        if _wants_json(request):
            return JsonResponse({"code": "unknown_host", "message": f"No brokerage answers on '{hostname}'."},
                                status=404)
        return render(request, "tenancy/unknown_host.html", {"hostname": hostname}, status=404)


class TenantActivityMiddleware:
    """Records a brokerage's last activity for the operator console, at most once per minute per tenant."""

    INTERVAL_S = 60

    def __init__(self, get_response):
        self.get_response = get_response
        self._next_check: dict[str, float] = {}

    def __call__(self, request):
        response = self.get_response(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None and getattr(tenant, "kind", None) == BrokerageKind.BROKERAGE:
            # Checked in-process first (no Redis round trip on most requests), then cache.add, which is atomic
            # across processes: only the first request in the interval writes (the key is tenant-scoped).
            now = time.monotonic()
            if self._next_check.get(tenant.schema_name, 0) > now:
                return response
            self._next_check[tenant.schema_name] = now + self.INTERVAL_S
            if cache.add("activity-mark", 1, self.INTERVAL_S):
                from tenancy.models import Brokerage

                Brokerage.objects.filter(pk=tenant.pk).update(last_activity_at=timezone.now())
        return response
