"""One trace from the platform's request to the merchant: API → Temporal → workflow → activity → merchant HTTP.

The real stack (tests/e2e ``running_connector``: API, worker, Temporal dev
server, reference merchant, all over loopback HTTP) with tracing switched on;
the only test double is the in-memory span exporter. The merchant sits behind
an observer that records the headers it receives, so the test sees the W3C
``traceparent`` that crossed the wire -- and the checkout only succeeds if the
merchant verified the connector's signature on the traced request
(SIG-15, SIG-16, SIG-18, SIG-19: instrumentation adds a header but must not
touch a covered one or re-serialise the body).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.testing import WorkflowEnvironment

from core.outbound_http import new_http_client
from core.telemetry import tracer_provider, with_tracing
from tests.e2e.conftest import MERCHANT, running_connector
from tests.fixtures.connector_stack import payment_body, ready_body
from tests.fixtures.http import bind_loopback, serve

pytestmark = pytest.mark.e2e

BASE = f"/merchants/{MERCHANT}/checkout-sessions"
QUERY_SECRET = "4111111111111111"
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")


class HeaderLog:
    """What reached the merchant: (method, path, headers) of every request, in arrival order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    def front(self, app: ASGIApp) -> ASGIApp:
        async def observed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
                self.seen.append((scope["method"], scope["path"], headers))
            await app(scope, receive, send)

        return observed


def _chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    """The span and its ancestors, innermost first."""
    chain = [span]
    while chain[-1].parent is not None and chain[-1].parent.span_id in by_id:
        chain.append(by_id[chain[-1].parent.span_id])
    return chain


def _traceparent(headers: dict[str, str]) -> tuple[int | None, int | None]:
    """(trace id, parent span id) of a W3C traceparent header, or (None, None)."""
    match = TRACEPARENT.fullmatch(headers.get("traceparent", ""))
    return (int(match.group(1), 16), int(match.group(2), 16)) if match else (None, None)


def _names(spans: Sequence[ReadableSpan]) -> list[str]:
    return [span.name for span in spans]


def _client_span_to(spans: Sequence[ReadableSpan], method: str, path_suffix: str) -> ReadableSpan:
    for span in spans:
        attributes: dict[str, Any] = dict(span.attributes or {})
        url = str(attributes.get("url.full") or attributes.get("http.url") or "")
        if span.kind is SpanKind.CLIENT and url.endswith(path_suffix) and method in span.name:
            return span
    raise AssertionError(f"no HTTP client span for {method} …{path_suffix}: {_names(spans)}")


async def test_a_checkout_is_one_trace_from_api_request_to_merchant_http(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    """API server span → StartUpdateWithStartWorkflow → RunWorkflow/HandleUpdate + StartActivity → RunActivity →
    HTTP client span; the merchant receives that span as its traceparent and still verifies the signature."""
    merchant_log = HeaderLog()
    traced = with_tracing(dev_server_env.client)
    async with running_connector(dev_server_env, tmp_path, client=traced, merchant_front=merchant_log.front) as stack:
        created = await stack.call(stack.alpha, "POST", BASE, ready_body(), key=str(uuid.uuid4()))
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        completed = await stack.call(stack.alpha, "POST", f"{BASE}/{session_id}/complete", payment_body())
        assert completed.status_code == 200 and completed.json()["status"] == "completed", completed.text
        listed = await stack.call(stack.alpha, "GET", f"/checkout-sessions?merchant={QUERY_SECRET}")
        assert listed.status_code in (200, 400), listed.text
    provider = tracer_provider()
    assert provider is not None
    provider.force_flush()
    finished = spans.get_finished_spans()
    by_id = {span.context.span_id: span for span in finished}

    def server_span(name: str) -> ReadableSpan:
        (span,) = [each for each in finished if each.kind is SpanKind.SERVER and each.name == name]
        return span

    create_api = server_span("POST /merchants/{merchant_id}/checkout-sessions")
    complete_api = server_span("POST /merchants/{merchant_id}/checkout-sessions/{session_id}/complete")
    checkout_trace = [span for span in finished if span.context.trace_id == create_api.context.trace_id]
    names = _names(checkout_trace)
    assert "RunWorkflow:CheckoutSession" in names and "HandleUpdate:create" in names, names
    assert "HandleUpdate:complete" in names, names

    # Both merchant calls -- the create's and the complete's -- sit in the session's trace, under the
    # workflow's start (the SDK parents workflow work on the start; later updates are linked, below).
    for merchant_suffix in ("/checkout-sessions", "/complete"):
        http_span = _client_span_to(checkout_trace, "POST", merchant_suffix)
        chain = _chain(http_span, by_id)
        assert _names(chain) == [
            "POST",
            "RunActivity:merchant_operation",
            "StartActivity:merchant_operation",
            "StartUpdateWithStartWorkflow:CheckoutSession",
            create_api.name,
        ], _names(chain)
        assert chain[-1] is create_api

        # The same span crossed the wire as traceparent, on a request the merchant accepted.
        (received,) = [
            headers
            for method, path, headers in merchant_log.seen
            if method == "POST" and path.endswith(merchant_suffix) and "traceparent" in headers
        ]
        assert _traceparent(received) == (create_api.context.trace_id, http_span.context.span_id)
        assert "traceparent" not in received["signature-input"]  # added, never covered (SIG-16..19)

    # Query strings are input we do not vouch for: no span records them (cf. the access log).
    listing = server_span("GET /checkout-sessions")
    assert all(QUERY_SECRET not in str(value) for span in finished for value in (span.attributes or {}).values())
    assert all("?" not in str(value) for value in (listing.attributes or {}).values())

    # The complete request is its own short trace: API span -> StartWorkflowUpdate, linked from HandleUpdate.
    (update_client,) = [
        span
        for span in finished
        if span.name == "StartWorkflowUpdate:complete"
        and span.parent is not None
        and span.parent.span_id == complete_api.context.span_id
    ]
    (handle_complete,) = [span for span in checkout_trace if span.name == "HandleUpdate:complete"]
    assert [link.context.span_id for link in handle_complete.links] == [update_client.context.span_id]


async def test_tracing_off_adds_no_header_and_no_interceptor(
    dev_server_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Off by default: no traceparent leaves the connector and the client gets no interceptor."""
    merchant_log = HeaderLog()
    assert tracer_provider() is None
    assert with_tracing(dev_server_env.client) is dev_server_env.client
    async with running_connector(dev_server_env, tmp_path, merchant_front=merchant_log.front) as stack:
        created = await stack.call(stack.alpha, "POST", BASE, ready_body())
        assert created.status_code == 201, created.text
    assert merchant_log.seen and not any("traceparent" in headers for _, _, headers in merchant_log.seen)


async def test_outbound_spans_do_not_record_query_strings(spans: InMemorySpanExporter) -> None:
    """A webhook URL may carry a token in its query; the client span keeps scheme, host and path only."""

    async def hook(request: Request) -> Response:
        return Response(status_code=204)

    hello = Starlette(routes=[Route("/hook", hook)])
    sock = bind_loopback()
    client = new_http_client()
    try:
        async with serve(hello, sock) as url:
            response = await client.get(f"{url}/hook?token={QUERY_SECRET}")
            assert response.status_code == 204
    finally:
        await client.aclose()
    (span,) = [span for span in spans.get_finished_spans() if span.kind is SpanKind.CLIENT]
    recorded = {key: str(value) for key, value in (span.attributes or {}).items()}
    assert recorded.get("http.url", recorded.get("url.full", "")).endswith("/hook"), recorded
    assert all(QUERY_SECRET not in value for value in recorded.values()), recorded
