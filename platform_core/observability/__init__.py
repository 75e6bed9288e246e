"""Observability: structured JSON logs (logs.py), Prometheus metrics (metrics.py, /metrics), request and worker
context (middleware.py, workers.py) and readiness (readiness.py, /readyz, the PgBouncer pooling probe)."""
