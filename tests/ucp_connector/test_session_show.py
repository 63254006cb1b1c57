"""``session show``'s human view names what a session is waiting for and what the merchant said (issue 16.3).

Real Temporal (dev server), the real worker and the real reference merchant.
Before, a session whose merchant kept failing the create printed ``status
None`` and ``pending actions: none``; a declined payment showed nowhere but
in ``--json``. The report is built from the same ``describe()``, history and
Query the command reads (``ucp_connector.session_report``), and the command
itself is run once on top. Covers CHK-01 (create), CMP-03/PAY-07 (payment_failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from contracts import checkout_workflow_id
from core.settings import PAYLOAD_KEY_FILE
from core.temporal.codec import PayloadKeyring
from tests.fixtures.connector_stack import ConnectorStack, connector_stack, payment_body, ready_body
from tests.fixtures.waiting import eventually
from ucp_connector.session_report import ActivityNow, activities_now, report_lines
from workflows.search_attributes import STATUS
from workflows.types import WORKFLOW_TYPE, Operation, SessionStart

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-c", "from ucp_connector.cli import main; main()"]


@pytest.fixture
async def stack(dev_server_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[ConnectorStack]:
    async with connector_stack(dev_server_env, tmp_path) as running:
        yield running


async def _report(stack: ConnectorStack, session_id: str) -> tuple[list[ActivityNow], list[str]]:
    handle = stack.handle(session_id)
    description = await handle.describe()
    summaries = {}
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            [text] = await stack.client.data_converter.decode([event.user_metadata.summary], [str])
            summaries[event.activity_task_scheduled_event_attributes.activity_id] = text
    activities = activities_now(description.raw_description.pending_activities, summaries)
    return activities, report_lines(await stack.view(session_id), activities)


async def test_a_create_the_merchant_keeps_failing_shows_the_attempt_and_its_last_failure(
    stack: ConnectorStack, tmp_path: Path, payload_keyring: PayloadKeyring
) -> None:
    stack.merchant.faults.unavailable_count = 1000  # 503 + Retry-After to every create
    creating = asyncio.create_task(stack.create(ready_body()))
    try:
        session_id = await eventually(lambda: _session_of(stack), lambda found: found is not None, 30)
        assert session_id is not None

        async def attempts() -> list[ActivityNow]:
            return (await _report(stack, session_id))[0]

        stuck = await eventually(attempts, lambda found: any(a.attempt >= 2 and a.last_failure for a in found), 60)
        [activity] = stuck
        # The create's local attempt failed; its retries are the regular merchant_operation (issue 13).
        assert activity.activity == "merchant_operation" and activity.summary == "create_checkout at shop"
        assert activity.failure_code == "merchant_unavailable" and activity.maximum_attempts == 0
        _, lines = await _report(stack, session_id)
        text = "\n".join(lines)
        assert "status None" not in text and "status creating (the merchant has not answered" in text
        assert "merchant_operation (create_checkout at shop): " in text
        assert "last failure: [merchant_unavailable]" in text
        assert "(retried until it succeeds)" in text

        shown = await _session_show(stack, tmp_path, payload_keyring, session_id)
        assert "attempt" in shown and "last failure: [merchant_unavailable]" in shown, shown
        [listed] = json.loads(await _session_show(stack, tmp_path, payload_keyring, session_id, "--json"))[
            "activities_in_progress"
        ]
        assert listed["activity"] == "merchant_operation" and listed["attempt"] >= 2 and listed["failure_code"]
    finally:
        stack.merchant.faults.unavailable_count = 0
        with contextlib.suppress(Exception):
            await asyncio.wait_for(creating, 60)


async def test_a_create_the_merchant_hangs_on_shows_the_attempt_running_not_none(
    stack: ConnectorStack, tmp_path: Path, payload_keyring: PayloadKeyring
) -> None:
    """A merchant that accepts the create and never answers (issue 16.3): before, ``pending actions: none``.

    The attempt has not failed yet, so there is no last failure to show; the report
    names the activity the session waits for, its attempt and when it started.
    """
    # Two hangs: the local first attempt (issue 13) gives up after LOCAL_ATTEMPT; the regular one is what shows.
    stack.merchant.faults.hang_count, stack.merchant.faults.hang_seconds = 2, 600
    creating = asyncio.create_task(stack.create(ready_body()))
    try:
        session_id = await eventually(lambda: _session_of(stack), lambda found: found is not None, 30)
        assert session_id is not None

        async def running() -> list[ActivityNow]:
            return (await _report(stack, session_id))[0]

        [activity] = await eventually(running, lambda found: any(a.state == "started" for a in found), 30)
        assert activity.attempt == 1 and activity.last_failure is None and activity.started_at is not None
        shown = await _session_show(stack, tmp_path, payload_keyring, session_id)
        assert "status None" not in shown and "pending actions: none\n" not in shown, shown
        assert "status creating (the merchant has not answered" in shown
        waiting = "waiting for merchant_operation (create_checkout at shop)"
        assert f"pending actions: none for the platform; {waiting}" in shown
        assert "started, attempt 1 (retried until it succeeds), started at" in shown, shown
    finally:
        stack.merchant.faults.reset()
        stack.merchant.asgi.release_hangs()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(creating, 90)


async def test_a_session_no_worker_answers_for_is_shown_from_the_servers_description(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, payload_keyring: PayloadKeyring
) -> None:
    """The worker is down: the Query is never answered, yet ``session show`` prints what Temporal knows.

    The status is the ``UcpStatus`` search attribute (what the Temporal UI filters on),
    and the command exits 0 with a line saying the state is unavailable, not a traceback.
    """
    client = dev_server_env.client
    session_id = f"cs_{uuid.uuid4().hex}"
    handle = await client.start_workflow(
        WORKFLOW_TYPE,
        SessionStart(platform_id="agent", session_id=session_id, merchant_id="shop"),
        id=checkout_workflow_id("agent", session_id),
        task_queue=f"nobody-polls-{uuid.uuid4().hex[:8]}",
        search_attributes=TypedSearchAttributes([SearchAttributePair(STATUS, "ready_for_complete")]),
    )
    try:
        shown = await _run_show(client, tmp_path, payload_keyring, session_id)
        assert "the session's state is unavailable (the view Query was not answered" in shown, shown
        assert "status ready_for_complete (search attribute UcpStatus)" in shown, shown
        assert "Traceback" not in shown
    finally:
        await handle.terminate(reason="test finished")


async def test_a_declined_payment_is_shown_as_the_merchants_business_outcome(stack: ConnectorStack) -> None:
    """CMP-03/PAY-07: the declined payment in session show, the workflow's current details and the audit outcome."""
    session_id, created = await stack.create(ready_body())
    assert created.body["status"] == "ready_for_complete"
    declined = await stack.operate(session_id, Operation.COMPLETE, payment_body("decline_card"))
    assert declined.body["status"] == "ready_for_complete", declined.body
    activities, lines = await _report(stack, session_id)
    text = "\n".join(lines)
    assert activities == [] and "activities in progress: none" in text
    assert "merchant messages (business outcomes):" in text and "error payment_failed" in text, text
    # The workflow's current details in the Temporal UI, and the audit trail, say so too (not "succeeded").
    metadata = await stack.handle(session_id).query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "**merchant said** payment_failed" in metadata.current_details, metadata.current_details
    assert "**status** ready_for_complete" in metadata.current_details
    page = await stack.repository.list_session_events(session_id, "agent", limit=200)
    [audited] = [event for event in page.items if event.action == "merchant.complete_checkout"]
    assert audited.outcome == "declined" and audited.payload["business_outcomes"] == ["payment_failed"], audited


async def _session_of(stack: ConnectorStack) -> str | None:
    return next(iter(stack.sessions), None) or await _listed(stack)


async def _listed(stack: ConnectorStack) -> str | None:
    async for execution in stack.client.list_workflows(f'TaskQueue = "{stack.settings.temporal.task_queue}"'):
        return execution.id.rsplit("/", 1)[-1]
    return None


async def _session_show(
    stack: ConnectorStack, tmp_path: Path, keyring: PayloadKeyring, session_id: str, *options: str
) -> str:
    return await _run_show(stack.client, tmp_path, keyring, session_id, *options)


async def _run_show(client: Client, tmp_path: Path, keyring: PayloadKeyring, session_id: str, *options: str) -> str:
    """The command itself, as an operator runs it on the host (the same payload key, the same Temporal).

    Run without blocking the event loop: this process's worker answers the command's Query.
    """
    state = tmp_path / "operator"
    if not (state / "keys" / PAYLOAD_KEY_FILE).exists():
        keyring.save(state / "keys" / PAYLOAD_KEY_FILE)
    config = tmp_path / "operator.toml"
    address = client.service_client.config.target_host
    config.write_text(f'state_dir = "{state}"\n[temporal]\naddress = "{address}"\n')
    process = await asyncio.create_subprocess_exec(
        *CLI,
        "session",
        "show",
        session_id,
        "--platform",
        "agent",
        *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "UCP_CONFIG": str(config)},
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, (out + err).decode()
    return out.decode()
