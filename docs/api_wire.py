"""What went over the wire, and how docs/api.md shows it: the recording transport and the normalising.

Keys, ports, the merchant's ids and timestamps change from run to run, so the
page shows them as numbered placeholders (the same value, the same number),
while request bodies, their digests, the Idempotency-Keys and the connector's
session ids (derived from those keys) stay as they were sent. Used by
docs/generate_api_examples.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

REQUEST_HEADERS = ("content-type", "idempotency-key", "ucp-agent", "content-digest", "signature-input", "signature")
RESPONSE_HEADERS = ("content-type", "location", "retry-after", "content-digest", "signature-input", "signature")
REASONS = {200: "OK", 201: "Created", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
REASONS |= {409: "Conflict", 403: "Forbidden", 422: "Unprocessable Entity", 503: "Service Unavailable"}


@dataclass
class Exchange:
    method: str
    target: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """Sends each request on a real transport and keeps the exchange, bytes as they went."""

    exchanges: list[Exchange] = field(default_factory=list)
    inner: httpx.AsyncBaseTransport = field(default_factory=httpx.AsyncHTTPTransport)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        target = request.url.raw_path.decode("ascii")
        self.exchanges.append(
            Exchange(
                request.method,
                target,
                list(request.headers.items()),
                body,
                response.status_code,
                list(response.headers.items()),
                content,
            )
        )
        return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Placeholders:
    """Replaces what differs from run to run with numbered placeholders, in order of first appearance."""

    def __init__(self, fixed: dict[str, str]) -> None:
        self._fixed = fixed
        self._seen: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def name(self, kind: str, value: str) -> str:
        if value not in self._seen:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            self._seen[value] = f"<{kind}-{self._counts[kind]}>"
        return self._seen[value]

    def text(self, value: str) -> str:
        for raw, stable in self._fixed.items():
            value = value.replace(raw, stable)
        value = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?", "<timestamp>", value)
        value = re.sub(r"\b(?!0{64})[0-9a-f]{64}\b", lambda match: self.name("hash", match.group()), value)
        for kind, pattern in _GENERATED:
            value = pattern.sub(lambda match, kind=kind: self.name(kind, match.group()), value)
        return value


def _pretty(body: bytes, placeholders: Placeholders) -> str:
    if not body:
        return ""
    try:
        document = json.loads(body)
    except ValueError:
        return placeholders.text(body.decode("utf-8", errors="replace"))
    return placeholders.text(json.dumps(_stable(document, placeholders), indent=2, ensure_ascii=False))


_DYNAMIC_MEMBERS = {
    "x": "key-x",
    "y": "key-y",
    "next_cursor": "cursor",
    "cursor": "cursor",
    "response_digest": "response-digest",  # of a merchant answer, which holds generated ids
    "signed_by": "kid",  # the key id the merchant's answer was signed with (generated per run)
}
_STABLE_KIDS = frozenset({"alpha-2026", "beta-2026"})  # the platforms' registered keys (tests/e2e/conftest.py)
# Ids the reference merchant and the connector generate per run (merchant checkouts, orders, their tokens).
_GENERATED = (
    ("checkout", re.compile(r"\bchk_[0-9a-f]{8,}\b")),
    ("order", re.compile(r"\bord_[0-9a-f]{8,}\b")),
    ("token", re.compile(r"(?<=token=)[A-Za-z0-9_-]{16,}")),
    ("uuid", re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")),
)


def _stable(value: Any, placeholders: Placeholders, member: str | None = None) -> Any:
    """Members that are generated per run (key coordinates, merchant ids, cursors) become placeholders."""
    if isinstance(value, dict):
        return {name: _stable(item, placeholders, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_stable(item, placeholders, member) for item in value]
    if isinstance(value, str) and member in _DYNAMIC_MEMBERS:
        return placeholders.name(_DYNAMIC_MEMBERS[member], value)
    if isinstance(value, str) and member == "kid" and value not in _STABLE_KIDS:
        return placeholders.name("kid", value)
    return value


def _kid(kid: str, placeholders: Placeholders) -> str:
    return kid if kid in _STABLE_KIDS else placeholders.name("kid", kid)


def _header_value(name: str, value: str, placeholders: Placeholders, *, response: bool) -> str:
    if name == "signature":
        return re.sub(r":[A-Za-z0-9+/=]+:", ":<signature>:", value)
    if name == "signature-input":
        value = re.sub(r"created=\d+", "created=<created>", value)
        return re.sub(r'keyid="([^"]+)"', lambda match: f'keyid="{_kid(match.group(1), placeholders)}"', value)
    if name == "content-digest" and response:
        return "sha-256=:<digest of the body>:"
    return placeholders.text(value)


def render_exchange(exchange: Exchange, placeholders: Placeholders, *, same_body_as: Exchange | None = None) -> str:
    lines = [f"{exchange.method} {placeholders.text(exchange.target)} HTTP/1.1"]
    request = dict(exchange.request_headers)
    lines.append(f"host: {placeholders.text(request.get('host', ''))}")
    lines += [
        f"{name}: {_header_value(name, request[name], placeholders, response=False)}"
        for name in REQUEST_HEADERS
        if name in request
    ]
    body = _pretty(exchange.request_body, placeholders)
    lines += ["", body] if body else []
    lines += ["", f"HTTP/1.1 {exchange.status} {REASONS.get(exchange.status, '')}".rstrip()]
    response = dict(exchange.response_headers)
    lines += [
        f"{name}: {_header_value(name, response[name], placeholders, response=True)}"
        for name in RESPONSE_HEADERS
        if name in response
    ]
    if same_body_as is not None and same_body_as.response_body == exchange.response_body:
        lines += ["", f"(the same {len(exchange.response_body)} bytes as the first answer)"]
    else:
        body = _pretty(exchange.response_body, placeholders)
        lines += ["", body] if body else []
    return "\n".join(lines)
