"""What a UCP release adapter is: the one place that knows a release's wire shapes, headers and rules.

The connector has one *canonical* checkout/order model: the shapes of UCP
2026-04-08, which its platform-facing API speaks (``contracts.ucp``). Every
merchant-facing difference of a release lives behind :class:`ReleaseAdapter`:

* **profile** -- :meth:`~ReleaseAdapter.parse_profile` turns the release's
  discovery document into a :class:`ReleaseProfile`: the canonical
  ``Profile`` (capabilities keep the release's *wire* versions, so
  negotiation intersects per release), the keys (``signing_keys`` or
  ``keys``), ``supported_versions``, and the document as the connector
  presents it to platforms (canonical versions);
* **requests** -- :meth:`~ReleaseAdapter.encode_request` turns a canonical
  request body into the release's (or refuses a field the release cannot
  carry: ``request_untranslatable``, never a silent drop);
* **responses** -- :meth:`~ReleaseAdapter.decode_response` turns the
  release's checkout/order/error document into the canonical one, or raises
  ``merchant_response_invalid`` with the JSON pointer and the release;
* **signatures** -- how our requests are signed (:meth:`~ReleaseAdapter.request_signer`),
  whether and how a response is signed, how a webhook is authenticated;
* **idempotency** -- the release's rule for matching a replayed key
  (:class:`IdempotencyRule`), which fixes what the connector keeps identical
  when it retries.

Adapters are stateless singletons (``ADAPTER`` in each ``rYYYY_MM_DD``
module); the registry (:mod:`merchants.releases`) finds them by module name,
so adding a release is adding one module and its tests.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal

import httpx

from contracts import ErrorCode, JwkSet, KeyStore, UcpError, canonical_json, parse_json
from contracts.ucp import Capability, Profile, RestOperation, parse_profile

CANONICAL_VERSION: Final = "2026-04-08"
"""The release of the connector's canonical model and of its platform-facing API."""


@dataclass(frozen=True)
class IdempotencyRule:
    """How the release's business matches a repeated ``Idempotency-Key`` (and so what a retry must keep).

    ``parameters``: "409 if the key is reused with different parameters"
    (2026-01-11, 2026-04-08 checkout-rest.md), i.e. the same JSON document;
    ``raw_body_sha256``: the SHA-256 of the raw body bytes (2026-08-25
    signatures.md "Payload Matching"). The connector serialises every body
    canonically (RFC 8785) and derives the key from (workflow, sequence), so a
    retry is byte-identical and satisfies both.
    """

    payload_match: Literal["parameters", "raw_body_sha256"]
    key_format: Literal["uuid", "opaque"] = "uuid"
    retention_hours: int = 24

    def same_payload(self, first: bytes, second: bytes) -> bool:
        """Whether the business would treat ``second`` as a replay of ``first`` under the same key."""
        if self.payload_match == "raw_body_sha256":
            return hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
        try:
            return canonical_json(parse_json(first)) == canonical_json(parse_json(second))
        except UcpError:
            return first == second


@dataclass(frozen=True)
class ReleaseProfile:
    """A merchant profile of one release, read into the canonical model."""

    version: str
    profile: Profile
    presented: dict[str, Any]  # the canonical (2026-04-08-shaped, canonical-version) document platforms see
    keys: JwkSet
    supported_versions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReceivedOrderEvent:
    """An authenticated order webhook, in canonical shape."""

    webhook_id: str
    order: dict[str, Any]
    signed_by: str
    event_key: str | None = None
    """The event's signed identity (digest of the raw body, ``contracts.ucp.order_snapshots``)."""
    timestamp: int | None = None
    """``Webhook-Timestamp`` (unix seconds), when the release sends it."""


def untranslatable(release: str, pointer: str, content: str) -> UcpError:
    """The platform sent something this merchant's release cannot carry: refuse it, never drop it."""
    return UcpError(
        f"the merchant speaks UCP {release}, which cannot carry this: {content}",
        code=ErrorCode.REQUEST_UNTRANSLATABLE,
        pointer=pointer,
        detail={"release": release, "pointer": pointer},
    )


def response_invalid(release: str, pointer: str | None, content: str) -> UcpError:
    """A merchant answer that cannot be translated: ``502 merchant_response_invalid`` with pointer and release."""
    return UcpError(
        f"merchant response (UCP {release}) cannot be translated: {content}",
        code=ErrorCode.MERCHANT_RESPONSE_INVALID,
        pointer=pointer,
        detail={"release": release, "pointer": pointer or ""},
    )


def as_object(value: object, release: str, pointer: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise response_invalid(release, pointer, "expected a JSON object")
    return dict(value)


class ReleaseAdapter(ABC):
    """One UCP release at the merchant edge. Subclasses set the class attributes and the translations."""

    version: ClassVar[str]
    idempotency: ClassVar[IdempotencyRule]
    response_signatures_mandatory: ClassVar[bool] = False
    """A release that mandates signed responses refuses ``response_signatures = "when_present"``."""
    webhook_timestamp_required: ClassVar[bool] = True
    """Standard-Webhooks ``Webhook-Timestamp`` is a required header of the release's order webhook."""

    # ------------------------------------------------------------ discovery

    @abstractmethod
    def parse_profile(self, document: Mapping[str, Any]) -> ReleaseProfile:
        """The release's business profile in canonical form; ``profile_malformed`` when it is not one."""

    @abstractmethod
    def platform_profile(self, canonical: Mapping[str, Any]) -> dict[str, Any]:
        """The connector's platform profile (canonical document) as this release's merchants read it."""

    spec_url_prefix: ClassVar[str] = ""
    """How this release spells ucp.dev URLs: ``/2026-08-25/`` (dated) or ``/`` (2026-01-11's undated ones)."""

    def at_release(self, canonical: Mapping[str, Any]) -> dict[str, Any]:
        """A canonical-shaped profile whose ``dev.ucp.*`` entries are declared at this release.

        What the connector can drive does not depend on the release (the
        adapter translates), so its own profile is re-declared per release and
        negotiation intersects like with like (overview.md "Intersection
        Algorithm": exact versions).
        """
        return at_release(canonical, self.version, self.spec_url_prefix or f"/{self.version}/")

    def our_capabilities(self, canonical: Mapping[str, Any]) -> dict[str, list[Capability]]:
        """The connector's capabilities at this release, to intersect with the merchant's.

        Memoised on the profile's JSON text (issue 13): the connector's profile is rebuilt per call and
        parsing it (its signing keys through joserfc) was ~13 % of the API's CPU on updates that carry an
        extension member; the same profile always gives the same capabilities.
        """
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=str)
        return dict(_our_capabilities(self, text))

    # ------------------------------------------------------------- requests

    def needs_current_checkout(self, operation: RestOperation) -> bool:
        """Whether :meth:`encode_request` needs the merchant's current checkout (canonical) as ``current``."""
        return False

    @abstractmethod
    def encode_request(
        self,
        operation: RestOperation,
        body: Mapping[str, Any] | None,
        *,
        merchant_checkout_id: str | None,
        current: Mapping[str, Any] | None = None,
        default_currency: str | None = None,
    ) -> dict[str, Any] | None:
        """The wire body for ``operation`` (``None``: no body); raises ``request_untranslatable``."""

    @abstractmethod
    def request_signer(self, keys: KeyStore) -> httpx.Auth:
        """How every request to this release's merchants is signed (there is no unsigned path)."""

    def request_headers(self, request_id: str) -> list[tuple[str, str]]:
        """Headers the release adds besides the signature (``Request-Id`` is common to all three)."""
        return [("Request-Id", request_id)]

    # ------------------------------------------------------------ responses

    @abstractmethod
    def response_signature_present(self, headers: httpx.Headers) -> bool:
        """Whether the response carries this release's signature headers."""

    @abstractmethod
    def verify_response(self, status: int, headers: list[tuple[str, str]], body: bytes, keys: JwkSet) -> str:
        """Verify the response signature with the merchant's keys; the signing ``kid``. Raises ``SignatureError``."""

    @abstractmethod
    def decode_response(self, operation: RestOperation, document: object) -> dict[str, Any]:
        """The canonical checkout, order or UCP error envelope; raises ``merchant_response_invalid``."""

    def merchant_messages(self, document: object) -> list[dict[str, str | None]]:
        """The UCP ``messages[]`` of a refusal (code, content, severity, path), empty when it has none."""
        messages = document.get("messages") if isinstance(document, Mapping) else None
        found: list[dict[str, str | None]] = []
        for message in messages if isinstance(messages, list) else []:
            if isinstance(message, Mapping):
                found.append(
                    {
                        name: (str(message[name])[:500] if message.get(name) is not None else None)
                        for name in ("type", "code", "content", "severity", "path")
                    }
                )
        return found[:20]

    # ------------------------------------------------------------- webhooks

    @abstractmethod
    def verify_webhook(
        self,
        *,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes,
        keys: JwkSet,
        merchant_profile_url: str,
        allow_insecure_loopback: bool,
    ) -> str:
        """Authenticate an order webhook of this release; the signing ``kid``. Raises ``UcpError``."""

    @abstractmethod
    def decode_order_event(self, headers: list[tuple[str, str]], document: object) -> tuple[str, dict[str, Any]]:
        """(webhook id, canonical order) of a verified webhook body; raises ``validation_failed``."""


def at_release(canonical: Mapping[str, Any], version: str, url_prefix: str) -> dict[str, Any]:
    """Re-declare a canonical profile's ``dev.ucp.*`` services and capabilities at ``version``."""
    document = copy.deepcopy(dict(canonical))
    ucp = document.setdefault("ucp", {})
    ucp["version"] = version
    marker = f"/{CANONICAL_VERSION}/"
    for registry in ("services", "capabilities"):
        for name, entries in dict(ucp.get(registry) or {}).items():
            if not name.startswith("dev.ucp."):
                continue
            for entry in entries:
                entry["version"] = version
                for member in ("spec", "schema"):
                    if isinstance(entry.get(member), str):
                        entry[member] = entry[member].replace(marker, url_prefix)
    return document


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


@functools.lru_cache(maxsize=64)
def _our_capabilities(adapter: ReleaseAdapter, profile_json: str) -> dict[str, list[Capability]]:
    return dict(parse_profile(adapter.at_release(json.loads(profile_json))).ucp.capabilities)
