"""``/readyz`` says what is down; ``/healthz`` stays liveness (issue 12.13).

``/healthz`` answered 200 while Temporal was down, so an orchestrator kept
routing checkouts to an API that could only answer 503. Readiness checks the
Temporal frontend and the audit database and names each; it is public and
unsigned like liveness, and reveals no address or error text. TRN-08 (the 503
is the frozen error shape, signed).
"""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import ApiUnderTest
from tests.api.gateway_double import ScriptedGateway


async def test_ready_when_temporal_and_the_database_answer(api: ApiUnderTest, scripted: ScriptedGateway) -> None:
    scripted.script("ping", None)
    response = await api.http.get(api.url + "/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"temporal": "ok", "database": "ok"}}
    api.assert_signed(response)


async def test_temporal_down_is_named_while_liveness_stays_200(api_on_dead_temporal: ApiUnderTest) -> None:
    api = api_on_dead_temporal
    response = await api.http.get(api.url + "/readyz")
    assert response.status_code == 503 and response.json()["code"] == "service_unavailable"
    assert response.json()["detail"] == {"temporal": "down", "database": "ok"}
    assert int(response.headers["Retry-After"]) >= 1
    api.assert_signed(response)
    assert (await api.http.get(api.url + "/healthz")).status_code == 200


async def test_the_database_down_is_named(api: ApiUnderTest, scripted: ScriptedGateway, tmp_path: Path) -> None:
    scripted.script("ping", None)
    await api.repository.close()
    (tmp_path / "connector.db").unlink()
    (tmp_path / "connector.db").mkdir()  # the file is gone and cannot come back: the store is unusable
    response = await api.http.get(api.url + "/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == {"temporal": "ok", "database": "down"}
