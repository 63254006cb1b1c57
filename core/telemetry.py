"""OpenTelemetry tracing across API → Temporal → activity → merchant HTTP, off unless configured.

One trace per platform request: the API's server span (FastAPI
instrumentation) → the Temporal client span (``StartUpdateWithStartWorkflow``,
``StartWorkflowUpdate``, ``QueryWorkflow``, ...) → the workflow's
``RunWorkflow``/``HandleUpdate`` spans → ``StartActivity``/``RunActivity`` →
the outbound HTTP client span, whose W3C ``traceparent`` header carries the
trace to the merchant. Temporal carries the context in workflow/activity
headers (``temporalio.contrib.opentelemetry.TracingInterceptor``), so the
trace survives a worker crash and a retry on another worker.

Configuration (environment, read once by :func:`configure_tracing` at process start):

* ``UCP_OTEL_EXPORTER`` -- unset/``none``: tracing off (the default; every
  function below is then a no-op and nothing is instrumented); ``otlp``:
  OTLP/HTTP to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), batched; ``console``: spans as JSON
  on stderr (debugging).
* ``OTEL_SERVICE_NAME`` -- overrides the service name a process passes.

Signatures are unaffected: instrumentation only *adds* ``traceparent``/
``tracestate`` (never covered components, signatures.md) and never touches
the body or a covered header -- tests/observability checks that a traced
merchant call still verifies at the merchant. Span attributes carry method,
route template, status and host; no header values, no bodies, and no query
strings (hooks cut them from the recorded URLs, as the access log does: a
platform's query string, or a webhook URL's, is input we do not vouch for).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, Final

import httpx
import temporalio.client
import temporalio.worker
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span
from temporalio.contrib.opentelemetry import TracingInterceptor

EXPORTER_ENV: Final = "UCP_OTEL_EXPORTER"
EXPORTERS: Final = ("none", "otlp", "console")
TRACER_NAME: Final = "ucp_connector"
# Liveness probes would be one root span each, every few seconds, for nothing.
EXCLUDED_URLS: Final = "/healthz"


class TracingConfigError(ValueError):
    """``UCP_OTEL_EXPORTER`` names an exporter we do not know."""


_provider: TracerProvider | None = None


def configure_tracing(
    service_name: str, *, exporter: SpanExporter | None = None, install_global: bool = True
) -> TracerProvider | None:
    """Turn tracing on for this process as configured; ``None`` when it stays off.

    ``exporter`` overrides the environment and is attached synchronously (tests
    pass an in-memory exporter); ``install_global`` also makes the provider the
    OpenTelemetry global, for libraries that look it up themselves (a test
    leaves the global alone so that nothing outside its stack records spans).
    """
    global _provider
    if exporter is None:
        choice = (os.environ.get(EXPORTER_ENV) or "none").strip().lower()
        if choice not in EXPORTERS:
            raise TracingConfigError(f"{EXPORTER_ENV}={choice!r} is not one of {', '.join(EXPORTERS)}")
        if choice == "none":
            return None
        processor = (
            BatchSpanProcessor(_otlp_exporter())
            if choice == "otlp"
            else SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr))
        )
    else:
        processor = SimpleSpanProcessor(exporter)
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(processor)
    if _provider is not None:
        _provider.shutdown()
    _provider = provider
    if install_global:
        trace.set_tracer_provider(provider)
    return provider


def _otlp_exporter() -> SpanExporter:
    # Imported only when chosen: it pulls in protobuf and requests. Reads OTEL_EXPORTER_OTLP_* itself.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def tracer_provider() -> TracerProvider | None:
    return _provider


def shutdown_tracing() -> None:
    """Flush and stop (before the process exits, or at the end of a test); tracing is off afterwards."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def client_interceptors() -> list[temporalio.client.Interceptor]:
    """Interceptors for ``Client.connect``: client spans, and (as worker interceptors) workflow/activity spans."""
    if _provider is None:
        return []
    return [TracingInterceptor(_provider.get_tracer(TRACER_NAME))]


def worker_interceptors(client: temporalio.client.Client) -> list[temporalio.worker.Interceptor]:
    """Tracing for a worker whose client was connected without it (the SDK reuses a client's own)."""
    if _provider is None or any(isinstance(each, TracingInterceptor) for each in client.config()["interceptors"]):
        return []
    return [TracingInterceptor(_provider.get_tracer(TRACER_NAME))]


def with_tracing(client: temporalio.client.Client) -> temporalio.client.Client:
    """The same connection with the tracing interceptor added (for clients made elsewhere, e.g. in tests)."""
    interceptors = client_interceptors()
    if not interceptors:
        return client
    config = client.config()
    config["interceptors"] = [*config["interceptors"], *interceptors]
    return temporalio.client.Client(**config)


def _scrub_query(span: Span) -> None:
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    for key in ("http.url", "url.full"):
        value = attributes.get(key)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(key, value.split("?", 1)[0])
    if "url.query" in attributes:
        span.set_attribute("url.query", "")


def _server_hook(span: Span, scope: dict[str, Any]) -> None:
    _scrub_query(span)


async def _client_hook(span: Span, request: Any) -> None:
    _scrub_query(span)  # a platform's webhook_url may carry a token in its query


def instrument_app(app: FastAPI) -> FastAPI:
    """Server spans named by route template (``POST /merchants/{merchant_id}/checkout-sessions``)."""
    if _provider is not None:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=_provider,
            excluded_urls=EXCLUDED_URLS,
            exclude_spans=["receive", "send"],
            server_request_hook=_server_hook,
        )
    return app


def instrument_http_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Client spans for outbound calls, and ``traceparent`` on every request (propagation to the merchant)."""
    if _provider is not None:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_provider, request_hook=_client_hook)
    return client
