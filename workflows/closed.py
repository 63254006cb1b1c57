"""How a session that closed at its terminal status answers the platform: from the state it closed with.

Decision 0001: a checkout workflow started by this build completes once it is
terminal, and its result carries its :class:`~workflows.types.SessionState`
(``SessionView.closed``). A platform operation that reaches the closed
workflow (a replay, a retry, a late update) is answered by :func:`answer` with
the workflow's own rules, so the answer is the one the open workflow would
have given (DESIGN.md invariants 2-3):

* same ``Idempotency-Key``, same operation, same body digest → the recorded
  result, identical;
* same key, another body or operation → ``409 idempotency_key_reused``;
* a session of another merchant → ``404 not_found``;
* a new key → the transition refusal of the terminal status
  (``409 transition_invalid``), or for a create ``the session already exists``;
  a ``refresh`` answers the final checkout (nothing at the merchant can change it).

Pure: the API (``api/gateway.py``) calls it with the closed workflow's result.
"""

from __future__ import annotations

from contracts import ErrorCode, UcpError
from workflows import lifecycle
from workflows.types import Operation, OperationRequest, OperationResult, PolicySnapshot, SessionState


def answer(
    operation: Operation,
    request: OperationRequest,
    *,
    merchant_id: str,
    session_id: str,
    state: SessionState,
    policy: PolicySnapshot,
) -> OperationResult | UcpError:
    """The result or the refusal the open workflow would have given ``request``."""
    error = lifecycle.request_error(operation, request, merchant_id, state)
    if error is not None:
        return error
    record = state.idempotency.get(request.idempotency_key)
    if record is not None and record.result is not None:
        return record.result
    refusal = lifecycle.refusal(operation, state, policy)
    if refusal is not None:
        return refusal
    if state.checkout is None:
        return UcpError("the checkout session does not exist", code=ErrorCode.NOT_FOUND)
    return lifecycle.result(operation, request, 200, lifecycle.presented_checkout(state.checkout, session_id))
