"""No redirects, and no request for another authority reaches a route (issue 12.2).

``curl -H 'Host: evil.example' .../checkout-sessions/`` used to get a 307 to
``http://evil.example/checkout-sessions`` signed with the connector's key: the
router's trailing-slash redirect ran before verification. SIG-16 (the
connector serves, and verifies ``@authority`` for, its public authority only);
SIG-21 (the refusal is signed).
"""

from __future__ import annotations

import pytest

from tests.api.conftest import MERCHANT, ApiUnderTest
from tests.security.catalogue import attack, control

control("error_bodies")


async def test_control_the_public_authority_is_served(api: ApiUnderTest) -> None:
    response = await api.send("GET", "/checkout-sessions", signer=api.alpha)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "host", "code"),
    [
        attack(
            "error_bodies", "trailing_slash_other_host", "misdirected_request", "/checkout-sessions/", "evil.example"
        ),
        attack("error_bodies", "other_host_signed_route", "misdirected_request", "/checkout-sessions", "evil.example"),
        attack("error_bodies", "other_port_same_host", "misdirected_request", "/.well-known/ucp", "127.0.0.1:1"),
        attack(
            "error_bodies",
            "other_host_merchant_route",
            "misdirected_request",
            f"/merchants/{MERCHANT}/checkout-sessions/",
            "internal.example:8000",
        ),
    ],
)
async def test_another_host_is_refused_before_routing_and_nothing_redirects(
    api: ApiUnderTest, path: str, host: str, code: str
) -> None:
    response = await api.http.get(api.url + path, headers={"Host": host}, follow_redirects=False)
    assert response.status_code == 421 and response.json()["code"] == code
    assert "location" not in response.headers
    assert response.json()["detail"]["request_authority"] == host
    api.assert_signed(response)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        attack("error_bodies", "trailing_slash_no_redirect", "not_found", "/checkout-sessions/"),
        attack(
            "error_bodies", "trailing_slash_merchant_route", "not_found", f"/merchants/{MERCHANT}/checkout-sessions/"
        ),
    ],
)
async def test_a_trailing_slash_is_not_found_never_redirected(api: ApiUnderTest, path: str, code: str) -> None:
    response = await api.send("GET", path, signer=api.alpha)
    assert response.status_code == 404 and response.json()["code"] == code, response.text
    assert "location" not in response.headers
    response = await api.http.get(api.url + path, follow_redirects=False)
    assert response.status_code == 404 and "location" not in response.headers
    api.assert_signed(response)


async def test_probes_answer_whatever_the_host(api: ApiUnderTest) -> None:
    """Orchestrators probe by pod address; liveness reveals nothing, so it is exempt."""
    response = await api.http.get(api.url + "/healthz", headers={"Host": "10.0.0.7:8000"})
    assert response.status_code == 200
