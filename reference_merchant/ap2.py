"""AP2 Mandates, the business's part (ap2-mandates.md), when ``MerchantConfig.ap2_mandates`` is on.

The merchant then offers ``dev.ucp.shopping.ap2_mandate`` in its profile
(:func:`reference_merchant.releases.r2026_04_08.capability_entries`). For a
platform whose profile declares it too, the capability is in the intersection
and the session is "Security Locked" ("Activation and Session Locking"):

* every checkout response carries ``ap2.merchant_authorization``, a detached
  JWS (ES256, ``kid`` of the merchant's active key) over the JCS checkout
  without ``ap2`` (:func:`authorize`, "Business Authorization");
* ``complete`` without ``ap2.checkout_mandate`` is refused with
  ``400 mandate_required`` at ``/ap2/checkout_mandate``, before any payment
  is charged (:func:`take_mandate`, "Business Verification" step 1);
* the mandate is kept on the session (``CheckoutState.ap2_checkout_mandate``)
  as the evidence of consent it is meant to be ("Canonicalization":
  mandates are stored and verified later).

Assumption where a reference merchant stops: the mandate's SD-JWT+kb
signature, key binding, expiry and embedded checkout are the AP2 Protocol's
verification ("Specification Boundary"); this merchant checks the shape the
UCP schema gives (``ap2_mandate.json#/$defs/checkout_mandate``) only. The
fault ``forge_ap2_authorization`` signs with a key of the same ``kid`` the
merchant never published, so a platform's verification must fail.
"""

from __future__ import annotations

import re
from typing import Any, Final

from contracts import ErrorCode, SigningKey, UcpError
from contracts.ucp.ap2 import sign_merchant_authorization

MANDATE_POINTER: Final = "/ap2/checkout_mandate"
# ap2_mandate.json#/$defs/checkout_mandate: an SD-JWT, optionally with disclosures / key binding.
_MANDATE: Final = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+(~[A-Za-z0-9_-]+)*$")


def authorize(document: dict[str, Any], key: SigningKey, *, forged: bool = False) -> dict[str, Any]:
    """``document`` with ``ap2.merchant_authorization`` signed by ``key`` (a same-``kid`` stranger if ``forged``)."""
    signer = SigningKey.generate(key.kid) if forged else key
    return {**document, "ap2": {"merchant_authorization": sign_merchant_authorization(document, signer)}}


def take_mandate(document: object) -> tuple[object, str]:
    """Split a complete request into the body without ``ap2`` and the checkout mandate it must carry."""
    ap2 = document.get("ap2") if isinstance(document, dict) else None
    mandate = ap2.get("checkout_mandate") if isinstance(ap2, dict) else None
    if not isinstance(mandate, str) or not _MANDATE.match(mandate):
        raise UcpError(
            "AP2 Mandates is active for this checkout: complete requires ap2.checkout_mandate (an SD-JWT)",
            code=ErrorCode.MANDATE_REQUIRED,
            pointer=MANDATE_POINTER,
        )
    assert isinstance(document, dict)
    return {name: value for name, value in document.items() if name != "ap2"}, mandate
