"""Lean routes: machine-to-machine endpoints (signed PSP webhooks) answered right after host → brokerage routing,
without the middleware built for people (sessions, auth, locale, messages, MFA, attribution, allauth).

A webhook POST carries no cookie and no user; its signature is its authentication, it is CSRF-exempt, and what it
answers is a few bytes of JSON. Running it through the rest of the stack costs more CPU than verifying and storing
it (bench/webhooks.py). BrokerageMiddleware calls `lean_response` once the brokerage is resolved and known to be
serving (a suspended or archived brokerage answers exactly as before), so tenant routing, the view, signature
verification and the durable INSERT are the same code; only the people-facing layers are skipped.
A view opts in with @lean_route and must need nothing those layers provide (request.user, request.session, …).
"""
from __future__ import annotations

from django.urls import Resolver404, resolve

LEAN_PREFIXES = ("/webhooks/",)


def lean_route(view):
    """Mark a view as answerable on the lean path (see the module's doc for what it must not rely on)."""
    view.lean_route = True
    return view


def lean_response(request):
    """The lean view's response for this request, or None to continue through the full middleware stack (any
    path that does not resolve to a @lean_route view: a missing slash still gets CommonMiddleware's redirect)."""
    if not request.path_info.startswith(LEAN_PREFIXES):
        return None
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None
    if not getattr(match.func, "lean_route", False):
        return None
    request.resolver_match = match
    response = match.func(request, *match.args, **match.kwargs)
    if not response.streaming and not response.has_header("Content-Length"):
        # What CommonMiddleware would add: without it a keep-alive HTTP/1.1 answer goes out chunked.
        response.headers["Content-Length"] = str(len(response.content))
    return response
