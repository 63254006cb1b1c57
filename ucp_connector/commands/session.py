"""``ucp-connector session show``: read one checkout session as an operator, decrypted, on the host.

Temporal keeps every payload encrypted (DESIGN.md invariant 6); the Web UI
shows them redacted through the codec server (``ucp-connector codec-server``).
This is the host-side full view, with the payload-codec key file of the host:
the session's state from the workflow's ``view`` Query (status history,
pending actions, the merchant's messages — business outcomes such as
``payment_failed``), the activities in progress from ``describe()`` (attempt,
last failure, next attempt: what a session stuck on its merchant shows) and
the activity timeline from the history, never the raw payloads
(``ucp_connector.session_report``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError, RPCStatusCode

from contracts import checkout_workflow_id
from core.settings import Settings, load_settings
from core.temporal.client import connect, load_payload_keyring
from ucp_connector.process_exit import exit_now
from ucp_connector.session_report import activities_now, describe_only_lines, report_lines, task_running_since
from workflows.checkout import CheckoutSessionWorkflow
from workflows.search_attributes import STATUS
from workflows.types import SessionView

app = typer.Typer(help="Inspect checkout sessions (decrypted with this host's key files).")
console = Console(highlight=False)

_QUERY_TIMEOUT = dt.timedelta(seconds=10)
_TIMELINE = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update accepted",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: "update completed",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity scheduled",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity failed",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity timed out",
    EventType.EVENT_TYPE_TIMER_STARTED: "timer started",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signal",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued as new",
}


@app.command()
def show(
    session_id: Annotated[str, typer.Argument(help="The session id (cs_...) or the full workflow id.")],
    platform: Annotated[str | None, typer.Option(help="Platform id (needed with a bare cs_ id).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the session view as JSON.")] = False,
) -> None:
    """Show a session's state, status history, pending actions and activity timeline."""
    if session_id.startswith("checkout/"):
        workflow_id = session_id
    elif platform is not None:
        workflow_id = checkout_workflow_id(platform, session_id)
    else:
        raise typer.BadParameter("give --platform with a cs_ id, or the full workflow id checkout/PLATFORM/cs_...")
    settings = load_settings()
    try:
        code = asyncio.run(_show(settings, workflow_id, as_json))
    except SessionShowError as error:
        # Not left to the CLI's handler: a process that used the Temporal client leaves through exit_now.
        Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        code = 2
    exit_now(code)


async def _show(settings: Settings, workflow_id: str, as_json: bool) -> int:
    try:
        client = await connect(settings.temporal, load_payload_keyring(settings))
    except RuntimeError as exc:  # the SDK's "Failed client connect"
        raise SessionShowError(f"cannot reach Temporal at {settings.temporal.address}: {_first_line(exc)}") from exc
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise SessionShowError(f"no session {workflow_id} in namespace {client.namespace}") from exc
        raise SessionShowError(f"Temporal refused to show {workflow_id}: {_first_line(exc)}") from exc
    view: SessionView | None = None
    unanswered = ""
    try:
        # Answered by a worker: bounded, so a session without one still shows what the server knows.
        view = await handle.query(CheckoutSessionWorkflow.view, rpc_timeout=_QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as exc:
        unanswered = f"the view Query was not answered: {_first_line(exc)}"
    summaries: dict[str, str] = {}
    timeline: list[str] = []
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes") and event.user_metadata.HasField("summary"):
            attributes = event.activity_task_scheduled_event_attributes
            with contextlib.suppress(Exception):  # a summary is a nicety; an undecodable one is left out
                [summaries[attributes.activity_id]] = await client.data_converter.decode(
                    [event.user_metadata.summary], [str]
                )
        label = _TIMELINE.get(event.event_type)
        if label is not None:
            timeline.append(f"    {event.event_time.ToDatetime().isoformat()}  {label:<18} {_what(event)}")
    activities = activities_now(description.raw_description.pending_activities, summaries)
    if as_json:
        document = json.loads(view.model_dump_json()) if view is not None else {"view_unavailable": unanswered}
        document["activities_in_progress"] = [activity.to_json() for activity in activities]
        console.print_json(json.dumps(document))
        return 0
    console.print(f"[bold]{workflow_id}[/]  ({description.status.name if description.status else '?'})")
    # markup=False: merchant text and failure codes print as they are ("[merchant_unavailable]" is no style tag).
    raw = description.raw_description
    task_since = task_running_since(raw.pending_workflow_task if raw.HasField("pending_workflow_task") else None)
    if view is not None:
        lines = report_lines(view, activities, task_since)
    else:
        lines = describe_only_lines(description.typed_search_attributes.get(STATUS), activities, unanswered)
    for line in lines:
        console.print(f"  {line}", soft_wrap=True, markup=False)
    console.print("  timeline:")
    for line in timeline:
        console.print(line, soft_wrap=True, markup=False)
    return 0


class SessionShowError(RuntimeError):
    """A session that cannot be shown: an unknown id, or Temporal out of reach (a one-line message, exit 2)."""


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def _what(event: Any) -> str:
    if event.HasField("activity_task_scheduled_event_attributes"):
        attributes = event.activity_task_scheduled_event_attributes
        return str(attributes.activity_type.name)
    if event.HasField("activity_task_failed_event_attributes"):
        return str(event.activity_task_failed_event_attributes.failure.message)[:120]
    if event.HasField("workflow_execution_update_accepted_event_attributes"):
        return str(event.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id)
    if event.HasField("workflow_execution_signaled_event_attributes"):
        return str(event.workflow_execution_signaled_event_attributes.signal_name)
    return ""
