"""Tenant context for requests, workers, scripts and tests: enter one, require one, fan out over all."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = [
    "NoTenantError",
    "current_schema",
    "current_brokerage",
    "require_tenant",
    "tenant_context",
    "schema_context",
    "for_each_active_tenant",
    "platform_context",
]


class NoTenantError(RuntimeError):
    """Code that needs a brokerage ran in the public schema. Fails loudly instead of guessing."""


def current_schema() -> str:
    return connection.schema_name


def current_brokerage():
    """The Brokerage the connection is set to, or None in the public schema."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", None) in (None, get_public_schema_name()):
        return None
    return tenant


def require_tenant():
    """Return the current brokerage or raise NoTenantError; call it at the top of tenant-only code."""
    brokerage = current_brokerage()
    if brokerage is None:
        raise NoTenantError("This code must run inside a brokerage's context, but the connection is on 'public'.")
    return brokerage


@contextmanager
def platform_context() -> Iterator[None]:
    with schema_context(get_public_schema_name()):
        yield


def for_each_active_tenant(fn: Callable[..., T], *, stop_on_error: bool = False) -> dict[str, T | Exception]:
    """Run fn(brokerage) inside every active brokerage's context; one failure doesn't stop the rest.

    Returns {slug: result or the exception raised}. Used by the scheduler and operator scripts.
    """
    from tenancy.models import Brokerage

    results: dict[str, T | Exception] = {}
    with platform_context():
        brokerages = list(Brokerage.objects.active().order_by("id"))
    for brokerage in brokerages:
        try:
            with tenant_context(brokerage):
                results[brokerage.slug] = fn(brokerage)
        except Exception as exc:  # noqa: BLE001 - one tenant's failure is reported, not fatal to others
            if stop_on_error:
                raise
            log.exception("for_each_active_tenant: %s failed in %s", getattr(fn, "__name__", fn), brokerage.slug)
            results[brokerage.slug] = exc
    return results
