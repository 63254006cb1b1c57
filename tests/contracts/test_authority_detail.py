"""``verify_request`` names the ``@authority`` it verified against when a signature fails (issue 16.6, SIG-16)."""

from __future__ import annotations

import pytest

from contracts import KeyStore, SignatureError, SigningKey, sign_request, verify_request


@pytest.mark.parametrize(
    ("signed_url", "verified_url", "host", "expected"),
    [
        ("http://localhost:8000/x", "http://127.0.0.1:8000/x", "localhost:8000", "127.0.0.1:8000"),
        ("https://Shop.Example:443/x", "https://api.example/x", "shop.example", "api.example"),
        ("http://[::1]:8000/x", "http://127.0.0.1:80/x", "[::1]:8000", "127.0.0.1"),
    ],
)
def test_the_failure_names_the_expected_and_the_addressed_authority(
    signed_url: str, verified_url: str, host: str, expected: str
) -> None:
    keys = KeyStore(SigningKey.generate())
    signed = sign_request(method="GET", url=signed_url, headers=[], body=None, key=keys.active)
    headers = [("Host", host), *signed.items()]
    with pytest.raises(SignatureError) as failure:
        verify_request(method="GET", url=verified_url, headers=headers, body=None, keys=keys.jwks)
    detail = failure.value.detail or {}
    assert detail["reason"] == "verification_failed" and detail["expected_authority"] == expected
    assert detail["request_authority"] == host and expected in failure.value.content


def test_a_host_that_only_differs_by_case_or_default_port_is_not_reported_as_another_authority() -> None:
    keys = KeyStore(SigningKey.generate())
    signed = sign_request(method="GET", url="https://api.example/y", headers=[], body=None, key=keys.active)
    headers = [("Host", "API.example:443"), *signed.items()]
    with pytest.raises(SignatureError) as failure:
        verify_request(method="GET", url="https://api.example/x", headers=headers, body=None, keys=keys.jwks)
    assert "request_authority" not in (failure.value.detail or {})
