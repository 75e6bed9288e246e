"""Per-request context and metrics. First in MIDDLEWARE, so it also wraps what BrokerageMiddleware answers itself
(/healthz, /readyz, unknown hosts, lean webhooks)."""
from __future__ import annotations

import logging
import os
import re
import time
import uuid

import structlog

from platform_core.observability import metrics
from platform_core.observability.logs import current_request

log = logging.getLogger("brokeros.request")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Answered by middleware, not the URLconf: their own route label instead of "unmatched".
MIDDLEWARE_ROUTES = {"/healthz": "/healthz", "/readyz": "/readyz"}


def request_id_for(incoming: str | None) -> str:
    """The caller's X-Request-ID if sane (≤ 64 chars of [A-Za-z0-9-_]), else a new uuid4 hex."""
    if incoming and _SANE_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def route_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return "/" + match.route
    if match is not None and match.url_name:
        return match.url_name
    return MIDDLEWARE_ROUTES.get(request.path_info, "unmatched")


def tenant_of(request) -> str:
    tenant = getattr(request, "tenant", None)
    return metrics.tenant_label(getattr(tenant, "schema_name", None))


class RequestContextMiddleware:
    """Binds request_id (echoed in X-Request-ID), tenant and user_id for every log line of the request, writes one
    access line (route pattern, never the raw path), counts the request and its duration; clears at the end."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.access_log = os.environ.get("LOG_REQUESTS", "1") != "0"
        from platform_core.observability.readiness import startup_pooling_check

        startup_pooling_check()

    def __call__(self, request):
        structlog.contextvars.clear_contextvars()
        request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        token = current_request.set(request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            response[REQUEST_ID_HEADER] = request_id
            tenant, route = tenant_of(request), route_of(request)
            try:
                metrics.HTTP_REQUESTS.labels(tenant, request.method if request.method in _METHODS else "other",
                                             route, str(response.status_code)).inc()
                metrics.HTTP_DURATION.labels(tenant, route).observe(elapsed)
            except Exception:  # noqa: BLE001 - metrics never break a response
                log.warning("could not record request metrics", exc_info=True)
            if self.access_log:
                log.info("request", extra={"method": request.method, "route": route,
                                           "status": response.status_code, "duration_ms": round(elapsed * 1000, 1)})
            return response
        finally:
            current_request.reset(token)
            structlog.contextvars.clear_contextvars()

    def process_view(self, request, view_func, view_args, view_kwargs):
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            structlog.contextvars.bind_contextvars(tenant=tenant.schema_name)
        return None


_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
