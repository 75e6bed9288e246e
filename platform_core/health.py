"""Liveness/readiness: 200 when PostgreSQL and Redis answer, 503 otherwise. Served on every host."""
import time

from django.db import connection
from django.http import JsonResponse


def check_dependencies() -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a probe reports, never raises
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        from platform_core.redis import redis_client

        redis_client().ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {exc.__class__.__name__}"
    return checks


def healthz(request):
    started = time.perf_counter()
    checks = check_dependencies()
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "degraded", "checks": checks, "ms": round((time.perf_counter() - started) * 1000, 1)},
        status=200 if ok else 503,
    )
