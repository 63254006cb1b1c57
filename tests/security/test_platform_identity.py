"""Who the platform is: UCP-Agent on every request, only the release's algorithms, revocation without restart.

Issue 12.7 (OVR-19, SIG-32): a platform with a registered profile URL got 201
without ``UCP-Agent`` — the binding was skipped when the header was absent.
Issue 12.13: an Ed25519 registry key was accepted although UCP 2026-04-08
request signatures are ES256 (required) or ES384 (signatures.md
"Algorithms"; SIG-01). Issue 12.6: removing a key from a platform's key file
needed an API restart. The platform ``gamma`` here keeps its keys in a file
and registers its profile URL; ``delta`` registers an Ed25519 key.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.resolvers import MappingKeyResolver

from contracts import SigningKey
from tests.api.conftest import ApiUnderTest, running_api
from tests.api.gateway_double import ScriptedGateway
from tests.fixtures.independent_signer import IndependentSigner
from tests.security.catalogue import attack, control

control("signatures")
control("authorization")

GAMMA_PROFILE = "https://gamma.example/.well-known/ucp"


class Identities:
    def __init__(self, tmp_path: Path) -> None:
        self.gamma_keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]
        self.gamma = [
            IndependentSigner(key, kid=f"gamma-key-{index}", profile_url=GAMMA_PROFILE)
            for index, key in enumerate(self.gamma_keys)
        ]
        self.gamma_file = tmp_path / "gamma.jwks.json"
        self.write_gamma(self.gamma)
        self.delta_key = ed25519.Ed25519PrivateKey.generate()
        raw = self.delta_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.delta_jwk = {"kid": "delta-okp", "kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "use": "sig"}

    def write_gamma(self, signers: list[IndependentSigner]) -> None:
        jwks = {"keys": [SigningKey(s.private_key, kid=s.kid).public_jwk.to_dict() for s in signers]}
        self.gamma_file.write_text(json.dumps(jwks))

    def platforms(self) -> dict[str, dict[str, object]]:
        return {
            "gamma": {"jwks_file": str(self.gamma_file), "profile_url": GAMMA_PROFILE, "allowed_merchants": ["shop"]},
            "delta": {"jwks": {"keys": [self.delta_jwk]}, "allowed_merchants": ["shop"]},
        }


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
async def identities(tmp_path: Path) -> Identities:
    return Identities(tmp_path)


@pytest.fixture
async def api_with(tmp_path: Path, identities: Identities) -> AsyncIterator[ApiUnderTest]:
    scripted = ScriptedGateway()
    async with running_api(
        tmp_path, gateway=None, scripted=scripted, extra_platforms=identities.platforms()
    ) as running:
        yield running


async def test_control_gamma_with_its_profile_is_served(api_with: ApiUnderTest, identities: Identities) -> None:
    for signer in identities.gamma:
        response = await api_with.send("GET", "/checkout-sessions", signer=signer)
        assert response.status_code == 200, response.text


def _without_agent(signer: IndependentSigner) -> IndependentSigner:
    return IndependentSigner(signer.private_key, signer.kid, profile_url=None)


@pytest.mark.parametrize(
    ("who", "code"),
    [
        attack("signatures", "ucp_agent_absent_registered_profile", "invalid_profile_url", "gamma"),
        attack("signatures", "ucp_agent_absent_unregistered_profile", "invalid_profile_url", "alpha"),
    ],
)
async def test_a_request_without_ucp_agent_is_refused(
    api_with: ApiUnderTest, identities: Identities, who: str, code: str
) -> None:
    signer = identities.gamma[0] if who == "gamma" else api_with.alpha
    response = await api_with.send("GET", "/checkout-sessions", signer=_without_agent(signer))
    assert response.status_code == 400 and response.json()["code"] == code
    assert response.json()["detail"]["reason"] == "missing"


@pytest.mark.parametrize(
    ("agent", "code"),
    [
        attack("signatures", "ucp_agent_other_platform", "signature_invalid", 'profile="https://alpha.example/p"'),
        attack("signatures", "ucp_agent_http_profile", "invalid_profile_url", 'profile="http://gamma.example/p"'),
        attack("signatures", "ucp_agent_not_a_dictionary", "invalid_profile_url", "gamma.example"),
    ],
)
async def test_ucp_agent_must_name_the_signing_platform(
    api_with: ApiUnderTest, identities: Identities, agent: str, code: str
) -> None:
    """SIG-32: the signature proves the platform; the agent it claims must be that platform's profile."""
    url = api_with.url + "/checkout-sessions"
    headers = _cover_agent(identities.gamma[0], url, agent)
    response = await api_with.http.get(url, headers=headers)
    assert response.json()["code"] == code, response.text


def _cover_agent(signer: IndependentSigner, url: str, agent: str) -> dict[str, str]:
    signed = IndependentSigner(signer.private_key, signer.kid, profile_url=None)
    return signed.sign(
        "GET", url, extra_headers={"UCP-Agent": agent}, cover=("@method", "@authority", "@path", "ucp-agent")
    )


def _ed25519_headers(key: ed25519.Ed25519PrivateKey, kid: str, url: str) -> dict[str, str]:
    message = SimpleNamespace(method="GET", url=url, headers={"UCP-Agent": 'profile="https://delta.example/p"'})
    HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: key}),
    ).sign(
        message,
        key_id=kid,
        created=dt.datetime.now(dt.UTC),
        label="sig1",
        include_alg=False,
        covered_component_ids=["@method", "@authority", "@path", "ucp-agent"],
    )
    return dict(message.headers)


ED25519 = attack("signatures", "ed25519_registry_key", "algorithm_unsupported")


@pytest.mark.parametrize("code", [ED25519])
async def test_an_ed25519_registry_key_is_not_accepted(
    api_with: ApiUnderTest, identities: Identities, code: str
) -> None:
    url = api_with.url + "/checkout-sessions"
    response = await api_with.http.get(url, headers=_ed25519_headers(identities.delta_key, "delta-okp", url))
    assert response.status_code == 400 and response.json()["code"] == code


REVOKED = attack("authorization", "removed_key_still_used", "key_not_found")


@pytest.mark.parametrize("code", [REVOKED])
async def test_a_key_removed_from_the_registry_file_stops_working_without_restart(
    api_with: ApiUnderTest, identities: Identities, code: str
) -> None:
    kept, revoked = identities.gamma
    assert (await api_with.send("GET", "/checkout-sessions", signer=revoked)).status_code == 200
    identities.write_gamma([kept])
    response = None
    for _ in range(100):  # the registry checks the file's mtime at most once a second
        response = await api_with.send("GET", "/checkout-sessions", signer=revoked)
        if response.status_code != 200:
            break
        await asyncio.sleep(0.1)
    assert response is not None and response.status_code == 401 and response.json()["code"] == code
    assert (await api_with.send("GET", "/checkout-sessions", signer=kept)).status_code == 200


UNREADABLE = attack("authorization", "registry_file_corrupted", "key_not_found")


@pytest.mark.parametrize("code", [UNREADABLE])
async def test_a_corrupted_registry_file_fails_closed(
    api_with: ApiUnderTest, identities: Identities, code: str
) -> None:
    """Keeping the last good set would keep a revoked key valid: a broken file leaves the platform keyless."""
    assert (await api_with.send("GET", "/checkout-sessions", signer=identities.gamma[0])).status_code == 200
    identities.gamma_file.write_text("{not json")
    response = None
    for _ in range(100):
        response = await api_with.send("GET", "/checkout-sessions", signer=identities.gamma[0])
        if response.status_code != 200:
            break
        await asyncio.sleep(0.1)
    assert response is not None and response.status_code == 401 and response.json()["code"] == code
