"""Latency and throughput of the reference merchant over real HTTP on loopback, as a signing platform sees it.

    .venv/bin/python bench/merchant_flows.py [--flows N] [--concurrency C] [--no-nodelay]

Each flow is create -> update -> complete -> get order, every request RFC 9421-signed
and every response signature verified (what the connector's activities do). The
merchant runs in-process (uvicorn, in-memory SQLite); the platform's keys are an
inline JWKS, so no profile is fetched. ``--no-nodelay`` serves from a socket
without TCP_NODELAY, to show the delayed-ACK stall reference_merchant.server avoids.

Prints a table and writes bench/results/merchant_flows.json. Figures compare
commits on one machine; they are not capacity claims.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import platform
import socket
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import structlog
import uvicorn

from contracts import JwkSet, SigningKey, format_ucp_agent, sign_request, verify_response
from reference_merchant import MerchantConfig, ReferenceMerchant, TrustedPlatform
from reference_merchant.server import listening_socket

PLATFORM = "https://bench-platform.example/.well-known/ucp"
ADDRESS = {"street_address": "1 Main St", "address_locality": "Springfield", "address_country": "US"}
CREATE = {
    "line_items": [{"item": {"id": "tshirt_red"}, "quantity": 1}, {"item": {"id": "mug_ceramic"}, "quantity": 2}],
    "buyer": {"email": "bench@example.com"},
}
PAYMENT = {
    "payment": {
        "instruments": [
            {"id": "pi", "handler_id": "ref_tokenizer", "type": "card", "credential": {"type": "token", "token": "t"}}
        ]
    }
}


class Platform:
    def __init__(self, http: httpx.AsyncClient, endpoint: str, key: SigningKey, keys: JwkSet) -> None:
        self.http, self.endpoint, self.key, self.keys = http, endpoint, key, keys
        self.samples: dict[str, list[float]] = defaultdict(list)

    async def call(self, operation: str, method: str, path: str, body: Any = None) -> Any:
        url = self.endpoint + path
        content = json.dumps(body).encode() if body is not None else None
        headers = {"UCP-Agent": format_ucp_agent(PLATFORM)}
        if content:
            headers["Content-Type"] = "application/json"
        if method != "GET":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        start = time.perf_counter()
        headers.update(sign_request(method=method, url=url, headers=headers, body=content, key=self.key))
        response = await self.http.request(method, url, content=content, headers=headers)
        verify_response(
            status=response.status_code,
            headers=list(response.headers.multi_items()),
            body=response.content,
            keys=self.keys,
        )
        self.samples[operation].append((time.perf_counter() - start) * 1000)
        if response.status_code >= 300:
            raise RuntimeError(f"{operation}: {response.status_code} {response.text[:200]}")
        return response.json()

    async def flow(self) -> None:
        checkout = await self.call("create", "POST", "/checkout-sessions", CREATE)
        shipping = {
            "methods": [
                {
                    "type": "shipping",
                    "destinations": [{"id": "home", **ADDRESS}],
                    "groups": [{"selected_option_id": "standard"}],
                }
            ]
        }
        update = {
            "line_items": [
                {"id": line["id"], "item": {"id": line["item"]["id"]}, "quantity": line["quantity"]}
                for line in checkout["line_items"]
            ],
            "buyer": CREATE["buyer"],
            "fulfillment": shipping,
        }
        ready = await self.call("update", "PUT", f"/checkout-sessions/{checkout['id']}", update)
        assert ready["status"] == "ready_for_complete", ready.get("messages")
        done = await self.call("complete", "POST", f"/checkout-sessions/{checkout['id']}/complete", PAYMENT)
        await self.call("get_order", "GET", f"/orders/{done['order']['id']}")


def _plain_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": statistics.median(ordered),
        "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)],
        "mean_ms": statistics.mean(ordered),
    }


@contextlib.asynccontextmanager
async def running_merchant(key: SigningKey, nodelay: bool = True) -> AsyncIterator[tuple[MerchantConfig, JwkSet]]:
    """The reference merchant served in this process (uvicorn, in-memory SQLite), trusting ``key``'s platform.

    Yields its configuration (``endpoint`` is the REST base) and its published signing keys.
    """
    sock = listening_socket("127.0.0.1", 0) if nodelay else _plain_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = MerchantConfig(
        base_url=base,
        allow_insecure_loopback=True,
        platforms=[TrustedPlatform(profile_url=PLATFORM, jwks=JwkSet((key.public_jwk,)).to_dict())],
    )
    merchant = ReferenceMerchant(config)
    server = uvicorn.Server(uvicorn.Config(merchant.asgi, lifespan="on", log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient() as http:
            keys = JwkSet.from_list((await http.get(f"{base}/.well-known/ucp")).json()["signing_keys"])
        yield config, keys
    finally:
        server.should_exit = True
        await task


async def run(flows: int, concurrency: int, nodelay: bool) -> dict[str, Any]:
    key = SigningKey.generate()
    async with running_merchant(key, nodelay) as (config, keys):
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits) as http:
            sequential = Platform(http, config.endpoint, key, keys)
            await sequential.flow()  # warm-up
            sequential.samples.clear()
            for _ in range(flows):
                await sequential.flow()
            parallel = Platform(http, config.endpoint, key, keys)
            queue = list(range(flows))

            async def worker() -> None:
                while queue:
                    queue.pop()
                    await parallel.flow()

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
    return {
        "sequential": {operation: _stats(samples) for operation, samples in sequential.samples.items()},
        "concurrent": {"concurrency": concurrency, "flows": flows, "flows_per_s": flows / elapsed},
    }


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-nodelay", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args.flows, args.concurrency, nodelay=not args.no_nodelay))
    label = "without TCP_NODELAY" if args.no_nodelay else "TCP_NODELAY"
    print(f"reference merchant, sequential flows (n={args.flows}, {label}; sign + send + verify per call)")
    print(f"{'operation':<12}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for operation, row in results["sequential"].items():
        print(f"{operation:<12}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['mean_ms']:>9.2f}")
    concurrent = results["concurrent"]
    print(f"concurrent: {concurrent['flows_per_s']:.1f} flows/s with {concurrent['concurrency']} platforms in parallel")
    name = "merchant_flows_no_nodelay.json" if args.no_nodelay else "merchant_flows.json"
    out = Path(__file__).parent / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": platform.platform(), "nodelay": not args.no_nodelay, **results}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
