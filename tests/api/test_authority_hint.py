"""A signature made for another spelling of the connector's host says which authority it expected (issue 16.6).

Signing for ``localhost`` while the connector's ``public_base_url`` says
``127.0.0.1`` used to get only "signature verification failed". SIG-16 (the
covered ``@authority``); the API rebuilds it from its configured origin, never
from ``Host``, and now names both. A request *sent* to the other spelling is
refused before routing (``421 misdirected_request``, issue 12.2) with the same
two names. Signed by the independent signer.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.api.conftest import ApiUnderTest


async def test_signing_for_localhost_names_the_authority_the_connector_expects(api: ApiUnderTest) -> None:
    expected = urlsplit(api.url).netloc  # 127.0.0.1:PORT, the configured public_base_url
    port = urlsplit(api.url).port
    signed_for = f"http://localhost:{port}/checkout-sessions"
    headers = {**api.alpha.sign("GET", signed_for), "Host": f"localhost:{port}"}
    response = await api.http.get(api.url + "/checkout-sessions", headers=headers)
    assert response.status_code == 421, response.text
    body = response.json()
    assert body["code"] == "misdirected_request"
    assert body["detail"]["expected_authority"] == expected
    assert body["detail"]["request_authority"] == f"localhost:{port}"
    assert expected in body["content"]
    api.assert_signed(response)


async def test_a_bad_signature_for_the_right_host_still_names_the_expected_authority(api: ApiUnderTest) -> None:
    signed_for = api.url.replace("127.0.0.1", "merchant.example") + "/checkout-sessions"
    response = await api.http.get(api.url + "/checkout-sessions", headers=api.alpha.sign("GET", signed_for))
    body = response.json()
    assert response.status_code == 401 and body["detail"]["expected_authority"] == urlsplit(api.url).netloc
    assert "request_authority" not in body["detail"], "the request did reach the expected host"
