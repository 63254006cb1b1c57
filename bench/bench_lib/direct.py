"""The direct bound: a signing platform calling the reference merchant itself, no connector in between.

Reuses ``bench/merchant_flows.py`` (its in-process merchant and its signing
``Platform``: every request RFC 9421-signed, every answer verified). A
lifecycle here is what a connector lifecycle is: create -> update -> complete;
``get`` (read the checkout) and ``cancel`` (a second create -> cancel flow) are
timed in the sequential runs for the per-operation targets. The targets use the
run against the stack's own merchant process (the one the connector calls);
the in-process run is kept beside it for the issue's original table.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from bench.bench_lib.stats import summary
from bench.merchant_flows import ADDRESS, CREATE, PAYMENT, Platform, running_merchant
from contracts import JwkSet, SigningKey

SHIPPING = {
    "methods": [
        {
            "type": "shipping",
            "destinations": [{"id": "home", **ADDRESS}],
            "groups": [{"selected_option_id": "standard"}],
        }
    ]
}


async def _lifecycle(platform: Platform, *, read: bool) -> None:
    checkout = await platform.call("create", "POST", "/checkout-sessions", CREATE)
    path = f"/checkout-sessions/{checkout['id']}"
    if read:
        await platform.call("get", "GET", path)
    update = {
        "line_items": [
            {"id": line["id"], "item": {"id": line["item"]["id"]}, "quantity": line["quantity"]}
            for line in checkout["line_items"]
        ],
        "buyer": CREATE["buyer"],
        "fulfillment": SHIPPING,
    }
    ready = await platform.call("update", "PUT", path, update)
    assert ready["status"] == "ready_for_complete", ready.get("messages")
    await platform.call("complete", "POST", f"{path}/complete", PAYMENT)


async def _cancel_flow(platform: Platform) -> None:
    checkout = await platform.call("create_for_cancel", "POST", "/checkout-sessions", CREATE)
    await platform.call("cancel", "POST", f"/checkout-sessions/{checkout['id']}/cancel", {})


async def measure(
    endpoint: str, key: SigningKey, keys: JwkSet, sequential: int, concurrent: int, in_flight: int = 8
) -> dict[str, Any]:
    """Sequential lifecycles (with a read) and create -> cancel flows, then ``concurrent`` lifecycles in flight."""
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits) as http:
        alone = Platform(http, endpoint, key, keys)
        await _lifecycle(alone, read=True)  # warm-up
        await _cancel_flow(alone)
        alone.samples.clear()
        for _ in range(sequential):
            await _lifecycle(alone, read=True)
            await _cancel_flow(alone)
        together = Platform(http, endpoint, key, keys)
        semaphore = asyncio.Semaphore(in_flight)

        async def bounded() -> None:
            async with semaphore:
                await _lifecycle(together, read=False)

        began = time.perf_counter()
        await asyncio.gather(*(bounded() for _ in range(concurrent)))
        elapsed = time.perf_counter() - began
    samples = dict(alone.samples)
    samples.pop("create_for_cancel", None)
    return {
        "endpoint": endpoint,
        "sequential": {name: summary(values) for name, values in samples.items()},
        "concurrent": {
            "in_flight": in_flight,
            "lifecycles": concurrent,
            "lifecycles_per_s": round(concurrent / elapsed, 2),
        },
    }


async def in_process(sequential: int, concurrent: int) -> dict[str, Any]:
    """Against a merchant served in this process, exactly as bench/merchant_flows.py does (the issue's first table)."""
    key = SigningKey.generate()
    async with running_merchant(key) as (config, keys):
        return await measure(config.endpoint, key, keys, sequential, concurrent)


async def published_keys(endpoint_base: str) -> JwkSet:
    async with httpx.AsyncClient() as http:
        return JwkSet.from_list((await http.get(f"{endpoint_base}/.well-known/ucp")).json()["signing_keys"])
