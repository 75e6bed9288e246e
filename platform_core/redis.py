"""One shared Redis client for platform bookkeeping (worker heartbeats, per-tenant queue counters)."""
from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True, socket_timeout=5)


def key(*parts: str) -> str:
    """Platform keys live under the dramatiq namespace so test runs and deployments never collide."""
    return ":".join([settings.DRAMATIQ_BROKER["OPTIONS"]["namespace"], "brokeros", *parts])
