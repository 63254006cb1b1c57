"""What an operator sees of a checkout on the ``dev`` stack, read the way the Temporal UI reads it (issue 16).

``dev`` runs as a real subprocess; the README's platform-client example drives a
checkout through it, exactly as printed there. Then, through the Temporal UI
server's HTTP API (what the browser calls): the workflow's summary is readable
text; the UI is configured with the codec server ``dev`` started; the create
update's input, decoded by that codec server for the UI's origin, is redacted
(no credential, no token, the buyer's e-mail as the audit log's salted hash)
and the decode is audited; a foreign ``Origin`` is refused. A second codec
server over the same keys with OIDC authentication (a real issuer on loopback)
answers 401 without credentials and decodes for a signed-in operator.
The finished session reads as closed there: its workflow's status is
``WORKFLOW_EXECUTION_STATUS_COMPLETED`` (issue 16.2, decision 0001).
Covers DESIGN invariant 6 and the issue's "Done means".
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from contracts import Redactor
from core.keyfiles import load_secret
from tests.fixtures.dev_stack import CLI, DevStack
from tests.fixtures.http import free_ports
from tests.fixtures.oidc_issuer import AUDIENCE, loopback_issuer
from ucp_connector.dev_layout import DevLayout

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = re.compile(r"<!-- example: platform-client -->\n```python\n(.*?)```", re.DOTALL)


def _run_readme_example(stack: DevStack) -> tuple[str, str]:
    """The README's example, unchanged but for the API port of this stack; run where `.ucp` is."""
    match = EXAMPLE.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert match, "README lost its platform-client example"
    source = match.group(1).replace("http://127.0.0.1:8000", f"http://127.0.0.1:{stack.api}")
    script = stack.state_dir.parent / "example.py"
    script.write_text(source, encoding="utf-8")
    result = subprocess.run(
        [*CLI[:1], str(script)], capture_output=True, text=True, timeout=180, check=False, cwd=stack.state_dir.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr
    first, second = result.stdout.split("\n")[:2]
    session_id, status = first.split()
    assert status == "ready_for_complete" and second.startswith("completed ord_"), result.stdout
    return session_id, f"checkout/demo/{session_id}"


def _ui_api(stack: DevStack, path: str) -> Any:
    response = httpx.get(f"http://127.0.0.1:{stack.ui}/api/v1{path}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _text(payload: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(payload["data"]))


def _update_input(history: dict[str, Any], operation: str) -> dict[str, Any]:
    """An update's argument (``create``, ``complete``), as it sits in the history: encrypted."""
    for event in history["history"]["events"]:
        accepted = event.get("workflowExecutionUpdateAcceptedEventAttributes")
        if accepted and accepted["acceptedRequest"]["meta"]["updateId"].startswith(f"{operation}:"):
            return dict(accepted["acceptedRequest"]["input"]["args"])
    raise AssertionError(f"no {operation} update in the history")


async def test_the_temporal_ui_shows_summaries_and_redacted_inputs_to_authenticated_operators(
    dev_stack: DevStack,
) -> None:
    dev_stack.start()
    session_id, workflow_id = _run_readme_example(dev_stack)
    ui_origin = f"http://127.0.0.1:{dev_stack.ui}"
    codec = f"http://127.0.0.1:{dev_stack.codec}"

    settings = _ui_api(dev_stack, "/settings")
    assert settings["Codec"]["Endpoint"] == codec, settings["Codec"]

    described = _ui_api(dev_stack, f"/namespaces/default/workflows/{quote(workflow_id, safe='')}")
    summary = _text(described["executionConfig"]["userMetadata"]["summary"])
    assert summary == f"Checkout {session_id} at reference for demo", summary
    closed = await _closed_in_the_ui(dev_stack, workflow_id)
    assert closed["workflowExecutionInfo"]["closeTime"], closed["workflowExecutionInfo"]

    history = _ui_api(dev_stack, f"/namespaces/default/workflows/{quote(workflow_id, safe='')}/history")
    # A merchant call is a local activity (issue 13): its summary stands on its marker.
    activity_summaries = [
        _text(event["userMetadata"]["summary"])
        for event in history["history"]["events"]
        if ("activityTaskScheduledEventAttributes" in event or "markerRecordedEventAttributes" in event)
        and "summary" in event.get("userMetadata", {})
    ]
    assert "create_checkout at reference" in activity_summaries, activity_summaries
    encrypted = _update_input(history, "create")
    payment = _update_input(history, "complete")
    assert base64.b64decode(encrypted["payloads"][0]["metadata"]["encoding"]) == b"binary/encrypted"
    assert b"jane@example.com" not in base64.b64decode(encrypted["payloads"][0]["data"])

    async with httpx.AsyncClient(timeout=30) as http:
        headers = {"X-Namespace": "default"}
        decoded = await http.post(f"{codec}/decode", json=encrypted, headers={**headers, "Origin": ui_origin})
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["access-control-allow-origin"] == ui_origin
        [shown] = [_text(payload) for payload in decoded.json()["payloads"]]
        salt = load_secret(DevLayout(dev_stack.state_dir).settings().redaction_salt_file)
        assert shown["body"]["buyer"]["email"] == Redactor(salt).hash_email("jane@example.com")
        assert "jane@example.com" not in decoded.text and shown["body"]["line_items"], shown
        card = await http.post(f"{codec}/decode", json=payment, headers={**headers, "Origin": ui_origin})
        [instrument] = _text(card.json()["payloads"][0])["body"]["payment"]["instruments"]
        assert instrument["credential"] == {"type": "token", "redacted": True} and "tok_demo" not in card.text
        foreign = await http.post(
            f"{codec}/decode", json=encrypted, headers={**headers, "Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403

        codec_log = DevLayout(dev_stack.state_dir).logs_dir / "codec-server.log"
        audited = [json.loads(line) for line in codec_log.read_text().splitlines() if '"codec.decode"' in line]
        assert any(line["workflow_ids"] == [workflow_id] and line["operator"] == "local-user" for line in audited)

        await _an_authenticating_codec_server_refuses_anonymous_operators(dev_stack, http, encrypted, ui_origin)


async def _closed_in_the_ui(stack: DevStack, workflow_id: str) -> dict[str, Any]:
    """Issue 16.2, decision 0001: the finished session's workflow reads as COMPLETED where the UI reads status.

    Polled (a bounded wait, not a timing assertion): the workflow completes once its outbox is drained.
    """
    path = f"/namespaces/default/workflows/{quote(workflow_id, safe='')}"
    deadline = time.monotonic() + 60
    while True:
        described: dict[str, Any] = _ui_api(stack, path)
        status = described["workflowExecutionInfo"]["status"]
        if status == "WORKFLOW_EXECUTION_STATUS_COMPLETED":
            return described
        assert status == "WORKFLOW_EXECUTION_STATUS_RUNNING" and time.monotonic() < deadline, status
        await asyncio.sleep(0.2)


async def _an_authenticating_codec_server_refuses_anonymous_operators(
    stack: DevStack, http: httpx.AsyncClient, encrypted: dict[str, Any], ui_origin: str
) -> None:
    """The same keys behind OIDC: 401 without a token, redacted answers for a signed-in operator."""
    [port] = free_ports(1)
    log = stack.state_dir.parent / "codec-oidc.log"
    async with loopback_issuer() as issuer:
        env = {
            **os.environ,
            "UCP_CONFIG": str(DevLayout(stack.state_dir).config_file),
            "UCP_LOG_FORMAT": "json",
            "UCP_CODEC_SERVER__PORT": str(port),
            "UCP_CODEC_SERVER__AUTH": "oidc",
            "UCP_CODEC_SERVER__OIDC__ISSUER": issuer.url,
            "UCP_CODEC_SERVER__OIDC__AUDIENCE": AUDIENCE,
            "UCP_CODEC_SERVER__OIDC__ALLOW_INSECURE_LOOPBACK": "true",
        }
        with log.open("wb") as out:
            server = await asyncio.create_subprocess_exec(*CLI, "codec-server", stdout=out, stderr=out, env=env)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                assert server.returncode is None, log.read_text()
                try:
                    if (await http.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, log.read_text()
                    await asyncio.sleep(0.2)
            headers = {"X-Namespace": "default", "Origin": ui_origin}
            anonymous = await http.post(f"{url}/decode", json=encrypted, headers=headers)
            assert anonymous.status_code == 401 and "payloads" not in anonymous.json()
            token = {"Authorization": f"Bearer {issuer.token(sub='oncall-1')}"}
            signed_in = await http.post(f"{url}/decode", json=encrypted, headers={**headers, **token})
            assert signed_in.status_code == 200 and "jane@example.com" not in signed_in.text
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), 30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("event") == "codec.refused" for line in lines)
    assert any(line.get("event") == "codec.decode" and line.get("operator") == "oncall-1" for line in lines)
