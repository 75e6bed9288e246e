"""Reports actors: build an export job's file in the brokerage the request came from."""
from __future__ import annotations

from tenancy.workers import tenant_actor


@tenant_actor(queue_name="reports", max_retries=3, min_backoff=2_000, time_limit=600_000)
def report_job_build(job_id: int) -> None:
    """Idempotent: a job already done or failed is left alone (services.report_job_run)."""
    from tenant_apps.reports.services import report_job_run

    report_job_run(job_id=job_id)
