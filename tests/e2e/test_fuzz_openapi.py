"""Schemathesis against the committed OpenAPI document, every request properly signed: no 5xx, ever.

The full connector (API, worker, Temporal dev server, reference merchant) runs
in a background thread with its own event loop, so Hypothesis can drive
ordinary synchronous tests. Each generated case is serialised to bytes, signed
by the independent platform signer, and sent; positive cases exercise the
workflows and the merchant, negative cases the validation layer.
DESIGN invariant 8 ("never a 500") and TRN-08.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.e2e.conftest import MERCHANT, Connector, running_connector
from ucp_connector.local_temporal import start_dev_server

pytestmark = pytest.mark.e2e

SCHEMA = schemathesis.openapi.from_dict(
    json.loads(resources.files("contracts").joinpath("openapi.json").read_text(encoding="utf-8"))
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
SIGNATURE_HEADERS = {"signature", "signature-input", "content-digest", "ucp-agent", "idempotency-key"}


class BackgroundConnector:
    """The connector running in a thread's event loop until ``stop``."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connector: Connector | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:
            self.error = error
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        env = await start_dev_server()
        try:
            async with running_connector(env, self._tmp_path, wait_seconds=15) as connector:
                self.connector = connector
                self._ready.set()
                await self._stop.wait()
        finally:
            await env.shutdown()

    def __enter__(self) -> BackgroundConnector:
        self._thread.start()
        self._ready.wait(timeout=120)
        if self.error is not None or self.connector is None:
            raise RuntimeError("connector did not start") from self.error
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)


@pytest.fixture(scope="module")
def background(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundConnector]:
    with BackgroundConnector(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


def _send(running: BackgroundConnector, case: Any) -> httpx.Response:
    connector = running.connector
    assert connector is not None
    kwargs = case.as_transport_kwargs(base_url=connector.url)
    request = httpx.Request(kwargs["method"], kwargs["url"], params=kwargs.get("params"))
    url = str(request.url)
    body = json.dumps(kwargs["json"]).encode() if "json" in kwargs else None
    headers = {
        name: value for name, value in (kwargs.get("headers") or {}).items() if name.lower() not in SIGNATURE_HEADERS
    }
    key = str(uuid.uuid4()) if kwargs["method"] in ("POST", "PUT") else None
    path = url[len(connector.url) :]
    if path.startswith("/webhooks/"):
        signed: dict[str, str] = {}  # merchant-signed route: the platform cannot sign it; must be a clean 4xx
    else:
        signed = connector.alpha.signer.sign(kwargs["method"], url, body=body, idempotency_key=key)
    with httpx.Client(timeout=60) as client:
        return client.request(kwargs["method"], url, content=body, headers={**headers, **signed})


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{op.method.upper()} {op.path}" for op in OPERATIONS])
def test_no_operation_answers_5xx(background: BackgroundConnector, operation: Any, mode: GenerationMode) -> None:
    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters={"merchant_id": MERCHANT}))
    def check(case: Any) -> None:
        response = _send(background, case)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
        )
        if response.status_code >= 400:
            assert "code" in response.json(), response.text

    try:
        check()
    except Unsatisfiable:
        pytest.skip("the operation has no input that negative generation could break")
