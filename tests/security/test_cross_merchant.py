"""Idempotency across merchants: the same key at another merchant never shows the first merchant's session.

Issue 12.8: a create under merchant B with the Idempotency-Key of an earlier
create under merchant A answered 201 with a ``Location`` under B and A's
checkout in the body. Temporal dedups the create update by its id before the
workflow's validator (which refuses another merchant) can run, so the gateway
now checks the session's merchant on the way out. Real gateway, real
time-skipping Temporal, scripted merchant (tests/workflows/scripted.py).
Invariants 2-3 (IDM-05: a key identifies one operation).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import (
    Client,
    DescribeWorkflowInput,
    Interceptor,
    OutboundInterceptor,
    WorkflowExecutionDescription,
)
from temporalio.testing import WorkflowEnvironment

from activities.types import MerchantOperation
from contracts import UcpError, canonical_json, content_digest
from tests.fixtures.connector_stack import PLATFORM
from tests.security.catalogue import attack, control
from tests.workflows.scripted import ScriptedSession, checkout, scripted_session
from workflows.types import Operation, OperationRequest, OperationResult

control("idempotency")

BODY = {"line_items": [{"item": {"id": "mug"}, "quantity": 1}]}


@pytest.fixture
async def scripted(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[ScriptedSession]:
    async with scripted_session(time_skipping_env.client) as session:
        yield session


class _Describes(Interceptor):
    """Counts the client's describe calls (the gateway's fallback for results recorded without a merchant)."""

    def __init__(self) -> None:
        self.calls = 0

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        counter = self

        class Counting(OutboundInterceptor):
            async def describe_workflow(self, input: DescribeWorkflowInput) -> WorkflowExecutionDescription:
                counter.calls += 1
                return await super().describe_workflow(input)

        return Counting(next)


@pytest.fixture
async def counted(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[tuple[ScriptedSession, _Describes]]:
    describes = _Describes()
    config: dict[str, Any] = {**time_skipping_env.client.config(), "interceptors": [describes]}
    async with scripted_session(Client(**config)) as session:
        yield session, describes


def _request(key: str, merchant_id: str, body: dict[str, object] | None = BODY) -> OperationRequest:
    return OperationRequest(
        idempotency_key=key,
        merchant_id=merchant_id,
        body_digest=content_digest(canonical_json(body if body is not None else {})),
        body=body,
    )


async def test_control_the_same_key_at_the_same_merchant_replays(scripted: ScriptedSession) -> None:
    scripted.fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    key = str(uuid.uuid4())
    first = await scripted.create_with(scripted.context(merchant_id="shop"), _request(key, "shop"))
    again = await scripted.create_with(scripted.context(merchant_id="shop"), _request(key, "shop"))
    assert first == again and first[1].http_status == 201


@pytest.mark.parametrize(
    "code",
    [attack("idempotency", "same_key_other_merchant_create", "idempotency_key_reused")],
)
async def test_the_same_key_at_another_merchant_is_refused(scripted: ScriptedSession, code: str) -> None:
    scripted.fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    key = str(uuid.uuid4())
    await scripted.create_with(scripted.context(merchant_id="shop"), _request(key, "shop"))
    with pytest.raises(UcpError) as refused:
        await scripted.create_with(scripted.context(merchant_id="market"), _request(key, "market"))
    assert refused.value.code.value == code and refused.value.detail == {"reason": "other_merchant"}


@pytest.mark.parametrize(
    "code",
    [attack("idempotency", "same_update_key_other_merchant_path", "not_found")],
)
async def test_an_update_replayed_under_another_merchant_path_is_not_found(
    scripted: ScriptedSession, code: str
) -> None:
    """The update deduplicated by id would otherwise answer with shop's checkout under market's path."""
    scripted.fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    scripted.fakes.answer(MerchantOperation.UPDATE, checkout("ready_for_complete"))
    session_id, _ = await scripted.create_with(
        scripted.context(merchant_id="shop"), _request(str(uuid.uuid4()), "shop")
    )
    key = str(uuid.uuid4())
    update = {"id": session_id, **BODY}
    result = await scripted.gateway.operate(PLATFORM, session_id, Operation.UPDATE, _request(key, "shop", update))
    assert result.http_status == 200
    with pytest.raises(UcpError) as refused:
        await scripted.gateway.operate(PLATFORM, session_id, Operation.UPDATE, _request(key, "market", update))
    assert refused.value.code.value == code


async def test_the_merchant_check_reads_the_result_not_the_server(counted: tuple[ScriptedSession, _Describes]) -> None:
    """Issue 13: the workflow stamps its merchant on each result, so an operation costs no describe call;
    the check still refuses the other merchant's path (the test above) from that stamp."""
    scripted, describes = counted
    scripted.fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    scripted.fakes.answer(MerchantOperation.UPDATE, checkout("ready_for_complete"))
    session_id, created = await scripted.create_with(
        scripted.context(merchant_id="shop"), _request(str(uuid.uuid4()), "shop")
    )
    update = {"id": session_id, **BODY}
    result = await scripted.gateway.operate(
        PLATFORM, session_id, Operation.UPDATE, _request(str(uuid.uuid4()), "shop", update)
    )
    assert (created.merchant_id, result.merchant_id, describes.calls) == ("shop", "shop", 0)


async def test_a_result_recorded_without_its_merchant_is_checked_against_the_server(
    counted: tuple[ScriptedSession, _Describes],
) -> None:
    """A result recorded before the stamp (an older session's idempotency record) falls back to the session's
    search attribute, so a replay of it under another merchant's path is still refused (issue 12.8)."""
    scripted, describes = counted
    scripted.fakes.answer(MerchantOperation.CREATE, checkout("incomplete"))
    session_id, created = await scripted.create_with(
        scripted.context(merchant_id="shop"), _request(str(uuid.uuid4()), "shop")
    )
    unstamped = OperationResult.model_validate(created.model_dump(exclude={"merchant_id"}))
    assert await scripted.gateway._answered_for(unstamped, PLATFORM, session_id) == "shop"
    assert describes.calls == 1
