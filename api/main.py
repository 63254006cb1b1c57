"""Build the API application from settings: the production wiring of ``api.app.create_app``.

The Temporal client is connected inside the server's event loop (in the
lifespan), lazily, so the API starts — and answers ``503`` with
``Retry-After`` — while Temporal is down, and recovers when it comes back.
Until the lifespan has run the gateway is absent, and ``api.dependencies``
answers ``503`` as well. The client's runtime forwards the SDK core's log lines
into our JSON logging, and the loop's unhandled errors are one JSON line each
(``core.logging.log_loop_errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

from fastapi import FastAPI

from api.app import create_app
from api.dependencies import services_of
from api.gateway import CheckoutGateway
from core.keyfiles import ReloadingKeyring
from core.logging import log_loop_errors
from core.outbound_http import new_http_client
from core.settings import SIGNING_FILE, Settings
from core.temporal.client import connect, load_payload_keyring, log_forwarding_runtime
from merchants.profiles import ProfileCache
from storage.repository import Repository


def build_app(settings: Settings) -> FastAPI:
    keys = ReloadingKeyring(settings.key_file(SIGNING_FILE))
    payload_keyring = load_payload_keyring(settings)
    repository = Repository.from_settings(settings)
    http = new_http_client(ca_file=settings.outbound_ca_file)
    app = create_app(
        settings, gateway=None, repository=repository, keys=keys, profiles=ProfileCache(http, settings.merchants)
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        log_loop_errors(asyncio.get_running_loop())
        client = await connect(settings.temporal, payload_keyring, lazy=True, runtime=log_forwarding_runtime())
        services_of(app).gateway = CheckoutGateway(
            client,
            task_queue=settings.temporal.task_queue,
            wait_bound=dt.timedelta(seconds=settings.api_wait_seconds),
        )
        try:
            yield
        finally:
            await services_of(app).rejections.close()  # counted 429s written, the spool drained (bounded)
            await http.aclose()
            await repository.close()

    app.router.lifespan_context = lifespan
    return app
