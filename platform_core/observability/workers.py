"""Dramatiq middleware: every log line written while a message is processed carries message_id, actor, queue and
tenant; each message is counted (processed / failed) and timed. Registered in settings.DRAMATIQ_BROKER, just
before tenancy.workers.TenantMiddleware, so even its own lines (skips of suspended brokerages) carry the context."""
from __future__ import annotations

import logging
import os
import threading
import time

import structlog
from dramatiq.middleware import Middleware

from platform_core.observability import metrics

log = logging.getLogger(__name__)


class ObservabilityMiddleware(Middleware):
    def __init__(self):
        self._local = threading.local()  # one message at a time per worker thread

    def after_worker_boot(self, broker, worker):
        """WORKER_METRICS_PORT set: serve this worker host's counters there (workers answer no HTTP otherwise; the
        web's /metrics sees them only when both share PROMETHEUS_MULTIPROC_DIR on one host). With several worker
        processes, set PROMETHEUS_MULTIPROC_DIR too: the first process to bind the port serves everyone's samples.
        No auth on this port: keep it inside the cluster network (the scraper's pod-to-pod path)."""
        port = os.environ.get("WORKER_METRICS_PORT", "")
        if not port.isdigit():
            return
        from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        try:
            self.metrics_server = start_http_server(int(port), registry=registry)
        except OSError:
            log.info("worker metrics port %s already served by a sibling process", port)

    @staticmethod
    def _tenant(broker, message) -> str:
        from tenancy.workers import PLATFORM_SCOPE, SCOPE_OPTION, TENANT_OPTION

        try:
            if broker.get_actor(message.actor_name).options.get(SCOPE_OPTION) == PLATFORM_SCOPE:
                return metrics.PUBLIC
        except Exception:  # noqa: BLE001 - an unknown actor still gets its lines labelled
            pass
        return message.options.get(TENANT_OPTION) or metrics.UNKNOWN

    def before_process_message(self, broker, message):
        structlog.contextvars.clear_contextvars()
        tenant = self._tenant(broker, message)
        structlog.contextvars.bind_contextvars(message_id=message.message_id, actor=message.actor_name,
                                               queue=message.queue_name, tenant=tenant)
        self._local.started = time.perf_counter()
        self._local.tenant = tenant

    def _finish(self, message, exception=None, *, skipped=False):
        try:
            started = getattr(self._local, "started", None)
            tenant = metrics.tenant_label(getattr(self._local, "tenant", None))
            labels = (tenant, message.queue_name, message.actor_name)
            if not skipped:
                (metrics.WORKER_FAILED if exception is not None else metrics.WORKER_PROCESSED).labels(*labels).inc()
                if started is not None:
                    metrics.WORKER_DURATION.labels(message.queue_name, message.actor_name).observe(
                        time.perf_counter() - started)
        except Exception:  # noqa: BLE001 - bookkeeping never breaks message handling
            log.warning("could not record worker metrics", exc_info=True)
        finally:
            self._local.started = None
            structlog.contextvars.clear_contextvars()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        self._finish(message, exception)

    def after_skip_message(self, broker, message):
        self._finish(message, skipped=True)
