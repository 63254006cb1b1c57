"""AP2 Mandates, the platform's part (ap2-mandates.md): verify the business's ``merchant_authorization``.

When ``dev.ucp.shopping.ap2_mandate`` is active for a checkout (it is in the
response's ``ucp.capabilities``), the business MUST embed
``ap2.merchant_authorization`` in every checkout response and the platform
MUST verify it before presenting the checkout ("Activation and Session
Locking"). The value is a JWS with detached payload, ``header..signature``;
the payload is the JCS canonical form (RFC 8785) of the checkout *without*
its ``ap2`` member ("AP2-Specific Rule"), signed with a key of the business's
``signing_keys`` named by ``kid`` (ES256 required).

:func:`sign_merchant_authorization` is the business's side (the reference
merchant's AP2 mode and tests). The checkout mandate itself (an SD-JWT+kb the
platform's AP2 provider produces) is carried on ``complete`` as sent
(contracts.ucp.extensions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from joserfc import jws
from joserfc.jwk import ECKey

from contracts.canonical_json import canonical_json
from contracts.detached_jws import VerifiedDetachedSignature, verify_detached
from contracts.error_codes import ErrorCode
from contracts.errors import SignatureError, UcpError
from contracts.jwk import JwkSet, SigningKey

AP2_MANDATE: Final = "dev.ucp.shopping.ap2_mandate"
REASON: Final = "merchant_authorization_invalid"  # ap2-mandates.md "Error Codes"


def ap2_active(document: Mapping[str, Any]) -> bool:
    """Whether the response says AP2 Mandates is active for this checkout."""
    ucp = document.get("ucp")
    capabilities = ucp.get("capabilities") if isinstance(ucp, Mapping) else None
    return isinstance(capabilities, Mapping) and AP2_MANDATE in capabilities


def authorization_payload(checkout: Mapping[str, Any]) -> bytes:
    """The bytes ``merchant_authorization`` signs: JCS of the checkout without ``ap2``."""
    return canonical_json({key: value for key, value in checkout.items() if key != "ap2"})


def sign_merchant_authorization(checkout: Mapping[str, Any], key: SigningKey) -> str:
    """``header..signature`` over :func:`authorization_payload` (ES256, ``kid`` of ``key``)."""
    token = jws.serialize_compact(
        {"alg": "ES256", "kid": key.kid}, authorization_payload(checkout), ECKey.import_key(key.private_key)
    )
    header, _, signature = token.split(".")
    return f"{header}..{signature}"


def verify_merchant_authorization(checkout: Mapping[str, Any], keys: JwkSet) -> VerifiedDetachedSignature:
    """Verify ``ap2.merchant_authorization`` with the business's keys; ``key_not_found`` lets the caller refresh."""
    ap2 = checkout.get("ap2")
    token = ap2.get("merchant_authorization") if isinstance(ap2, Mapping) else None
    if not isinstance(token, str) or not token:
        raise UcpError(
            "AP2 is active but the checkout carries no ap2.merchant_authorization",
            code=ErrorCode.MERCHANT_RESPONSE_INVALID,
            pointer="/ap2/merchant_authorization",
            detail={"reason": REASON},
        )
    try:
        return verify_detached(token, authorization_payload(checkout), keys)
    except SignatureError as exc:
        if exc.code is ErrorCode.KEY_NOT_FOUND:
            raise
        raise UcpError(
            "the business's ap2.merchant_authorization does not verify over the checkout",
            code=ErrorCode.MERCHANT_RESPONSE_INVALID,
            pointer="/ap2/merchant_authorization",
            detail={"reason": REASON, "signature": exc.reason or exc.code.value},
        ) from exc
