"""UCP discovery profiles and capability negotiation (overview.md "Profile Structure", "Negotiation Protocol").

* :class:`Profile` parses a business profile (``/.well-known/ucp``) or a
  platform profile (the URL in ``UCP-Agent``); :meth:`Profile.jwks` turns its
  ``signing_keys[]`` into a :class:`~contracts.JwkSet`.
* :func:`negotiate` is the spec's **Intersection Algorithm**: same name, the
  highest version both parties list, then prune extensions whose parents are
  gone, repeatedly (OVR-23..25). Before intersecting it drops capabilities
  whose ``spec``/``schema`` origin does not match the namespace authority
  (OVR-04..06), and reports what it dropped, so the decision is visible.
* :func:`response_capabilities` selects what a response lists in
  ``ucp.capabilities``: the operation's root capability and the extensions that
  extend it (overview.md "Response Capability Selection", OVR-27).

Everything here is pure: no I/O, no clock.

Assumptions where the spec is silent:

* Namespace authority: a name's reverse-domain part is every segment but the
  last two (``com.example.payments.installments`` -> ``example.com``), or but
  the last one for three-segment names such as payment handlers
  (``com.google.pay`` -> ``google.com``). A URL matches when it is ``https``
  and its host is the authority or a subdomain of it (the spec's own handler
  examples live on ``developers.google.com``/``pay.google.com``).
* When both parties list a capability at the selected version, the
  *business's* entry is authoritative for ``extends`` (server-selects), and the
  platform's entry is kept alongside for its ``config`` (e.g. the order
  ``webhook_url``, fulfillment ``supports_multi_group``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from contracts.error_codes import ErrorCode
from contracts.errors import UcpError
from contracts.jwk import JwkSet
from contracts.ucp._base import REVERSE_DOMAIN_RE, OpenModel, ReverseDomainName, Version, parse_model

SHOPPING_SERVICE: Final = "dev.ucp.shopping"
CHECKOUT: Final = "dev.ucp.shopping.checkout"
ORDER: Final = "dev.ucp.shopping.order"
FULFILLMENT: Final = "dev.ucp.shopping.fulfillment"
DISCOUNT: Final = "dev.ucp.shopping.discount"
CART: Final = "dev.ucp.shopping.cart"

Transport = Literal["rest", "mcp", "a2a", "embedded"]
EntityName = ReverseDomainName


class Entity(OpenModel):
    """Shared shape of services, capabilities and payment handlers (ucp.json ``$defs/entity``)."""

    version: Version
    spec: str | None = None
    schema_url: str | None = Field(default=None, alias="schema")
    id: str | None = None
    config: dict[str, Any] | None = None


class Capability(Entity):
    """A capability or extension entry (capability.json); ``extends`` names its parent(s)."""

    extends: EntityName | list[EntityName] | None = None

    @field_validator("extends")
    @classmethod
    def _non_empty_parents(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and not value:
            raise ValueError("extends must name at least one parent")
        return value

    @property
    def parents(self) -> tuple[str, ...]:
        """Parent capability names; empty for a root capability."""
        if self.extends is None:
            return ()
        return (self.extends,) if isinstance(self.extends, str) else tuple(self.extends)


class Service(Entity):
    """A transport binding of a service (service.json); REST ``endpoint`` is the base URL of every path."""

    transport: Transport
    endpoint: str | None = None


class AvailableInstrument(OpenModel):
    """An instrument type a payment handler accepts (types/available_payment_instrument.json)."""

    type: str
    constraints: dict[str, Any] | None = None


class PaymentHandler(Entity):
    """A payment handler declaration (payment_handler.json); ``id`` is what instruments' ``handler_id`` names."""

    id: str
    available_instruments: list[AvailableInstrument] | None = Field(default=None, min_length=1)


class ProfileMetadata(OpenModel):
    """The ``ucp`` object of a discovery profile (ucp.json ``platform_schema`` / ``business_schema``)."""

    version: Version
    supported_versions: dict[Version, str] | None = None
    services: dict[EntityName, list[Service]]
    capabilities: dict[EntityName, list[Capability]] = Field(default_factory=dict)
    payment_handlers: dict[EntityName, list[PaymentHandler]]


class Profile(OpenModel):
    """A UCP discovery profile (discovery/profile_schema.json), business or platform."""

    ucp: ProfileMetadata
    signing_keys: list[dict[str, Any]] = Field(default_factory=list)

    def jwks(self) -> JwkSet:
        """``signing_keys[]`` as a key set; raises ``profile_malformed`` for an unusable key."""
        return JwkSet.from_list(self.signing_keys)

    def rest_endpoint(self, service: str = SHOPPING_SERVICE) -> str | None:
        """The REST ``endpoint`` of ``service`` at the profile's version, if it declares one."""
        for binding in self.ucp.services.get(service, []):
            if binding.transport == "rest" and binding.endpoint and binding.version == self.ucp.version:
                return binding.endpoint
        for binding in self.ucp.services.get(service, []):
            if binding.transport == "rest" and binding.endpoint:
                return binding.endpoint
        return None

    def capability_config(self, name: str, version: str | None = None) -> dict[str, Any] | None:
        """The ``config`` of capability ``name`` (at ``version`` when given)."""
        for entry in self.ucp.capabilities.get(name, []):
            if version is None or entry.version == version:
                return entry.config
        return None

    def webhook_url(self, version: str | None = None) -> str | None:
        """A platform's order webhook URL: ``dev.ucp.shopping.order`` ``config.webhook_url`` (ORD-17)."""
        config = self.capability_config(ORDER, version)
        url = config.get("webhook_url") if config else None
        return url if isinstance(url, str) and url else None


def parse_profile(document: object) -> Profile:
    """Validate a fetched profile; raise ``profile_malformed`` (422) with a pointer (OVR-42)."""
    profile = parse_model(Profile, document, code=ErrorCode.PROFILE_MALFORMED, what="profile")
    profile.jwks()  # every signing key must be a usable JWK
    return profile


def parse_business_profile(document: object) -> Profile:
    """A business profile must also bind REST to an endpoint (service.json ``business_schema``)."""
    profile = parse_profile(document)
    for name, bindings in profile.ucp.services.items():
        for index, binding in enumerate(bindings):
            if binding.transport in ("rest", "mcp", "a2a") and not binding.endpoint:
                raise UcpError(
                    f"service {name} ({binding.transport}) has no endpoint",
                    code=ErrorCode.PROFILE_MALFORMED,
                    pointer=f"/ucp/services/{name}/{index}/endpoint",
                )
    return profile


# ---------------------------------------------------------------------------
# namespace governance (OVR-02, OVR-04..06)


def namespace_authority(name: str) -> str:
    """The domain that governs ``name``: ``dev.ucp.shopping.checkout`` -> ``ucp.dev``."""
    if not REVERSE_DOMAIN_RE.fullmatch(name):
        raise ValueError(f"{name!r} is not a reverse-domain name")
    segments = name.split(".")
    domain = segments[:-2] if len(segments) >= 4 else segments[:-1]
    return ".".join(reversed(domain))


def url_matches_authority(url: str, authority: str) -> bool:
    """Whether ``url`` is ``https`` on ``authority`` or one of its subdomains."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    return parts.scheme == "https" and (host == authority or host.endswith("." + authority))


def binding_problems(name: str, entity: Entity) -> list[str]:
    """Why ``entity`` breaks the spec-URL binding of ``name`` (empty list: it does not)."""
    try:
        authority = namespace_authority(name)
    except ValueError:
        return ["name is not a reverse-domain name"]
    problems = []
    for member, url in (("spec", entity.spec), ("schema", entity.schema_url)):
        if url is None:
            problems.append(f"{member} is missing")
        elif not url_matches_authority(url, authority):
            problems.append(f"{member} origin does not match {authority}")
    return problems


# ---------------------------------------------------------------------------
# intersection algorithm (OVR-23..25)


@dataclass(frozen=True)
class NegotiatedCapability:
    """A capability both parties support, at the highest version they share."""

    name: str
    version: str
    business: Capability
    platform: Capability

    @property
    def parents(self) -> tuple[str, ...]:
        return self.business.parents


@dataclass(frozen=True)
class Negotiation:
    """The outcome of :func:`negotiate`: what is active, and what was dropped and why."""

    active: dict[str, NegotiatedCapability]
    rejected: dict[str, str] = field(default_factory=dict)
    pruned: tuple[str, ...] = ()

    def __contains__(self, name: object) -> bool:
        return name in self.active

    def version_of(self, name: str) -> str | None:
        entry = self.active.get(name)
        return entry.version if entry else None


def _bound(
    capabilities: Mapping[str, Sequence[Capability]], rejected: dict[str, str], side: str
) -> dict[str, list[Capability]]:
    kept: dict[str, list[Capability]] = {}
    for name, entries in capabilities.items():
        good = []
        for entry in entries:
            problems = binding_problems(name, entry)
            if problems:
                rejected.setdefault(name, f"{side} {entry.version}: {'; '.join(problems)}")
            else:
                good.append(entry)
        if good:
            kept[name] = good
    return kept


def prune_orphans(
    active: Mapping[str, NegotiatedCapability],
) -> tuple[dict[str, NegotiatedCapability], tuple[str, ...]]:
    """Steps 3-4: drop extensions none of whose parents is active, until nothing changes."""
    current = dict(active)
    removed: list[str] = []
    while True:
        orphans = [
            name
            for name, entry in current.items()
            if entry.parents and not any(parent in current for parent in entry.parents)
        ]
        if not orphans:
            return current, tuple(removed)
        for name in sorted(orphans):
            del current[name]
            removed.append(name)


def negotiate(
    business: Mapping[str, Sequence[Capability]],
    platform: Mapping[str, Sequence[Capability]],
    *,
    enforce_binding: bool = True,
) -> Negotiation:
    """The spec's Intersection Algorithm over two ``capabilities`` registries."""
    rejected: dict[str, str] = {}
    if enforce_binding:
        business = _bound(business, rejected, "business")
        platform = _bound(platform, rejected, "platform")
    active: dict[str, NegotiatedCapability] = {}
    for name, business_entries in business.items():
        platform_entries = platform.get(name)
        if not platform_entries:
            continue
        mutual = {entry.version for entry in business_entries} & {entry.version for entry in platform_entries}
        if not mutual:
            continue
        version = max(mutual)  # YYYY-MM-DD: the latest date sorts last
        active[name] = NegotiatedCapability(
            name=name,
            version=version,
            business=next(entry for entry in business_entries if entry.version == version),
            platform=next(entry for entry in platform_entries if entry.version == version),
        )
    active, pruned = prune_orphans(active)
    return Negotiation(active=active, rejected=rejected, pruned=pruned)


def relevant_capabilities(negotiation: Negotiation, root: str) -> list[NegotiatedCapability]:
    """``root`` and the active extensions that extend it, in a stable order (OVR-27)."""
    if root not in negotiation.active:
        return []
    selected = [negotiation.active[root]]
    selected.extend(
        entry for name, entry in sorted(negotiation.active.items()) if name != root and root in entry.parents
    )
    return selected


def response_capabilities(negotiation: Negotiation, root: str) -> dict[str, list[dict[str, Any]]]:
    """The ``ucp.capabilities`` registry of a response for an operation on ``root``."""
    return {entry.name: [{"version": entry.version}] for entry in relevant_capabilities(negotiation, root)}
