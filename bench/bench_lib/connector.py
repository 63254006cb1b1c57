"""Through the connector: what a platform waits for, one operation at a time, and whole lifecycles.

The platform is the package's own client (``ucp_connector.client.PlatformClient``,
no retries here): every request signed, every answer verified against the
connector's published keys. A lifecycle is create -> update -> complete (the
bodies of tests/fixtures/bodies.py); the sequential runs also read the
checkout (``get``, answered from the workflow) and time a create -> cancel.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from bench.bench_lib.stack import MERCHANT
from bench.bench_lib.stats import summary
from tests.fixtures.bodies import payment_body, ready_body
from ucp_connector.client import PlatformClient

SESSIONS = f"/merchants/{MERCHANT}/checkout-sessions"
CREATE = {"line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}]}
PAYMENT = payment_body()
READY = ready_body()


class OperationFailedError(RuntimeError):
    """The connector answered an operation with an error status (signed, so it is the connector's word)."""


async def timed(
    client: PlatformClient, timings: dict[str, list[float]], name: str, method: str, path: str, body: Any = None
) -> dict[str, Any]:
    start = time.perf_counter()
    response = await client.request(method, path, body)
    timings[name].append((time.perf_counter() - start) * 1000)
    if response.status_code >= 300:
        raise OperationFailedError(f"{name}: HTTP {response.status_code} {response.text[:300]}")
    return dict(response.json())


async def lifecycle(client: PlatformClient, timings: dict[str, list[float]], *, read: bool = False) -> str:
    """create -> (get) -> update -> complete; returns the session id."""
    created = await timed(client, timings, "create", "POST", SESSIONS, CREATE)
    if "id" not in created:  # e.g. 202 operation_pending: the wait bound passed on a loaded machine
        raise OperationFailedError(f"create answered without a session: {str(created)[:300]}")
    path = f"{SESSIONS}/{created['id']}"
    if read:
        await timed(client, timings, "get", "GET", path)
    ready = await timed(client, timings, "update", "PUT", path, READY)
    if ready.get("status") != "ready_for_complete":
        raise OperationFailedError(f"update answered {ready.get('status')}: {ready.get('messages')}")
    done = await timed(client, timings, "complete", "POST", f"{path}/complete", PAYMENT)
    if done.get("status") != "completed":
        raise OperationFailedError(f"complete answered {done.get('status')}: {done.get('messages')}")
    return str(created["id"])


async def cancel_flow(client: PlatformClient, timings: dict[str, list[float]]) -> None:
    created = await timed(client, timings, "create_for_cancel", "POST", SESSIONS, CREATE)
    await timed(client, timings, "cancel", "POST", f"{SESSIONS}/{created['id']}/cancel", {})


async def sequential(client: PlatformClient, flows: int) -> tuple[dict[str, Any], list[str]]:
    """``flows`` lifecycles (with a read) and ``flows`` create -> cancel, one request at a time."""
    warm: dict[str, list[float]] = defaultdict(list)
    await lifecycle(client, warm, read=True)
    await cancel_flow(client, warm)
    timings: dict[str, list[float]] = defaultdict(list)
    sessions = []
    for _ in range(flows):
        sessions.append(await lifecycle(client, timings, read=True))
        await cancel_flow(client, timings)
    timings.pop("create_for_cancel", None)
    return {name: summary(samples) for name, samples in timings.items()}, sessions
