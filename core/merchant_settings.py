"""The merchant registry's entries: where a merchant's profile is, and the per-merchant policy (issue 15).

Part of the one ``core.settings.Settings`` (its ``merchants`` table); kept in
its own module because merchant authentication adds three models. Secrets
are never inline: API keys, client secrets and TLS keys are *files*, which
must be private (0600 or stricter) and are checked when the settings load,
so a bad configuration is reported field by field at start, not at the first
checkout.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from contracts import UcpError, validate_profile_url
from core.vendor_extensions import VendorExtension, check_vendor_name, member_extensions

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _private_file(value: Path, *, what: str) -> Path:
    """A secret file must exist, be readable and be private (0600 or stricter), like ssh keys; checked at start."""
    try:
        mode = stat.S_IMODE(value.stat().st_mode)
        value.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {what} {value}: {exc.strerror or exc}") from exc
    if mode & 0o077:
        raise ValueError(f"{what} {value} is readable by others (mode {mode:o}); chmod 600 it")
    if not value.read_bytes().strip():
        raise ValueError(f"{what} {value} is empty")
    return value


def _readable_file(value: Path, *, what: str) -> Path:
    try:
        value.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {what} {value}: {exc.strerror or exc}") from exc
    return value


HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")]
ReleaseVersion = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
_RESERVED_AUTH_HEADERS: Final = frozenset(
    {
        "signature",
        "signature-input",
        "content-digest",
        "content-type",
        "idempotency-key",
        "ucp-agent",
        "request-id",
        "request-signature",
        "host",
        "content-length",
    }
)


class ApiKeyAuth(_Strict):
    """An API key the merchant issued, sent in ``header`` on every call (checkout-rest.md "Authentication")."""

    type: Literal["api_key"]
    header: HeaderName = Field(default="X-API-Key", description="Header that carries the key (UCP: X-API-Key).")
    key_file: Path = Field(description="0600 file holding the key (only its first line is used).")

    @field_validator("header")
    @classmethod
    def _not_a_protocol_header(cls, value: str) -> str:
        if value.lower() in _RESERVED_AUTH_HEADERS:
            raise ValueError(f"{value} is a protocol header, not one for an API key")
        return value

    @field_validator("key_file")
    @classmethod
    def _key_file_private(cls, value: Path) -> Path:
        return _private_file(value, what="API key file")


class OAuth2ClientCredentials(_Strict):
    """OAuth 2.0 client credentials (RFC 6749 §4.4): tokens are fetched, cached in memory, refreshed before expiry."""

    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(
        description="The token endpoint (HTTPS; http only for loopback with allow_insecure_loopback)."
    )
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    client_secret_file: Path = Field(description="0600 file holding the client secret.")
    scopes: list[Annotated[str, StringConstraints(pattern=r"^[\x21\x23-\x5b\x5d-\x7e]+$")]] = Field(
        default_factory=list, description="Scopes to request (RFC 6749 §3.3)."
    )

    @field_validator("client_secret_file")
    @classmethod
    def _secret_private(cls, value: Path) -> Path:
        return _private_file(value, what="client secret file")


class MutualTls(_Strict):
    """A client certificate the merchant trusts (mutual TLS); the key file is private like every key."""

    type: Literal["mtls"]
    client_cert_file: Path = Field(description="PEM client certificate (chain).")
    client_key_file: Path = Field(description="0600 PEM private key of the certificate.")

    @field_validator("client_cert_file")
    @classmethod
    def _cert_readable(cls, value: Path) -> Path:
        return _readable_file(value, what="client certificate")

    @field_validator("client_key_file")
    @classmethod
    def _key_private(cls, value: Path) -> Path:
        return _private_file(value, what="client key file")


MerchantAuth = Annotated[ApiKeyAuth | OAuth2ClientCredentials | MutualTls, Field(discriminator="type")]


class MerchantSettings(_Strict):
    """A registered merchant (a UCP business) the connector may call, and the per-merchant policy (issue 15).

    Every relaxation is explicit here and audited when it is used:
    ``response_signatures = "when_present"`` accepts unsigned 2xx answers
    (signatures.md "When Signatures Apply": RECOMMENDED, not required) but
    still verifies every signature that is present; ``auth`` adds the
    merchant's own authentication besides our signature; ``allowed_origins``
    lets the REST endpoint or a version-specific profile live on another
    origin than the registered profile.
    """

    profile_url: str = Field(description="The merchant's /.well-known/ucp URL.")
    allow_insecure_loopback: bool = Field(
        default=False, description="Accept plain http for loopback hosts, and loopback/private targets (dev, tests)."
    )
    allow_private_addresses: bool = Field(
        default=False,
        description="Accept targets that resolve to private (RFC 1918/4193) addresses, e.g. a compose network.",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins besides the profile's own that the REST endpoint and versioned profiles may use.",
    )
    response_signatures: Literal["required", "when_present"] = Field(
        default="required", description="required: refuse unsigned 2xx answers; when_present: verify what is signed."
    )
    ucp_versions: list[ReleaseVersion] | None = Field(
        default=None, description="UCP releases the connector may speak with this merchant (default: every one)."
    )
    default_currency: Currency | None = Field(
        default=None, description="ISO 4217 currency for 2026-01-11 creates that name none (context.currency)."
    )
    auth: MerchantAuth | None = Field(default=None, description="The merchant's own authentication, if it wants one.")
    vendor_extensions: dict[str, VendorExtension] = Field(
        default_factory=dict,
        description="Vendor extensions (reverse-domain name -> capability entry and the checkout members it adds) "
        "the connector declares to this merchant; their members pass where the merchant negotiates them.",
    )

    @field_validator("profile_url")
    @classmethod
    def _profile_url_shape(cls, value: str) -> str:
        if not value.endswith("/.well-known/ucp"):
            raise ValueError("profile_url must point to /.well-known/ucp")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
        return [origin.rstrip("/") for origin in value]

    @model_validator(mode="after")
    def _profile_url_is_safe(self) -> MerchantSettings:
        check_url(self.profile_url, business=True, allow_insecure_loopback=self.allow_insecure_loopback)
        if isinstance(self.auth, OAuth2ClientCredentials):
            try:
                check_url(self.auth.token_url, business=False, allow_insecure_loopback=self.allow_insecure_loopback)
            except ValueError as exc:
                raise ValueError(f"auth.token_url: {exc}") from exc
        for origin in self.allowed_origins:
            if origin.startswith("http:") and not self.allow_insecure_loopback:
                raise ValueError(f"allowed_origins: {origin} is plain http (only with allow_insecure_loopback)")
        for name, extension in self.vendor_extensions.items():
            check_vendor_name(name, extension)
        claimed = [member for extension in self.vendor_extensions.values() for member in extension.members]
        if len(claimed) != len(member_extensions(dict(self.vendor_extensions))):
            raise ValueError("vendor_extensions: a member is claimed by two extensions")
        return self

    def vendor_members(self) -> dict[str, str]:
        """member -> vendor extension, for the request check (contracts.ucp.extensions)."""
        return member_extensions(dict(self.vendor_extensions))

    def vendor_capabilities(self) -> dict[str, dict[str, object]]:
        """The vendor capability entries the connector's profile declares to this merchant."""
        return {name: extension.capability_entry() for name, extension in self.vendor_extensions.items()}


def check_url(url: str, *, business: bool, allow_insecure_loopback: bool) -> None:
    try:
        validate_profile_url(url, business=business, allow_insecure_loopback=allow_insecure_loopback)
    except UcpError as exc:
        raise ValueError(exc.content) from exc
