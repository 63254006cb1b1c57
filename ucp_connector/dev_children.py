"""The connector's own children of a local stack — reference merchant, worker, API — and their readiness probes.

``ucp-connector dev`` (``ucp_connector.commands.dev``) starts them after Temporal
and the codec server; the benchmark's process stack (``bench/bench_lib/stack.py``)
starts the same ones after an in-memory Temporal, so the figures are about the
processes a developer runs. Each child has its own log file in the layout's logs
directory; ``cli`` is how to run this package's CLI (the interpreter may differ).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from ucp_connector.dev_layout import DevLayout, DevPorts, api_url, connector_profile_for_merchant, merchant_url
from ucp_connector.processes import Child

WORKER_READY = "worker polling"  # the worker's log line once it polls its task queue


def http_ok(url: str) -> Callable[[], bool]:
    """A probe: ``url`` answers 200."""

    def probe() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return probe


def log_says(path: Path, text: str) -> Callable[[], bool]:
    """A probe: the log file at ``path`` holds ``text``."""
    return lambda: path.exists() and text in path.read_text(errors="replace")


def connector_children(
    cli: Sequence[str],
    layout: DevLayout,
    ports: DevPorts,
    env: Mapping[str, str],
    *,
    merchant_config: Path,
    merchant_db: Path | None = None,
) -> list[Child]:
    """Merchant (state in ``merchant_db``, in memory without it), worker and API, in the order they start."""
    logs = layout.logs_dir
    merchant = [*cli, "merchant", "--host", ports.host, "--port", str(ports.merchant), "--allow-insecure-loopback"]
    merchant += ["--trust-platform", connector_profile_for_merchant(ports)]
    merchant += ["--db", str(merchant_db)] if merchant_db is not None else []
    merchant += ["--config", str(merchant_config), "--keys-dir", str(layout.merchant_keys_dir)]
    return [
        Child(
            "merchant",
            merchant,
            http_ok(f"{merchant_url(ports)}/.well-known/ucp"),
            logs / "merchant.log",
            env=dict(env),
        ),
        Child(
            "worker", [*cli, "worker"], log_says(logs / "worker.log", WORKER_READY), logs / "worker.log", env=dict(env)
        ),
        Child(
            "api",
            [*cli, "api", "--host", ports.host, "--port", str(ports.api)],
            http_ok(f"{api_url(ports)}/healthz"),
            logs / "api.log",
            env=dict(env),
        ),
    ]
