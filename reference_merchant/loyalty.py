"""A vendor extension, ``com.example.loyalty``, when ``MerchantConfig.loyalty_extension`` is on.

What an extension that is not ``dev.ucp.*`` looks like on the business side
(overview.md "Extensions can be ... Vendor"): the merchant offers it in its
profile, extending ``dev.ucp.shopping.checkout``, on its vendor's authority
(``https://example.com/...``, OVR-04). For a platform whose profile declares
it too (the intersection, OVR-23/24) the checkout gains one member:

* in a create, update or complete request, ``loyalty: {"member_id": ...}``
  names the buyer's loyalty account (:func:`take`); anything else there is
  ``400 validation_failed`` at ``/loyalty/member_id``;
* every checkout response then carries ``loyalty: {"member_id": ...,
  "points_earned": ...}``, one point per 100 minor units of the total
  (:func:`present`).

For a platform that does not negotiate it the member is unknown and the
strict request models refuse it, as for any unknown member.
"""

from __future__ import annotations

from typing import Any, Final

from contracts.ucp import CHECKOUT
from reference_merchant.inputs import invalid

LOYALTY: Final = "com.example.loyalty"
MEMBER: Final = "loyalty"


def capability_entry(version: str) -> dict[str, Any]:
    """The profile entry (the extension's version follows the merchant's release)."""
    return {
        "version": version,
        "spec": "https://example.com/ucp/specification/loyalty",
        "schema": "https://example.com/ucp/schemas/loyalty.json",
        "extends": CHECKOUT,
    }


def take(document: object) -> tuple[object, str | None]:
    """Split a request into the body without ``loyalty`` and the loyalty member id it names (if any)."""
    if not isinstance(document, dict) or MEMBER not in document:
        return document, None
    loyalty = document[MEMBER]
    member_id = loyalty.get("member_id") if isinstance(loyalty, dict) else None
    if not isinstance(member_id, str) or not member_id or set(loyalty) - {"member_id"}:
        raise invalid('loyalty must be {"member_id": <string>}', "/loyalty/member_id")
    return {name: value for name, value in document.items() if name != MEMBER}, member_id


def present(document: dict[str, Any], member_id: str | None) -> dict[str, Any]:
    """The checkout document with the ``loyalty`` member, when the buyer named an account."""
    if member_id is None:
        return document
    total = next((entry.get("amount", 0) for entry in document.get("totals", []) if entry.get("type") == "total"), 0)
    return {**document, MEMBER: {"member_id": member_id, "points_earned": int(total) // 100}}
