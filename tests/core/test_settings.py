"""Settings and the platform/merchant registries: clear validation, safe URLs, policy resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts import SigningKey
from core.settings import MerchantSettings, PlatformSettings, Settings, SpendPolicy

JWKS = {"keys": [SigningKey.generate().public_jwk.to_dict()]}


def _settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str) -> Settings:
    config = tmp_path / "ucp-connector.toml"
    config.write_text(toml)
    monkeypatch.setenv("UCP_CONFIG", str(config))
    return Settings()


def test_toml_registry_and_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jwks_file = tmp_path / "p.jwks.json"
    jwks_file.write_text(__import__("json").dumps(JWKS))
    monkeypatch.setenv("UCP_TEMPORAL__ADDRESS", "temporal.internal:7233")
    settings = _settings(
        tmp_path,
        monkeypatch,
        f"""
        public_base_url = "https://connector.example"
        [platforms.acme-agent]
        jwks_file = "{jwks_file}"
        allowed_merchants = ["shoes"]
        [platforms.acme-agent.policy]
        allowed_currencies = ["USD"]
        max_total = 50000
        [platforms.acme-agent.policy.merchants.shoes]
        max_total = 20000
        [merchants.shoes]
        profile_url = "https://shoes.example/.well-known/ucp"
        """,
    )
    assert settings.temporal.address == "temporal.internal:7233"
    platform = settings.platforms["acme-agent"]
    assert platform.load_keys().keys[0].kid == JWKS["keys"][0]["kid"]
    effective = platform.policy.for_merchant("shoes")
    assert effective.max_total == 20000 and effective.allowed_currencies == ["USD"]
    assert platform.policy.for_merchant("other").max_total == 50000


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[merchants.m]\nprofile_url = "http://m.example/.well-known/ucp"', "https"),
        ('[merchants.m]\nprofile_url = "http://127.0.0.1:9/.well-known/ucp"', "https"),
        ('[merchants.m]\nprofile_url = "https://m.example/profile"', "well-known"),
        ("[platforms.p]\nallowed_merchants = []", "exactly one of jwks or jwks_file"),
        ('[platforms.p]\njwks = {keys = []}\nallowed_merchants = ["nope"]', "unknown merchants"),
        ("[platforms.Bad_Id]\njwks = {keys = []}", "platforms"),
        ("unknown_setting = 1", "unknown_setting"),
        ('[platforms.p]\njwks = {keys = []}\n[platforms.p.policy]\nallowed_currencies = ["usd"]', "allowed_currencies"),
    ],
)
def test_invalid_configuration_names_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _settings(tmp_path, monkeypatch, toml)


def test_loopback_http_needs_the_explicit_switch() -> None:
    url = "http://127.0.0.1:9100/.well-known/ucp"
    assert MerchantSettings(profile_url=url, allow_insecure_loopback=True).profile_url == url
    with pytest.raises(ValidationError):
        MerchantSettings(profile_url=url)
    with pytest.raises(ValidationError):
        PlatformSettings(jwks=JWKS, webhook_url="http://127.0.0.1:9/hook")


def test_policy_without_overrides_is_platform_wide() -> None:
    policy = SpendPolicy(max_total=100)
    assert policy.for_merchant("x").max_total == 100 and policy.for_merchant("x").allowed_currencies is None


@pytest.mark.parametrize(
    "url",
    ["http://connector.example", "http://10.0.0.5:8000", "ftp://connector.example", "https://u:p@connector.example"],
)
def test_public_base_url_must_be_https_outside_loopback(url: str) -> None:
    """OVR-31, TRN-01: the connector's profile (under public_base_url) is HTTPS; http is loopback dev only."""
    with pytest.raises(ValidationError, match="public_base_url"):
        Settings(public_base_url=url)


@pytest.mark.parametrize(
    "url", ["https://connector.example", "http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"]
)
def test_public_base_url_https_or_loopback_dev_is_accepted(url: str) -> None:
    """OVR-31: the dev stack's loopback http stays possible; https anywhere."""
    assert Settings(public_base_url=url).public_base_url == url
