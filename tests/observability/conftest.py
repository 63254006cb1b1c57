"""Observability tests: real stack, real loggers; the in-memory span exporter is the only test double."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import structlog
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core.logging import QUIET_LOGGERS, configure_logging
from core.telemetry import configure_tracing, shutdown_tracing


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test only (not installed as the OpenTelemetry global)."""
    exporter = InMemorySpanExporter()
    configure_tracing("ucp-connector-test", exporter=exporter, install_global=False)
    try:
        yield exporter
    finally:
        shutdown_tracing()


@dataclass
class CapturedLogs:
    stream: io.StringIO

    @property
    def text(self) -> str:
        return self.stream.getvalue()


_TOUCHED = ("", *QUIET_LOGGERS, "uvicorn", "uvicorn.error", "uvicorn.access", "temporalio")


@pytest.fixture
def captured_logs() -> Iterator[CapturedLogs]:
    """The production logging chain at DEBUG, writing JSON into memory; the previous setup is restored after."""
    saved = {
        name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
        for name in _TOUCHED
    }
    stream = io.StringIO()
    configure_logging(
        "ucp-connector-test", salt=b"observability-test-salt-32-bytes", level="DEBUG", fmt="json", stream=stream
    )
    try:
        yield CapturedLogs(stream)
    finally:
        for name, (level, handlers, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate = propagate
        structlog.reset_defaults()
