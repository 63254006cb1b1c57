"""A scripted stand-in for ``api.gateway.CheckoutGateway``, installed with ``app.dependency_overrides``.

It lets a test drive the route logic — status mapping, ``Location``, error
bodies, what the route hands the gateway — without Temporal. The gateway's own
behaviour (Update-With-Start, digest comparison, bounded waits) runs against a
real Temporal in tests/workflows and tests/e2e. ``test_dependencies`` checks
that this double keeps the real gateway's method names and parameters, so it
cannot drift from what the routes call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from api.gateway import SessionContext
from contracts import checkout_session_id
from workflows.types import (
    Operation,
    OperationRequest,
    OperationResult,
    OrderEvent,
    OrderRead,
    OrderReadResult,
    SessionView,
)


@dataclass(frozen=True)
class GatewayCall:
    method: str
    args: tuple[Any, ...]


@dataclass
class ScriptedGateway:
    """Answers each method with what the test scripted (a value, or an exception to raise)."""

    answers: dict[str, Any] = field(default_factory=dict)
    calls: list[GatewayCall] = field(default_factory=list)
    unscripted: list[str] = field(default_factory=list)

    def script(self, method: str, answer: Any) -> None:
        self.answers[method] = answer

    def calls_to(self, method: str) -> list[tuple[Any, ...]]:
        return [call.args for call in self.calls if call.method == method]

    def _answer(self, method: str, *args: Any) -> Any:
        self.calls.append(GatewayCall(method, args))
        if method not in self.answers:
            self.unscripted.append(method)
            raise AssertionError(f"the test did not script gateway.{method}")
        answer = self.answers[method]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def create(self, context: SessionContext, request: OperationRequest) -> tuple[str, OperationResult]:
        result: OperationResult = self._answer("create", context, request)
        # The session id is the contracts rule the real gateway applies (contracts.idempotency).
        return checkout_session_id(context.platform_id, request.idempotency_key), result

    async def operate(
        self, platform_id: str, session_id: str, operation: Operation, request: OperationRequest
    ) -> OperationResult:
        result: OperationResult = self._answer("operate", platform_id, session_id, operation, request)
        return result

    async def read_order(self, platform_id: str, session_id: str, request: OrderRead) -> OrderReadResult | None:
        result: OrderReadResult | None = self._answer("read_order", platform_id, session_id, request)
        return result

    async def ping(self, rpc_timeout: dt.timedelta) -> None:
        self._answer("ping", rpc_timeout)

    async def read_checkout(self, platform_id: str, session_id: str, merchant_id: str) -> SessionView | None:
        view: SessionView | None = self._answer("read_checkout", platform_id, session_id, merchant_id)
        return view

    async def view(self, platform_id: str, session_id: str) -> SessionView:
        view: SessionView = self._answer("view", platform_id, session_id)
        return view

    async def order_event(self, platform_id: str, session_id: str, event: OrderEvent) -> None:
        self._answer("order_event", platform_id, session_id, event)
