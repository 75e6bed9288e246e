"""An actor used only by the observability tests: it writes one log line naming its token."""
from __future__ import annotations

import logging

from tenancy.workers import tenant_actor

QUEUE = "observability_tests"
log = logging.getLogger("tests.observability")


@tenant_actor(queue_name=QUEUE, max_retries=0)
def log_a_line(token: str):
    log.info("working on %s", token)
