"""Write docs/api.md from the code and from real, signed exchanges with a running connector.

    .venv/bin/python docs/generate_api_examples.py          # rewrite docs/api.md
    .venv/bin/python docs/generate_api_examples.py --check  # exit 1 if docs/api.md is stale

The route table comes from the app's own routes and OpenAPI document, the
error table from ``contracts/error_codes.json``; every example is an exchange
that really happened: the test stack of tests/e2e (API + worker + Temporal dev
server + reference merchant on loopback, ``tests.e2e.conftest.running_connector``)
is started, the platform ``alpha`` drives it with ``ucp_connector.client.PlatformClient``
(which signs every request and verifies every answer), and a recording
transport writes down what went over the wire. Keys are generated per run, so
what changes from run to run — signatures, ports, generated key ids, the
merchant's ids, timestamps, response digests — is replaced by stable
placeholders (docs/api_wire.py); request bodies, their digests and the
connector's session ids derive from fixed Idempotency-Keys and stay real.
``tests/docs/test_api_examples.py`` regenerates the page and fails if it differs.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from temporalio.testing import WorkflowEnvironment  # noqa: E402

from api.security import DEFAULT_MAX_BODY_BYTES  # noqa: E402
from contracts import SigningKey, sign_request  # noqa: E402
from contracts.idempotency import IDEMPOTENCY_KEY_PATTERN  # noqa: E402
from core.settings import Settings  # noqa: E402
from docs.api_tables import errors_table, routes_table  # noqa: E402 -- docs/ is a namespace package
from docs.api_wire import Exchange, Placeholders, Recorder, render_exchange  # noqa: E402
from docs.page_output import write_or_check  # noqa: E402
from tests.e2e.conftest import MERCHANT, Connector, running_connector  # noqa: E402
from tests.fixtures.bodies import payment_body, ready_body  # noqa: E402
from ucp_connector.client import NO_RETRIES, PlatformClient  # noqa: E402
from workflows.lifecycle import IDEMPOTENCY_WINDOW  # noqa: E402

PAGE = ROOT / "docs" / "api.md"
KEYS = {name: f"docs-example-{name}-0000000000" for name in ("create", "update", "complete", "other", "cancel")}


@dataclass
class Example:
    title: str
    text: str
    exchanges: list[Exchange]
    note: str = ""


async def _scenario(connector: Connector) -> list[Example]:
    recorder = Recorder()
    signer = connector.alpha.signer
    key = SigningKey(signer.private_key, kid=signer.kid)
    examples: list[Example] = []

    async def record(title: str, text: str, action: Callable[[], Awaitable[object]], note: str = "") -> None:
        start = len(recorder.exchanges)
        await action()
        examples.append(Example(title, text, recorder.exchanges[start:], note))

    async with PlatformClient(
        connector.url, key, profile_url=signer.profile_url, retry=NO_RETRIES, transport=recorder
    ) as alpha:
        base = f"/merchants/{MERCHANT}/checkout-sessions"

        async def call(method: str, path: str, body: Any = None, key_name: str | None = None) -> Any:
            content = None if body is None else json.dumps(body).encode()
            answer = await alpha.request(
                method, path, content, idempotency_key=KEYS.get(key_name or ""), retry=NO_RETRIES
            )
            return answer.json()

        await record(
            "Read the connector's profile (public)",
            "The only unsigned routes serve public data. The client reads the connector's signing keys here "
            "and verifies every later answer with them.",
            lambda: alpha.published_keys(),
        )
        await record(
            "Create a checkout session",
            "The session id is derived from the platform and its Idempotency-Key, so the same create always "
            "names the same session; `Location` names it.",
            lambda: call("POST", base, ready_body(), "create"),
        )
        session = json.loads(examples[-1].exchanges[-1].response_body)["id"]
        path = f"{base}/{session}"
        await record(
            "Replay the create (same key, same body)",
            "Answered from the first operation: the same status and body bytes, and no second call to the merchant.",
            lambda: call("POST", base, ready_body(), "create"),
            note="identical",
        )
        await record(
            "Reuse the key with another body",
            "The same Idempotency-Key with a different body is a client bug; nothing is executed.",
            lambda: call("POST", base, ready_body([("tshirt_red", 5)]), "create"),
        )
        await record("Read the session", "Answered from the workflow's durable state.", lambda: call("GET", path))
        await record(
            "Update the session (full replacement)",
            "PUT resends every writable field (CHK-15).",
            lambda: call("PUT", path, ready_body([("tshirt_red", 1)]), "update"),
        )
        await record(
            "Complete the session (place the order)",
            "The merchant-facing Idempotency-Key is derived from the workflow and the operation sequence, so a "
            "retry after a crash cannot place a second order.",
            lambda: call("POST", f"{path}/complete", payment_body(), "complete"),
        )
        completed = json.loads(examples[-1].exchanges[-1].response_body)
        order_id = completed["order"]["id"]
        await record(
            "Read the order",
            "Read live from the merchant through the session's workflow (signed, verified, audited).",
            lambda: call("GET", f"/merchants/{MERCHANT}/orders/{order_id}"),
        )
        await record(
            "Read the session's audit trail",
            "The first events of the session's hash chain (`hash = sha256(prev_hash || JCS(event))`, "
            "see data-model.md).",
            lambda: call("GET", f"/checkout-sessions/{session}/events?limit=4"),
        )
        await record(
            "Cancel another session",
            "A create with another key is another session; cancel is allowed from any non-terminal status.",
            lambda: _create_then_cancel(call, base),
        )
        await record(
            "List this platform's sessions",
            "Ordered by `(created_at, id)`; `next_cursor` is opaque and tamper-evident.",
            lambda: call("GET", "/checkout-sessions?limit=1"),
        )
        await record(
            "Another platform asks for the session",
            "Platform `beta` signs correctly, but the id names no session of *its*: 404, never 403, so existence "
            "does not leak.",
            lambda: _as_beta(connector, recorder, path),
        )

    async with httpx.AsyncClient(transport=recorder) as raw:
        url = connector.url
        await record(
            "An unsigned request",
            "Refused before anything else, GET included; the refusal is signed like every answer.",
            lambda: raw.get(f"{url}{path}"),
        )
        body = json.dumps(ready_body()).encode()
        await record(
            "A body changed after signing",
            "Content-Digest is checked over the raw bytes before the body is parsed.",
            lambda: _send_signed(raw, key, signer.profile_url, f"{url}{base}", body, body.replace(b"Jane", b"John")),
        )
        unknown = json.dumps({**ready_body(), "coupon": "FREE"}).encode()
        await record(
            "A member the request schema does not define",
            "Strict input: 400 `validation_failed` with a JSON pointer to the offending member.",
            lambda: _send_signed(raw, key, signer.profile_url, f"{url}{base}", unknown, unknown),
        )
        await record(
            "A mutation without an Idempotency-Key",
            "Every POST/PUT needs one.",
            lambda: _send_signed(raw, key, signer.profile_url, f"{url}{base}", body, body, idempotency_key=None),
        )
    return examples


async def _create_then_cancel(call: Callable[..., Awaitable[Any]], base: str) -> None:
    created = await call("POST", base, ready_body(), "other")
    await call("POST", f"{base}/{created['id']}/cancel", {}, "cancel")


async def _as_beta(connector: Connector, recorder: Recorder, path: str) -> None:
    signer = connector.beta.signer
    async with PlatformClient(
        connector.url,
        SigningKey(signer.private_key, kid=signer.kid),
        profile_url=signer.profile_url,
        connector_keys=connector.keys.jwks,  # read already in the first example
        retry=NO_RETRIES,
        transport=recorder,
    ) as beta:
        await beta.request("GET", path, retry=NO_RETRIES)


async def _send_signed(
    http: httpx.AsyncClient,
    key: SigningKey,
    profile_url: str | None,
    url: str,
    signed_body: bytes,
    sent_body: bytes,
    *,
    idempotency_key: str | None = "docs-example-raw-00000000000",
) -> None:
    headers = {"Content-Type": "application/json", "UCP-Agent": f'profile="{profile_url}"'}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    headers |= sign_request(method="POST", url=url, headers=list(headers.items()), body=signed_body, key=key)
    await http.post(url, content=sent_body, headers=headers)


# ---------------------------------------------------------------------------------------------- the page

INTRO = """# API

<!-- Generated by docs/generate_api_examples.py from the code and a real run; do not edit by hand.
     tests/docs/test_api_examples.py fails when this page is stale: run the script and commit. -->

The platform-facing API of the connector (UCP 2026-04-08, REST). The contract
is `contracts/openapi.json`; this page says what each route requires and does,
and shows real exchanges.

## Signatures

Every request is verified before anything else happens (`api/security.py::verify_platform_request`),
GET included, except the three public routes marked *none* below. A request
carries an RFC 9421 signature with label `sig1`, algorithm ES256 (raw `r||s`,
64 bytes, base64; ES384 is accepted too), by a key of the platform registry
(`[platforms.*]`), checked before the body is read. It must cover:

| component | when |
| --- | --- |
| `@method`, `@authority`, `@path` | always; `@authority` is the connector's `public_base_url` (another `Host`: 421) |
| `@query` | when the URL has a query |
| `ucp-agent` | always: required (else `400 invalid_profile_url`), naming the platform's registered profile |
| `idempotency-key` | on every POST and PUT |
| `content-digest`, `content-type` | with a body; RFC 9530 sha-256 of the exact bytes, checked first |

Bodies are limited to @BODY_KIB@ KiB (`413 payload_too_large`, refused while
streaming). `created` is optional and may not lie in the future; one signature per
message. Every answer — errors included — is signed by the connector over
`@status`, `content-digest` and `content-type` with a key published at
`/.well-known/ucp`; merchant webhooks are signed by the *merchant* with a key
of its profile.

## Idempotency

Every POST and PUT needs an `Idempotency-Key` matching `@KEY_PATTERN@`
(UUIDs qualify). The key names the operation: a create's key
determines the session id (`cs_` + base32 of sha256 of platform and key), any
other operation is the Workflow Update `{operation}:{key}` of that session.

* Same key, same body (compared as canonical JSON): the first answer again,
  same status and bytes, nothing executed twice — for @WINDOW_HOURS@ h after the session's
  last status change.
* Same key, another body: `409 idempotency_key_reused`, nothing executed.
* A session's workflow completes at its terminal status (decision 0001); a
  replay afterwards gets the same answers from its final state: the first
  answer for the same body, `409 idempotency_key_reused` for another, the
  transition refusal (`409 transition_invalid`) for a new key. A create key
  never starts a second session; one whose session closed before this build
  and whose window has passed is `409 idempotency_key_reused`
  (`detail.reason = session_closed`).
* The operation takes longer than `api_wait_seconds` (@WAIT@ s by default, on the
  API's own clock): a `complete` the session has accepted answers the session
  as `complete_in_progress`; anything else, a `complete` not yet accepted
  included, is `202 operation_pending` with `Retry-After`. Replaying the same
  request (same key) returns the result: it attaches to the running operation,
  or runs it again under the same outbound key when it never reached the
  session (a Temporal restart loses an update it had not accepted), so the
  merchant still executes it once.
* A `complete` lost that way after the merchant had placed the order: the
  merchant's order webhook completes the `ready_for_complete` session, and the
  platform's replay of that complete, whenever it comes, gets `200` with the
  completed checkout: the connector re-sends it to the merchant under the lost
  call's outbound key, and the merchant answers it from its idempotency cache
  (no second order). One complete claims the order this way; a complete with
  another body gets the completed session's `409 transition_invalid` (the
  merchant refuses its key with another body), and so does every complete
  after the claim. Rule: such a session stays open (Running) until the order
  is claimed or its @WINDOW_HOURS@ h window ends, then closes after the usual
  grace; a replay after the close is answered from its final state as above
  (`workflows/claims.py`).
* The workflow engine is unreachable: `503 service_unavailable` with
  `Retry-After`, nothing executed (fail closed).
* Merchant webhooks (`POST /webhooks/merchants/{merchant_id}`) carry no
  Idempotency-Key: the session's workflow deduplicates them by what the
  merchant signed (the body, not the unsigned `Webhook-Id`), takes each as a
  full snapshot of the order, and never lets an older snapshot replace a
  newer one.

## Routes
"""

ERRORS_INTRO = """
## Error codes

Every error answer is a JSON object `{"code", "content", "pointer"?, "detail"?}`
(`Retry-After` where a retry can help) with a code of this frozen list
(`contracts/error_codes.json`; codes are added, never renamed or removed).
"""

EXAMPLES_INTRO = """
## Examples

Exchanges with a running connector (the tests/e2e stack: API, worker,
Temporal dev server and the reference merchant on loopback), recorded on the
wire. The platform `alpha` signs with its registered key `alpha-2026`. What
differs from run to run is replaced: `<signature>`, `<created>`, generated key
ids (`<kid-N>`), key coordinates, the merchant's checkout and order ids and
tokens, uuids, cursors,
timestamps, hashes of the audit trail (`<hash-N>`, the same value has the same
number) and response digests. Request bodies and their `content-digest`, the
Idempotency-Keys and the connector's session ids are real. Bodies are shown
indented; on the wire they are compact JSON, and digests are of those bytes.
Only the headers that matter here are shown.
"""


def _intro() -> str:
    """The prose, with the figures read from the code so that a changed default changes the page."""
    figures = {
        "@KEY_PATTERN@": IDEMPOTENCY_KEY_PATTERN.pattern,
        "@WINDOW_HOURS@": f"{IDEMPOTENCY_WINDOW.total_seconds() / 3600:g}",
        "@WAIT@": f"{Settings.model_fields['api_wait_seconds'].default:g}",
        "@BODY_KIB@": f"{DEFAULT_MAX_BODY_BYTES // 1024}",
    }
    text = INTRO
    for token, value in figures.items():
        text = text.replace(token, value)
    return text


def render(examples: list[Example], fixed: dict[str, str]) -> str:
    placeholders = Placeholders(fixed)
    parts = [_intro(), routes_table(), ERRORS_INTRO, errors_table(), EXAMPLES_INTRO]
    for example in examples:
        parts.append(f"\n### {example.title}\n\n{example.text}\n")
        first = examples[1].exchanges[-1] if example.note == "identical" else None
        for exchange in example.exchanges:
            parts.append(f"```http\n{render_exchange(exchange, placeholders, same_body_as=first)}\n```\n")
        if first is not None:
            replay = example.exchanges[-1]
            same = (first.status, first.response_body) == (replay.status, replay.response_body)
            parts.append(f"Replay answered with the first answer's status and bytes: **{'yes' if same else 'NO'}**.\n")
    return "\n".join(parts).rstrip() + "\n"


async def generate(env: WorkflowEnvironment, workdir: Path) -> str:
    """Run the scenario against a fresh connector on ``env`` and return the page."""
    async with running_connector(env, workdir) as connector:
        examples = await _scenario(connector)
        merchant_url = str(connector.settings.merchants[MERCHANT].profile_url).removesuffix("/.well-known/ucp")
        webhook = connector.settings.platforms["alpha"].webhook_url
        fixed = {
            connector.url: "http://127.0.0.1:8000",
            connector.url.removeprefix("http://"): "127.0.0.1:8000",
            merchant_url: "http://127.0.0.1:8181",
        }
        if webhook:
            fixed[str(webhook).removesuffix("/inbox")] = "http://127.0.0.1:9000"
    return render(examples, fixed)


async def _main(check: bool) -> int:
    from ucp_connector.local_temporal import start_dev_server

    env = await start_dev_server()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            page = await generate(env, Path(workdir))
    finally:
        await env.shutdown()
    return write_or_check(PAGE, page, check=check)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main("--check" in sys.argv[1:])))
