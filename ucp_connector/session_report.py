"""What ``session show`` tells an operator about one session, as lines of text (issue 16, item 3).

Three sources, each for what it knows best:

* the workflow's ``view`` Query — status, status history, pending actions,
  totals, the order, and the checkout's ``messages``, where a merchant reports
  *business* outcomes (``payment_failed``, ``out_of_stock``, ...; checkout.md
  "Messages"): a declined payment is an ordinary answer, not a failure;
* ``describe()`` — the activities running *now*: which one, its attempt and
  the server's retry limit, its last failure and when the next attempt is due.
  That is what a session stuck on a hanging or failing merchant shows, while
  the view still says ``status None`` (no merchant answer yet);
* the history — the timeline, and each activity's summary (``create_checkout at
  shop``), which names what an attempt is for.

Pure functions over those three, so the rendering is tested on real
descriptions without a terminal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from temporalio.api.enums.v1 import PendingActivityState, PendingWorkflowTaskState
from temporalio.api.workflow.v1 import PendingActivityInfo, PendingWorkflowTaskInfo

from workflows.lifecycle import NEVER_CREATED, NEVER_CREATED_TEXT
from workflows.types import SessionView


@dataclass(frozen=True)
class ActivityNow:
    """An activity the workflow is waiting for, as ``describe()`` reports it."""

    activity: str
    summary: str | None
    attempt: int
    maximum_attempts: int
    state: str
    last_failure: str | None
    failure_code: str | None
    next_attempt_at: dt.datetime | None
    started_at: dt.datetime | None = None

    @property
    def what(self) -> str:
        return f"{self.activity} ({self.summary})" if self.summary else self.activity

    def line(self) -> str:
        limit = f" of {self.maximum_attempts}" if self.maximum_attempts else " (retried until it succeeds)"
        text = f"{self.what}: {self.state}, attempt {self.attempt}{limit}"
        if self.started_at is not None and self.state == "started":
            # A hanging merchant shows here: an attempt started long ago that has not failed yet.
            text += f", started at {self.started_at.isoformat()}"
        if self.last_failure:
            code = f"[{self.failure_code}] " if self.failure_code else ""
            text += f"; last failure: {code}{self.last_failure}"
        if self.next_attempt_at is not None:
            text += f"; next attempt at {self.next_attempt_at.isoformat()}"
        return text

    def to_json(self) -> dict[str, Any]:
        document = dict(self.__dict__)
        document["next_attempt_at"] = self.next_attempt_at.isoformat() if self.next_attempt_at else None
        document["started_at"] = self.started_at.isoformat() if self.started_at else None
        return document


@dataclass(frozen=True)
class Outcome:
    """A message the merchant attached to the checkout (checkout.md "Messages")."""

    type: str
    code: str | None
    content: str | None
    severity: str | None

    def line(self) -> str:
        severity = f", {self.severity}" if self.severity else ""
        return f"{self.type} {self.code or '(no code)'}{severity}: {self.content or ''}".rstrip(": ")


def activities_now(pending: Sequence[PendingActivityInfo], summaries: Mapping[str, str]) -> list[ActivityNow]:
    """``describe().raw_description.pending_activities`` with each activity's summary from the history."""
    found = []
    for info in pending:
        failure = info.last_failure if info.HasField("last_failure") else None
        code = None
        if failure is not None and failure.HasField("application_failure_info"):
            code = failure.application_failure_info.type or None
        elif failure is not None and failure.HasField("timeout_failure_info"):
            code = "timeout"
        found.append(
            ActivityNow(
                activity=info.activity_type.name,
                summary=summaries.get(info.activity_id),
                attempt=info.attempt,
                maximum_attempts=info.maximum_attempts,
                state=_state_name(info.state),
                last_failure=(failure.message or None) if failure is not None else None,
                failure_code=code,
                next_attempt_at=info.next_attempt_schedule_time.ToDatetime(dt.UTC)
                if info.HasField("next_attempt_schedule_time")
                else None,
                started_at=info.last_started_time.ToDatetime(dt.UTC) if info.HasField("last_started_time") else None,
            )
        )
    return found


def outcomes(view: SessionView) -> list[Outcome]:
    messages = (view.checkout or {}).get("messages") or []
    return [
        Outcome(
            type=str(message.get("type", "message")),
            code=message.get("code"),
            content=message.get("content"),
            severity=message.get("severity"),
        )
        for message in messages
        if isinstance(message, dict)
    ]


def view_reason_text(reason: str) -> str:
    return NEVER_CREATED_TEXT if reason == NEVER_CREATED else reason


MERCHANT_ACTIVITIES: Final = frozenset({"call_merchant", "merchant_operation"})  # the latter: issue 13


def status_text(view: SessionView, activities: Sequence[ActivityNow]) -> str:
    if view.status is not None:
        return view.status
    if view.closed_reason is not None:
        return f"closed without a checkout ({view.closed_reason}): {view_reason_text(view.closed_reason)}"
    if any(activity.activity in MERCHANT_ACTIVITIES for activity in activities):
        return "creating (the merchant has not answered the create yet)"
    return "creating"


def task_running_since(task: PendingWorkflowTaskInfo | None) -> dt.datetime | None:
    """When the workflow task now running started (``describe()``'s pending workflow task), if one runs.

    A merchant call's first attempt is a local activity inside the workflow task (issue 13):
    for up to its few seconds the server lists no activity, only this running task.
    """
    if task is None or task.state != PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED:
        return None
    return task.started_time.ToDatetime(dt.UTC) if task.HasField("started_time") else None


def pending_text(
    actions: Sequence[str], activities: Sequence[ActivityNow], task_since: dt.datetime | None = None
) -> str:
    """The view's pending actions; with none, what the session waits for instead of a misleading "none".

    A session whose merchant hangs mid-create has no platform action pending, but it is
    not idle: it waits for the activity ``describe()`` reports (as the Temporal UI shows it),
    or, during a merchant call's first (local) attempt, for the running workflow task.
    """
    if actions:
        return ", ".join(actions)
    if activities:
        return "none for the platform; waiting for " + ", ".join(activity.what for activity in activities)
    if task_since is not None:
        return "none for the platform; waiting for the running workflow task (a merchant call's first attempt)"
    return "none"


def describe_only_lines(status: str | None, activities: Sequence[ActivityNow], reason: str) -> list[str]:
    """What ``describe()`` alone tells when the workflow's Query is not answered (no worker, a stuck task).

    The status is the ``UcpStatus`` search attribute the workflow last set (the one the
    Temporal UI filters on); the activities in progress come from the server, not the worker.
    """
    lines = [
        f"the session's state is unavailable ({reason}); from Temporal's description only:",
        f"status {status or 'creating (no merchant answer recorded yet)'} (search attribute UcpStatus)",
        f"pending actions: {pending_text([], activities)}",
        "activities in progress:" if activities else "activities in progress: none",
    ]
    lines += [f"  {activity.line()}" for activity in activities]
    return lines


def report_lines(
    view: SessionView, activities: Sequence[ActivityNow], task_since: dt.datetime | None = None
) -> list[str]:
    """The state part of the human view (the timeline follows it)."""
    lines = [
        f"merchant {view.merchant_id} (UCP {view.merchant_version or '?'}), "
        f"merchant checkout {view.merchant_checkout_id or '(none yet)'}",
        f"status {status_text(view, activities)}",
    ]
    lines += [f"{change.at.isoformat()}  {change.status:<22} ({change.cause})" for change in view.status_history]
    lines.append(f"pending actions: {pending_text(view.pending_actions, activities, task_since)}")
    lines.append("activities in progress:" if activities else "activities in progress: none")
    lines += [f"  {activity.line()}" for activity in activities]
    if task_since is not None and not activities:
        lines.append(f"workflow task running since {task_since.isoformat()} (a local merchant attempt runs in it)")
    found = outcomes(view)
    if found:
        lines.append("merchant messages (business outcomes):")
        lines += [f"  {outcome.line()}" for outcome in found]
    if view.checkout:
        totals = {entry.get("type"): entry.get("amount") for entry in view.checkout.get("totals", [])}
        lines.append(f"totals: {totals}  currency {view.checkout.get('currency')}")
    if view.order:
        lines.append(f"order: {view.order.get('id')}")
    return lines


def _state_name(state: int) -> str:
    try:
        name = PendingActivityState.Name(state)  # type: ignore[arg-type]
    except ValueError:
        return "unknown"
    return name.removeprefix("PENDING_ACTIVITY_STATE_").lower().replace("_", " ")
