"""UCP 2026-08-25 at the merchant edge: 2026-04-08's shapes plus what the newer release changed.

Where the spec snapshot (``ucp-spec-2026-08-25-rc``) and PyPI ``ucp-sdk``
0.5.x differ, the SDK's models (generated from the final schemas) win.

* **profile** -- keys are the top-level ``keys[]`` (an RFC 7517 JWK Set,
  overview "Profile Structure"; ``signing_keys`` is gone). The key vocabulary
  is open: a key whose type the connector cannot use is skipped, never a
  reason to reject the profile (signatures.md "Signature Algorithms").
  ``dev.ucp.*`` entries declared at another version than ``ucp.version`` are
  rejected entry by entry ("Component Versioning": treated as not present);
  a version-specific profile must not carry ``supported_versions``.
* **requests** -- RFC 9421 as in 2026-04-08. Under a ``pickup`` method the
  platform selects a location by ``selected_destination_id`` and may not
  write ``destinations[]``; a create no longer carries a method's
  ``line_item_ids`` (fulfillment "Destinations"). Both are refused with a
  pointer rather than dropped.
* **responses** -- destinations carry a ``type`` (``shipping_address``,
  ``business_location``), kept as an extension member; a fulfillment
  option's ``description`` is a ``{plain, markdown, html}`` object, read as its text; new members
  (``actions``, ``policies``, ``quantity_unit``...) travel as extension
  members of the open canonical model; the ``ucp`` envelope is re-declared at
  the canonical version.
* **idempotency** -- the business compares the SHA-256 of the raw body bytes
  (signatures.md "Payload Matching"); keys need 128 bits, not a UUID.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

from contracts import ErrorCode, JwkSet, KeyFormatError, PublicJwk, UcpError
from contracts.ucp import RestOperation
from merchants.releases.base import IdempotencyRule, ReleaseProfile, response_invalid, untranslatable
from merchants.releases.r2026_04_08 import Release20260408, with_canonical_version


class Release20260825(Release20260408):
    version: ClassVar[str] = "2026-08-25"
    idempotency: ClassVar[IdempotencyRule] = IdempotencyRule(
        payload_match="raw_body_sha256", key_format="opaque", retention_hours=24
    )

    # ------------------------------------------------------------ discovery

    def parse_profile(self, document: Mapping[str, Any]) -> ReleaseProfile:
        canonical = copy.deepcopy(dict(document))
        keys = usable_keys(canonical.pop("keys", None) or [])
        canonical["signing_keys"] = keys.signing_keys()
        ucp = canonical.get("ucp")
        if isinstance(ucp, dict):
            version = ucp.get("version")
            for registry in ("services", "capabilities"):
                entries = ucp.get(registry)
                if isinstance(entries, dict):
                    kept = {name: _same_release(name, bindings, version) for name, bindings in entries.items()}
                    ucp[registry] = {name: bindings for name, bindings in kept.items() if bindings}
        release = self.release_profile(canonical)
        presented = release.presented
        presented["ucp"] = with_canonical_version(presented.get("ucp", {}), self.version)
        return release

    def platform_profile(self, canonical: Mapping[str, Any]) -> dict[str, Any]:
        document = self.at_release(canonical)
        document["keys"] = document.pop("signing_keys", [])
        return document

    # ------------------------------------------------------------- requests

    def encode_request(
        self,
        operation: RestOperation,
        body: Mapping[str, Any] | None,
        *,
        merchant_checkout_id: str | None,
        current: Mapping[str, Any] | None = None,
        default_currency: str | None = None,
    ) -> dict[str, Any] | None:
        wire = super().encode_request(
            operation,
            body,
            merchant_checkout_id=merchant_checkout_id,
            current=current,
            default_currency=default_currency,
        )
        methods = ((wire or {}).get("fulfillment") or {}).get("methods") or []
        for index, method in enumerate(methods):
            where = f"/fulfillment/methods/{index}"
            if method.get("type") == "pickup" and method.get("destinations"):
                raise untranslatable(
                    self.version, f"{where}/destinations", "a pickup location is chosen by selected_destination_id"
                )
            if operation is RestOperation.CREATE and "line_item_ids" in method:
                raise untranslatable(self.version, f"{where}/line_item_ids", "a create does not assign line items")
        return wire

    # ------------------------------------------------------------ responses

    def to_canonical(self, operation: RestOperation, document: object) -> dict[str, Any]:
        canonical = super().to_canonical(operation, document)
        ucp = canonical.get("ucp")
        if not isinstance(ucp, Mapping):
            raise response_invalid(self.version, "/ucp", "the response has no ucp envelope")
        canonical["ucp"] = with_canonical_version(ucp, self.version)
        for method in (canonical.get("fulfillment") or {}).get("methods") or []:
            for group in method.get("groups") or [] if isinstance(method, dict) else []:
                for option in group.get("options") or [] if isinstance(group, dict) else []:
                    if isinstance(option, dict) and isinstance(option.get("description"), Mapping):
                        option["description"] = plain_description(option["description"])
        return canonical

    def order_event_to_canonical(self, document: object) -> object:
        if isinstance(document, Mapping) and isinstance(document.get("ucp"), Mapping):
            return {**document, "ucp": with_canonical_version(document["ucp"], self.version)}
        return document


def _same_release(name: str, bindings: object, version: object) -> list[Any]:
    """A dev.ucp.* entry declared at another version is treated as not present (overview "Component Versioning")."""
    entries = bindings if isinstance(bindings, list) else []
    if not name.startswith("dev.ucp."):
        return entries
    return [entry for entry in entries if isinstance(entry, dict) and entry.get("version") == version]


def plain_description(description: Mapping[str, Any]) -> str:
    """2026-08-25 descriptions are ``{plain, markdown, html}`` (types/description.json); 2026-04-08's are text.

    The plain form when there is one, else the markdown source (readable as
    text), else the HTML as written: text either way, never dropped.
    """
    for form in ("plain", "markdown", "html"):
        if isinstance(description.get(form), str):
            return str(description[form])
    return ""


def usable_keys(documents: object) -> JwkSet:
    """``keys[]`` with the keys the connector can verify with; others are skipped (open vocabulary)."""
    if not isinstance(documents, list):
        raise UcpError("keys must be an array of JWKs", code=ErrorCode.PROFILE_MALFORMED, pointer="/keys")
    usable: list[PublicJwk] = []
    for document in documents:
        try:
            key = PublicJwk.from_dict(document)
        except KeyFormatError:
            continue  # an unknown kty/crv/alg affects only signatures that reference it
        if key.algorithm is not None and all(known.kid != key.kid for known in usable):
            usable.append(key)
    return JwkSet(tuple(usable))


ADAPTER = Release20260825()
