"""Log lines carry the schema they were written in."""
import logging


class TenantContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            from django.db import connection

            record.schema_name = getattr(connection, "schema_name", "-")
        except Exception:  # noqa: BLE001 - logging must never raise (e.g. before settings are ready)
            record.schema_name = "-"
        return True
