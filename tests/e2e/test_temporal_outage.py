"""Temporal down: the API fails closed (503 + Retry-After) and nothing is half-created (DESIGN invariant 2).

A private dev server keeps its state in a file; the test stops it, sends a
create, then starts it again on the same port and file: the session the
create would have made does not exist, and replaying the same request now
creates it — once.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from contracts import checkout_session_id, checkout_workflow_id
from core.temporal.codec import PayloadKeyring
from tests.e2e.conftest import MERCHANT, running_connector
from tests.fixtures.connector_stack import ready_body
from tests.fixtures.http import free_port
from ucp_connector.local_temporal import start_dev_server

pytestmark = pytest.mark.e2e


async def _start(db: Path, port: int, keyring: PayloadKeyring) -> WorkflowEnvironment:
    return await start_dev_server(keyring, port=port, db_file=db)


async def test_create_while_temporal_is_down_is_503_and_leaves_no_session(
    payload_keyring: PayloadKeyring, tmp_path: Path
) -> None:
    db, port = tmp_path / "temporal.db", free_port()
    first = await _start(db, port, payload_keyring)
    stopped = False
    try:
        async with running_connector(first, tmp_path, wait_seconds=30) as connector:
            await first.shutdown()
            stopped = True
            key = str(uuid.uuid4())
            path = f"/merchants/{MERCHANT}/checkout-sessions"
            response = await connector.call(connector.alpha, "POST", path, ready_body(), key=key)
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "service_unavailable" and int(response.headers["Retry-After"]) >= 1

            second = await _start(db, port, payload_keyring)
            try:
                workflow_id = checkout_workflow_id("alpha", checkout_session_id("alpha", key))
                with pytest.raises(RPCError) as missing:
                    await second.client.get_workflow_handle(workflow_id).describe()
                assert missing.value.status == RPCStatusCode.NOT_FOUND  # nothing half-created

                replay = await connector.call(connector.alpha, "POST", path, ready_body(), key=key)
                assert replay.status_code == 201, replay.text
                described = await second.client.get_workflow_handle(workflow_id).describe()
                assert described.status == WorkflowExecutionStatus.RUNNING
                assert await connector.merchant.count_orders() == 0
            finally:
                await second.shutdown()
    finally:
        if not stopped:
            await first.shutdown()
