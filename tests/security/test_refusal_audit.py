"""Refusals in the audit trail: aggregated under a flood, kept while the store is down (issue 12.4, 12.10).

Issue 12.4: a rate-limited platform's 400-request flood wrote 390 audit rows in
2.9 s — every 429 was a database write. Now a throttled platform's refusals
are sampled (about one row a second) and counted (``suppressed_before``), and
the count still pending is written at shutdown: the trail accounts for every
429 in a handful of rows.

Issue 12.10: during a 25 s audit-store lock, invalid bodies and bad
signatures each took 10 s to answer (the SQLite busy timeout) and none was
stored. Now a refusal goes to a local append-only spool and is answered at
once; the spool reaches the store when it is back. DESIGN invariant 7
(accepted *and rejected* requests are audited); TRN-10.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from contracts import SigningKey
from tests.api.conftest import MERCHANT, ApiUnderTest, running_api
from tests.api.gateway_double import ScriptedGateway
from tests.fixtures.independent_signer import IndependentSigner
from tests.security.catalogue import attack, control

control("abuse_slow_clients")


FLOODER = IndependentSigner(ec.generate_private_key(ec.SECP256R1()), kid="flood-key-1")


@pytest.fixture
async def flood_api(tmp_path: Path) -> AsyncIterator[ApiUnderTest]:
    """A platform ``flood`` throttled hard: a burst of 2 at one request every 10 s."""
    jwks = {"keys": [SigningKey(FLOODER.private_key, kid=FLOODER.kid).public_jwk.to_dict()]}
    flood = {"jwks": jwks, "rate_limit": {"requests_per_second": 0.1, "burst": 2}}
    async with running_api(
        tmp_path, gateway=None, scripted=ScriptedGateway(), extra_platforms={"flood": flood}
    ) as running:
        yield running


async def _chain(api: ApiUnderTest, platform_id: str) -> list[dict[str, object]]:
    await api.services.rejections.spool.drained()
    page = await api.repository.list_session_events(f"api:{platform_id}", platform_id, limit=200)
    return [{"action": event.action, "code": event.error_code, **event.payload} for event in page.items]


FLOOD = attack("abuse_slow_clients", "rate_limited_flood_audit_rows", "rate_limited")


@pytest.mark.parametrize("code", [FLOOD])
async def test_a_throttled_platforms_flood_is_counted_not_written_row_by_row(
    flood_api: ApiUnderTest, code: str
) -> None:
    api = flood_api
    limited = 0
    for _ in range(12):
        wave = await asyncio.gather(*(api.send("GET", "/checkout-sessions", signer=FLOODER) for _ in range(10)))
        limited += sum(response.status_code == 429 for response in wave)
        assert all(response.json()["code"] == code for response in wave if response.status_code == 429)
    assert limited >= 40, "the flood was throttled"
    await api.services.rejections.close()  # what is still only counted is written now
    rows = [row for row in await _chain(api, "flood") if row["code"] == code]
    assert len(rows) <= 12, f"{len(rows)} rows for {limited} refusals"
    sampled = sum(row["action"] != "rate_limited summary" for row in rows)
    accounted = sampled + sum(int(str(row.get("suppressed_before", 0))) for row in rows)
    assert accounted == limited


def _lock(database: Path) -> sqlite3.Connection:
    """Hold the SQLite store's write lock, as an operator's long transaction or a stuck writer would."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=1)
    connection.execute("BEGIN EXCLUSIVE")
    return connection


STORE_DOWN = [
    attack("error_bodies", "unsigned_while_store_locked", "signature_missing", None),
    attack("error_bodies", "invalid_body_while_store_locked", "malformed_json", b"{not json"),
]


@pytest.mark.parametrize(("body", "code"), STORE_DOWN)
async def test_refusals_are_answered_and_kept_while_the_audit_store_is_locked(
    api: ApiUnderTest, tmp_path: Path, body: bytes | None, code: str
) -> None:
    url = f"/merchants/{MERCHANT}/checkout-sessions"
    signer = None if body is None else api.alpha
    lock = _lock(tmp_path / "connector.db")
    try:
        answers = await asyncio.wait_for(
            asyncio.gather(
                *(
                    api.send("POST", url, signer=signer, body=body or b"{}", idempotency_key=f"key-{i:04d}-abcdefgh")
                    for i in range(5)
                )
            ),
            timeout=8,  # the store's busy timeout is 10 s: answers that waited on it could not make it
        )
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert [response.json()["code"] for response in answers] == [code] * 5
    platform = "unauthenticated" if signer is None else "alpha"
    rows = [row for row in await _chain(api, platform) if row["code"] == code]
    assert len(rows) == 5, rows
