"""A platform's verified key and the profile it names must agree (SIG-32; DESIGN invariant 1).

The platform registry maps each key to one platform; when the platform's
profile URL is registered, a ``UCP-Agent`` header must name exactly it
(``api/security.py``). Found while writing docs/threat-model.md: no test sent a
correctly signed request whose ``UCP-Agent`` names *another* profile, so the
binding could have been removed silently. Here platform ``alpha`` (profile
registered) signs with its own key but claims ``beta``'s profile.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Connector
from tests.fixtures.independent_signer import IndependentSigner

pytestmark = pytest.mark.e2e


async def test_a_signed_request_naming_another_platforms_profile_is_refused(connector: Connector) -> None:
    """SIG-32, invariant 1: the key proves alpha; a UCP-Agent naming another profile is signature_invalid."""
    alpha = connector.alpha.signer
    claims_beta = IndependentSigner(alpha.private_key, alpha.kid, profile_url="https://beta.example/.well-known/ucp")
    url = f"{connector.url}/checkout-sessions?limit=1"
    refused = await connector.http.get(url, headers=claims_beta.sign("GET", url))
    assert refused.status_code == 401
    assert refused.json()["code"] == "signature_invalid"
    assert refused.json()["detail"] == {"reason": "identity_mismatch"}
    honest = await connector.http.get(url, headers=alpha.sign("GET", url))
    assert honest.status_code == 200
