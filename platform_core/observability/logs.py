"""Every log line — Django's, dramatiq's, ours — goes through structlog's ProcessorFormatter: one JSON object
(LOG_FORMAT=json, the default without DJANGO_DEBUG) or one readable line (LOG_FORMAT=plain) carrying timestamp,
level, logger, event, tenant (schema), request_id, user_id and, in workers, message_id and actor.

Context lives in contextvars (structlog.contextvars): the request middleware binds request_id, the dramatiq
middleware binds message_id/actor/tenant. The tenant falls back to the connection's schema at the moment of the
line, and user_id to the request's user once authentication has loaded it (never loaded just for logging).
Only what code passes to a logger is written: no headers, bodies or cookies are ever added here.
"""
from __future__ import annotations

import contextvars
import logging

import structlog

# The request being served (set by RequestContextMiddleware): read lazily for user_id, never stored in the line.
current_request: contextvars.ContextVar = contextvars.ContextVar("brokeros_request", default=None)

CONTEXT_KEYS = ("tenant", "request_id", "user_id")


def _add_context(logger, method_name, event_dict):
    """tenant: bound value, else the connection's schema now; user_id: bound, else the request's loaded user."""
    if event_dict.get("tenant") is None:
        try:
            from django.db import connection

            event_dict["tenant"] = getattr(connection, "schema_name", None)
        except Exception:  # noqa: BLE001 - logging never raises (e.g. before settings are ready)
            event_dict["tenant"] = None
    if event_dict.get("user_id") is None:
        request = current_request.get()
        user = getattr(request, "_cached_user", None) if request is not None else None  # loaded by auth already
        event_dict["user_id"] = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
    event_dict.setdefault("request_id", None)
    return event_dict


def _rename_message(logger, method_name, event_dict):
    # stdlib records arrive with their formatted message as "event"; keep both spellings greppable.
    event_dict["message"] = event_dict.get("event")
    return event_dict


SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.PositionalArgumentsFormatter(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    # Only these `extra=` keys are copied into a line (the access line's); nothing else a caller attaches.
    structlog.stdlib.ExtraAdder(allow=("method", "route", "status", "duration_ms")),
    _add_context,
]


def _configure_structlog() -> None:
    """structlog.get_logger() loggers go through stdlib logging too, so both end in the same handler."""
    if structlog.is_configured():
        return
    structlog.configure(
        processors=[*SHARED_PROCESSORS, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _plain_renderer(logger, method_name, event_dict) -> str:
    """`2026-11-22T08:00:00Z INFO [alpha req=3f2a… user=7] tenancy.middleware: text key=value …`"""
    head = (f"{event_dict.pop('timestamp', '')} {str(event_dict.pop('level', '')).upper()} "
            f"[{event_dict.pop('tenant', None) or '-'} req={event_dict.pop('request_id', None) or '-'}"
            f" user={event_dict.pop('user_id', None) or '-'}] {event_dict.pop('logger', '')}: "
            f"{event_dict.pop('event', '')}")
    event_dict.pop("message", None)
    exc = event_dict.pop("exception", None)
    rest = " ".join(f"{k}={v}" for k, v in event_dict.items())
    return head + (f" {rest}" if rest else "") + (f"\n{exc}" if exc else "")


def json_formatter() -> logging.Formatter:
    _configure_structlog()
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _rename_message,
            structlog.processors.JSONRenderer(default=str),
        ],
    )


def plain_formatter() -> logging.Formatter:
    _configure_structlog()
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _plain_renderer,
        ],
    )
