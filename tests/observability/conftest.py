"""Shared fixtures: the project's real log pipeline captured as parsed JSON lines."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from revivatech.observability.logging import formatter_processors, shared_processors


class JsonLines:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def raw(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line.strip()]

    def all(self) -> list[dict]:
        return [json.loads(line) for line in self.raw]  # every line must be one JSON object

    def where(self, **fields) -> list[dict]:
        return [line for line in self.all() if all(line.get(k) == v for k, v in fields.items())]


@pytest.fixture
def json_logs():
    """A second handler on the root logger with the handler filters and the structlog JSON
    formatter that settings.LOGGING installs (so PII masking runs exactly as in production)."""
    root = logging.getLogger()
    configured = next(
        (h for h in root.handlers if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)), None
    )
    assert configured is not None, "settings.LOGGING did not install the structlog formatter"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=formatter_processors("json"), foreign_pre_chain=shared_processors()
        )
    )
    for log_filter in configured.filters:
        handler.addFilter(log_filter)
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    try:
        yield JsonLines(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
