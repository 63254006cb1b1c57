"""The Temporal SDK runtime of the worker process: its Prometheus endpoint and where the SDK core logs go.

``ucp-connector worker --metrics-port PORT`` serves the SDK's metrics (``temporal_*``:
workflow task latencies, activity failures, schedule-to-start, slots, poll and
RPC failures; README "Observability" lists the ones to watch) at
``http://HOST:PORT/metrics``; HOST is ``127.0.0.1`` unless ``--metrics-host``
says otherwise, so metrics are not published by accident.

The SDK core (Rust) writes its own log lines; they are forwarded into Python
logging (logger ``temporalio.core``) so that they leave the process as the same
redacted JSON lines as everything else (``core.logging``).
"""

from __future__ import annotations

import logging

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

CORE_LOGGER = "temporalio.core"


def metrics_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def worker_runtime(*, metrics_host: str = "127.0.0.1", metrics_port: int | None = None) -> Runtime:
    """A runtime for one worker process; pass it to ``core.temporal.client.connect`` before anything else connects."""
    metrics = (
        PrometheusConfig(bind_address=metrics_address(metrics_host, metrics_port), durations_as_seconds=True)
        if metrics_port is not None
        else None
    )
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
            ),
            metrics=metrics,
        )
    )
