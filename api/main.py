"""Build the API application from settings: the production wiring of ``api.app.create_app``.

The Temporal client is connected inside the server's event loop (in the
lifespan), lazily, so the API starts — and answers ``503`` with
``Retry-After`` — while Temporal is down, and recovers when it comes back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator

from fastapi import FastAPI

from api.app import create_app
from api.gateway import CheckoutGateway
from storage.repository import Repository
from ucp_connector.connector_keys import SIGNING_FILE
from ucp_connector.keyfiles import ReloadingKeyring
from ucp_connector.merchant_profiles import ProfileCache
from ucp_connector.outbound_http import new_http_client
from ucp_connector.settings import Settings
from worker.client import connect, load_payload_keyring


def build_app(settings: Settings) -> FastAPI:
    keys = ReloadingKeyring(settings.resolved_keys_dir / SIGNING_FILE)
    payload_keyring = load_payload_keyring(settings.resolved_keys_dir)
    repository = Repository.from_settings(settings.storage)
    http = new_http_client(ca_file=settings.outbound_ca_file)
    app = create_app(
        settings, gateway=None, repository=repository, keys=keys, profiles=ProfileCache(http, settings.merchants)
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        client = await connect(settings.temporal, payload_keyring, lazy=True)
        app.state.gateway = CheckoutGateway(
            client,
            task_queue=settings.temporal.task_queue,
            wait_bound=dt.timedelta(seconds=settings.api_wait_seconds),
        )
        try:
            yield
        finally:
            await http.aclose()
            await repository.close()

    app.router.lifespan_context = lifespan
    return app
