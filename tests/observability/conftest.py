from __future__ import annotations

import io
import json
import logging

import pytest

from platform_core.observability import metrics
from platform_core.observability.logs import json_formatter, plain_formatter


class Captured:
    def __init__(self, stream: io.StringIO):
        self.stream = stream

    def lines(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line.strip()]

    def records(self) -> list[dict]:
        """Every captured line parsed as JSON (fails the test if one is not a JSON object)."""
        out = []
        for line in self.lines():
            record = json.loads(line)
            assert isinstance(record, dict), line
            out.append(record)
        return out


def _capture(formatter):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return stream, handler, root, level


@pytest.fixture
def json_logs():
    """Root logger output through the production JSON formatter, captured."""
    stream, handler, root, level = _capture(json_formatter())
    yield Captured(stream)
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def plain_logs():
    stream, handler, root, level = _capture(plain_formatter())
    yield Captured(stream)
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def tenant_labels():
    """A clean tenant-label table for the test, the process's own restored afterwards."""
    saved = set(metrics._seen_tenants)
    metrics._reset_tenant_labels()
    yield
    metrics._reset_tenant_labels()
    metrics._seen_tenants.update(saved)
