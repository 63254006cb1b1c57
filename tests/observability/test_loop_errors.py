"""The API's event loop errors and the Temporal core's lines leave as JSON lines (issue 12.13).

"Future exception was never retrieved" tracebacks (multi-line, unredacted) and the
SDK core's coloured lines were in the API log next to the JSON lines.
"""

from __future__ import annotations

import asyncio
import gc
import logging

import structlog

from core.logging import log_loop_errors
from core.temporal.client import CORE_LOGGER, log_forwarding_runtime


async def test_a_never_retrieved_future_exception_is_one_structured_warning() -> None:
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    log_loop_errors(loop)
    try:
        with structlog.testing.capture_logs() as logs:
            future = loop.create_future()
            future.set_exception(ConnectionError("temporal at 127.0.0.1:9 refused"))
            del future
            gc.collect()
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    [entry] = [e for e in logs if e["event"] == "event_loop_error" and "127.0.0.1:9" in str(e["error_text"])]
    assert entry["log_level"] == "warning" and entry["error"] == "ConnectionError"
    assert "never retrieved" in entry["loop_message"] and "exc_info" not in entry


def test_the_api_runtime_forwards_core_logs_to_python_logging() -> None:
    runtime = log_forwarding_runtime()
    assert runtime is not None and logging.getLogger(CORE_LOGGER).name == "temporalio.core"
