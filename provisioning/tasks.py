"""Provisioning actors: run a job from the console, keep the spare-schema pool full."""
from django.conf import settings

from tenancy.scheduler import periodic
from tenancy.workers import platform_actor


@platform_actor(max_retries=0, time_limit=15 * 60 * 1000)
def provisioning_job_run_async(job_id: str, method: str = "auto"):
    from provisioning.services import provisioning_job_run

    provisioning_job_run(job_id=job_id, method=method)


@periodic(every_s=60)
@platform_actor(max_retries=3, time_limit=10 * 60 * 1000)
def spare_pool_refill_job():
    from provisioning.schemas import spare_pool_refill

    if settings.PROVISIONING_SPARE_POOL_SIZE > 0:
        spare_pool_refill()
