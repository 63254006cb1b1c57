"""Abuse and slow clients at the connection layer (issue 12.1, 12.3, 12.13 malformed HTTP).

Before ``api.front_door`` uvicorn ran with its defaults: a connection that
never finished its headers, trickled its body or sat idle stayed open for
ever, malformed HTTP got an unsigned plain-text 400, and a client leaving
mid-body produced a 500 with a traceback. Each attack here is made over a raw
socket against the API under ``TIGHT`` limits; the control is a complete
request on the same kind of socket that is answered normally. TRN-08 (errors
are UCP-shaped), SIG-21 (responses signed).
"""

from __future__ import annotations

import asyncio
import json

import pytest
import structlog

from tests.api.conftest import MERCHANT, ApiUnderTest
from tests.fixtures.independent_signer import json_bytes, new_key
from tests.security.catalogue import attack, control
from tests.security.conftest import (
    TIGHT,
    assert_signed_raw,
    host_of,
    parse_raw,
    raw_connection,
    read_until_closed,
)

control("abuse_slow_clients")

CREATE = json_bytes({"line_items": [{"item": {"id": "sku_tee"}, "quantity": 1}]})


async def test_control_a_complete_request_on_a_raw_socket_is_answered(tight_api: ApiUnderTest) -> None:
    async with raw_connection(tight_api.url) as (reader, writer):
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {host_of(tight_api.url)}\r\nConnection: close\r\n\r\n".encode())
        response = parse_raw(await read_until_closed(reader))
    assert response.status == 200 and json.loads(response.body) == {"status": "ok"}


async def test_an_idle_connection_is_closed(tight_api: ApiUnderTest) -> None:
    """Opened, never used: closed after the header deadline, nothing answered (it asked nothing)."""
    async with raw_connection(tight_api.url) as (reader, _):
        assert await read_until_closed(reader) == b""


SLOW_HEADER = attack("abuse_slow_clients", "slow_headers_trickled", "request_timeout")


@pytest.mark.parametrize("code", [SLOW_HEADER])
async def test_headers_trickled_byte_by_byte_are_cut_at_the_deadline(tight_api: ApiUnderTest, code: str) -> None:
    """A byte every 100 ms kept uvicorn's keep-alive timer from ever firing; the header deadline does not reset."""
    async with raw_connection(tight_api.url) as (reader, writer):
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {host_of(tight_api.url)}\r\n".encode())

        async def trickle() -> None:
            for index in range(200):
                writer.write(f"X-Slow-{index}: 1\r\n".encode())
                await asyncio.sleep(0.1)

        trickling = asyncio.create_task(trickle())
        try:
            data = await read_until_closed(reader)
        finally:
            trickling.cancel()
    response = parse_raw(data)
    assert response.status == 408 and json.loads(response.body)["code"] == code
    assert_signed_raw(response, tight_api.connector_keys)


@pytest.mark.parametrize(
    ("declared", "code"),
    [
        attack("abuse_slow_clients", "slow_body_signed", "request_timeout", 400),
        attack("abuse_slow_clients", "body_never_sent_signed", "request_timeout", 0),
    ],
)
async def test_a_body_that_does_not_arrive_in_time_is_refused(
    tight_api: ApiUnderTest, declared: int, code: str
) -> None:
    """A signed request (it passes the header screen) whose body stops: 408 at the body deadline, then closed."""
    url = tight_api.url + f"/merchants/{MERCHANT}/checkout-sessions"
    signed = tight_api.alpha.sign("POST", url, body=CREATE, idempotency_key=new_key())
    head = [f"POST /merchants/{MERCHANT}/checkout-sessions HTTP/1.1", f"Host: {host_of(tight_api.url)}"]
    head += [f"{name}: {value}" for name, value in signed.items()]
    head.append(f"Content-Length: {len(CREATE)}")
    async with raw_connection(tight_api.url) as (reader, writer):
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + CREATE[: min(declared, len(CREATE) - 1)])
        response = parse_raw(await read_until_closed(reader))
    assert response.status == 408 and json.loads(response.body)["code"] == code
    assert_signed_raw(response, tight_api.connector_keys)


UNSIGNED_BODY = attack("abuse_slow_clients", "unsigned_body_not_awaited", "signature_missing")


@pytest.mark.parametrize("code", [UNSIGNED_BODY])
async def test_an_unsigned_request_is_refused_before_its_body_is_read(tight_api: ApiUnderTest, code: str) -> None:
    """Nothing is authenticated, so nothing is waited for: the 401 comes with the body still unsent."""
    async with raw_connection(tight_api.url) as (reader, writer):
        writer.write(
            (
                f"POST /merchants/{MERCHANT}/checkout-sessions HTTP/1.1\r\nHost: {host_of(tight_api.url)}\r\n"
                "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
            ).encode()
        )
        status_line = await asyncio.wait_for(reader.readline(), 10)
        rest = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        response = parse_raw(status_line + rest + await reader.read(2000))
    assert response.status == 401 and json.loads(response.body)["code"] == code


UNKNOWN_KID = attack("abuse_slow_clients", "unknown_kid_body_not_awaited", "key_not_found")


@pytest.mark.parametrize("code", [UNKNOWN_KID])
async def test_an_unknown_key_is_refused_before_the_body_is_read(tight_api: ApiUnderTest, code: str) -> None:
    url = tight_api.url + f"/merchants/{MERCHANT}/checkout-sessions"
    signed = tight_api.alpha.sign("POST", url, body=CREATE, idempotency_key=new_key())
    signed["Signature-Input"] = signed["Signature-Input"].replace(tight_api.alpha.kid, "nobody-key")
    head = [f"POST /merchants/{MERCHANT}/checkout-sessions HTTP/1.1", f"Host: {host_of(tight_api.url)}"]
    head += [f"{name}: {value}" for name, value in signed.items()] + ["Content-Length: 4000"]
    async with raw_connection(tight_api.url) as (reader, writer):
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        status_line = await asyncio.wait_for(reader.readline(), 10)
        rest = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        response = parse_raw(status_line + rest + await reader.read(2000))
    assert response.status == 401 and json.loads(response.body)["code"] == code


KEEP_ALIVE = attack("abuse_slow_clients", "keep_alive_held_idle", None)


@pytest.mark.parametrize("code", [KEEP_ALIVE])
async def test_a_kept_alive_connection_left_idle_is_closed(tight_api: ApiUnderTest, code: None) -> None:
    async with raw_connection(tight_api.url) as (reader, writer):
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {host_of(tight_api.url)}\r\n\r\n".encode())
        data = await read_until_closed(reader)
    assert parse_raw(data).status == 200 and data.count(b"HTTP/1.1") == 1


FLOOD = attack("abuse_slow_clients", "connection_flood", "service_unavailable")


@pytest.mark.parametrize("code", [FLOOD])
async def test_connections_past_the_cap_are_refused_at_once(tight_api: ApiUnderTest, code: str) -> None:
    """1,500 idle connections took the API to 1,534 descriptors; past the cap a connection is answered and closed."""
    held = [await asyncio.open_connection("127.0.0.1", int(host_of(tight_api.url).split(":")[1])) for _ in range(6)]
    try:
        async with raw_connection(tight_api.url) as (reader, _):
            response = parse_raw(await read_until_closed(reader))
        assert response.status == 503 and json.loads(response.body)["code"] == code
        assert response.header("retry-after") == "1"
        assert_signed_raw(response, tight_api.connector_keys)
    finally:
        for _, writer in held:
            writer.close()
    assert TIGHT.max_connections == len(held)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        attack("error_bodies", "malformed_request_line", "validation_failed", b"GARBAGE\r\n\r\n"),
        attack("error_bodies", "invalid_header_name", "validation_failed", b"GET / HTTP/1.1\r\nHo st: x\r\n\r\n"),
        attack("error_bodies", "missing_host_http11", "validation_failed", b"GET /healthz HTTP/1.1\r\n\r\n"),
    ],
)
async def test_malformed_http_gets_the_frozen_error_shape_signed(
    tight_api: ApiUnderTest, raw: bytes, code: str
) -> None:
    async with raw_connection(tight_api.url) as (reader, writer):
        writer.write(raw)
        response = parse_raw(await read_until_closed(reader))
    assert response.status == 400 and response.header("content-type") == "application/json"
    assert json.loads(response.body) == {
        "code": code,
        "content": "the request is not valid HTTP/1.1",
        "detail": {"reason": "malformed_http"},
    }
    assert_signed_raw(response, tight_api.connector_keys)


DISCONNECT = attack("abuse_slow_clients", "disconnect_mid_body", None)


@pytest.mark.parametrize("code", [DISCONNECT])
async def test_a_client_that_leaves_mid_body_is_no_500_and_no_traceback(api: ApiUnderTest, code: None) -> None:
    """Issue 12.3: ClientDisconnect reached the catch-all handler (a 500 and a traceback per request)."""
    url = api.url + f"/merchants/{MERCHANT}/checkout-sessions"
    signed = api.alpha.sign("POST", url, body=CREATE, idempotency_key=new_key())
    head = [f"POST /merchants/{MERCHANT}/checkout-sessions HTTP/1.1", f"Host: {host_of(api.url)}"]
    head += [f"{name}: {value}" for name, value in signed.items()] + [f"Content-Length: {len(CREATE)}"]
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            async with raw_connection(api.url) as (_, writer):
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + CREATE[:10])
                await writer.drain()
        for _ in range(200):
            if sum(entry["event"] == "client_disconnected" for entry in logs) == 3:
                break
            await asyncio.sleep(0.02)
    events = [entry["event"] for entry in logs]
    assert events.count("client_disconnected") == 3, events
    assert "unhandled error" not in events
    assert not any(entry.get("status") == 500 for entry in logs)
