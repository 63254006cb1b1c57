"""Per-merchant policy in configuration: each choice accepted, each misconfiguration refused field by field at start.

Issue 15: secrets only in 0600 files; a bad configuration is reported when the
settings load (or, for release names, when the process builds its profile
cache at start), never at the first checkout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core.outbound_http import new_http_client
from core.settings import Settings
from merchants.profiles import ProfileCache
from merchants.releases import ADAPTERS
from merchants.releases.base import ReleaseAdapter

PROFILE = "https://shop.example/.well-known/ucp"


def _secret(tmp_path: Path, name: str, mode: int = 0o600, value: str = "s3cr3t") -> Path:
    path = tmp_path / name
    path.write_text(value)
    path.chmod(mode)
    return path


def _errors(**merchant: Any) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        Settings(merchants={"shop": {"profile_url": PROFILE, **merchant}})
    return [(".".join(str(part) for part in error["loc"]), error["msg"]) for error in caught.value.errors()]


def test_every_choice_is_accepted_when_well_formed(tmp_path: Path) -> None:
    secret = _secret(tmp_path, "secret")
    cert = tmp_path / "client.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    choices = [
        {"response_signatures": "when_present"},
        {"auth": {"type": "api_key", "key_file": secret}},
        {
            "auth": {
                "type": "oauth2_client_credentials",
                "token_url": "https://idp.example/token",
                "client_id": "c",
                "client_secret_file": secret,
                "scopes": ["ucp:checkout"],
            }
        },
        {"auth": {"type": "mtls", "client_cert_file": cert, "client_key_file": secret}},
        {"ucp_versions": ["2026-04-08"], "default_currency": "EUR", "allowed_origins": ["https://api.shop.example"]},
    ]
    for choice in choices:
        settings = Settings(merchants={"shop": {"profile_url": PROFILE, **choice}})
        assert settings.merchants["shop"].model_dump(exclude_unset=True).keys() >= choice.keys()


def test_a_secret_readable_by_others_is_refused_naming_the_field(tmp_path: Path) -> None:
    loose = _secret(tmp_path, "key", mode=0o644)
    [(where, message)] = _errors(auth={"type": "api_key", "key_file": loose})
    assert (
        where == "merchants.shop.auth.api_key.key_file" and "readable by others" in message and "chmod 600" in message
    )


def test_every_bad_field_is_reported_at_once(tmp_path: Path) -> None:
    """Field by field: a missing secret, a non-HTTPS token URL, an unknown policy value -- all in one report."""
    errors = _errors(
        response_signatures="sometimes",
        default_currency="usd",
        auth={
            "type": "oauth2_client_credentials",
            "token_url": "https://idp.example/token",
            "client_id": "c",
            "client_secret_file": tmp_path / "absent",
        },
    )
    where = {location for location, _ in errors}
    assert {
        "merchants.shop.response_signatures",
        "merchants.shop.default_currency",
        "merchants.shop.auth.oauth2_client_credentials.client_secret_file",
    } <= where


def test_a_plain_http_token_endpoint_is_refused_outside_loopback(tmp_path: Path) -> None:
    secret = _secret(tmp_path, "secret")
    auth = {
        "type": "oauth2_client_credentials",
        "token_url": "http://idp.example/token",
        "client_id": "c",
        "client_secret_file": secret,
    }
    [(where, message)] = _errors(auth=auth)
    assert where == "merchants.shop" and "auth.token_url" in message


def test_an_api_key_may_not_pose_as_a_protocol_header(tmp_path: Path) -> None:
    [(where, message)] = _errors(auth={"type": "api_key", "header": "Signature", "key_file": _secret(tmp_path, "k")})
    assert where == "merchants.shop.auth.api_key.header" and "protocol header" in message


async def test_an_unknown_release_is_refused_when_the_process_starts() -> None:
    settings = Settings(merchants={"shop": {"profile_url": PROFILE, "ucp_versions": ["2025-10-01"]}})
    http = new_http_client()
    try:
        with pytest.raises(ValueError, match=r"merchants\.shop\.ucp_versions: no adapter for 2025-10-01"):
            ProfileCache(http, settings.merchants)
    finally:
        await http.aclose()


async def test_when_present_is_refused_for_a_release_that_mandates_signed_responses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 15: "refused for releases that mandate signing" -- a release whose adapter says so (none of today's)."""
    assert not any(adapter.response_signatures_mandatory for adapter in ADAPTERS.values())
    mandatory = type("Signed", (type(ADAPTERS["2026-08-25"]),), {"response_signatures_mandatory": True})()
    assert isinstance(mandatory, ReleaseAdapter)
    monkeypatch.setitem(ADAPTERS, "2026-08-25", mandatory)
    settings = Settings(
        merchants={
            "shop": {"profile_url": PROFILE, "response_signatures": "when_present", "ucp_versions": ["2026-08-25"]}
        }
    )
    http = new_http_client()
    try:
        with pytest.raises(ValueError, match="'when_present' is refused for 2026-08-25"):
            ProfileCache(http, settings.merchants)
    finally:
        await http.aclose()
