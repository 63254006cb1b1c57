"""Configuration of one reference merchant: one typed object, loadable from JSON or TOML.

Nothing here is read from the environment or from requests. ``base_url`` is
the merchant's public origin: it becomes the REST ``endpoint`` in the profile,
the ``@authority`` every request signature is checked against (so a request
signed for another host never verifies here), and the root of ``continue_url``
and order permalinks. It must be ``https`` unless ``allow_insecure_loopback``
is set and the host is a loopback address (DESIGN.md "Merchants").

Trusted platforms are the allow-list of counterparties (OVR-35, no SSRF): a
request whose ``UCP-Agent`` names any other profile URL is refused with
``403 profile_not_trusted`` and its URL is never fetched. A trusted platform's
keys come from its profile (fetched over HTTPS, no redirects, cached), or from
an inline JWKS in this configuration, in which case nothing is fetched.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts import UcpError, validate_profile_url
from reference_merchant.catalog import (
    DEFAULT_DISCOUNTS,
    DEFAULT_ITEMS,
    DEFAULT_SHIPPING,
    CatalogItem,
    DiscountRule,
    ShippingOption,
)
from reference_merchant.faults import FaultPlan

HOUR = 3600
UcpVersion = Literal["2026-01-11", "2026-04-08", "2026-08-25"]


class TrustedPlatform(BaseModel):
    """A platform this merchant accepts requests from, identified by its profile URL (``UCP-Agent``)."""

    model_config = ConfigDict(extra="forbid")

    profile_url: str
    jwks: dict[str, Any] | None = Field(
        default=None, description="Inline JWK Set {'keys': [...]}; when set, the profile is not fetched for keys."
    )
    profile: dict[str, Any] | None = Field(
        default=None, description="Inline platform profile document (capabilities, webhook_url); never fetched."
    )
    webhook_url: str | None = Field(
        default=None, description="Order webhook URL when the platform has no profile to publish it in."
    )


class WebhookPolicy(BaseModel):
    """Delivery of signed order webhooks: retried with exponential backoff until a 2xx (ORD-25)."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(default=5.0, gt=0)
    retry_base_seconds: float = Field(default=1.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    max_attempts: int = Field(default=12, ge=1)


class MerchantConfig(BaseModel):
    """Everything one merchant instance needs; defaults give a working shop."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        description="Public origin of the merchant, e.g. https://shop.example or http://127.0.0.1:8181"
    )
    api_prefix: str = Field(default="/ucp/v1", description="Path of the REST endpoint below base_url.")
    ucp_version: UcpVersion = Field(
        default="2026-04-08", description="The UCP release this merchant speaks (reference_merchant.releases)."
    )
    supported_versions: list[UcpVersion] = Field(
        default_factory=list,
        description="Older releases also served, each through a version-specific leaf profile (2026-08-25 only).",
    )
    sign_webhooks_2026_01_11: bool = Field(
        default=False,
        description="2026-01-11 only: publish signing_keys and sign webhooks (the samples do neither).",
    )
    ap2_mandates: bool = Field(
        default=False,
        description="AP2 Mandates mode (reference_merchant.ap2): offer dev.ucp.shopping.ap2_mandate, sign every "
        "checkout of a platform that negotiates it and require ap2.checkout_mandate on complete.",
    )
    loyalty_extension: bool = Field(
        default=False,
        description="Vendor extension mode (reference_merchant.loyalty): offer com.example.loyalty, take "
        "loyalty.member_id from a platform that negotiates it and answer with the points earned.",
    )
    allow_insecure_loopback: bool = False
    name: str = "UCP Reference Merchant"
    database_url: str = "sqlite+aiosqlite:///:memory:"
    currency: str = "USD"
    ship_to_countries: list[str] = Field(default_factory=lambda: ["US", "CA"])
    tax_rate_bps: int = Field(default=800, ge=0, le=10_000, description="Tax in basis points of goods + shipping.")
    review_threshold: int = Field(default=50_000, ge=0, description="Totals at or above need buyer review.")
    checkout_ttl_seconds: int = Field(default=6 * HOUR, gt=0, description="expires_at = creation + TTL (schema: 6 h).")
    idempotency_ttl_seconds: int = Field(default=48 * HOUR, ge=24 * HOUR, description="Spec: >= 24 h, 48 h advised.")
    async_completion_seconds: float = Field(default=2.0, ge=0)
    auto_ship_after_seconds: float | None = Field(default=None, ge=0, description="Ship orders automatically.")
    auto_deliver_after_seconds: float | None = Field(default=None, ge=0, description="Deliver after shipping.")
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    profile_cache_seconds: int = Field(default=300, ge=60, description="Platform profile cache TTL (floor 60 s).")
    profile_fetch_timeout_seconds: float = Field(default=5.0, gt=0)
    background_interval_seconds: float = Field(
        default=0.25, gt=0, description="How often time-driven work runs; queued webhooks wake it at once."
    )
    run_background_tasks: bool = True
    platforms: list[TrustedPlatform] = Field(default_factory=list)
    webhooks: WebhookPolicy = Field(default_factory=WebhookPolicy)
    faults: FaultPlan = Field(default_factory=FaultPlan)
    items: list[CatalogItem] = Field(default_factory=lambda: list(DEFAULT_ITEMS))
    discounts: list[DiscountRule] = Field(default_factory=lambda: list(DEFAULT_DISCOUNTS))
    shipping_options: list[ShippingOption] = Field(default_factory=lambda: list(DEFAULT_SHIPPING))

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("api_prefix")
    @classmethod
    def _prefix_shape(cls, value: str) -> str:
        value = value.rstrip("/")
        if value and not value.startswith("/"):
            raise ValueError("api_prefix must start with '/'")
        return value

    @model_validator(mode="after")
    def _releases_are_consistent(self) -> MerchantConfig:
        for version in self.supported_versions:
            if version >= self.ucp_version:
                raise ValueError(f"supported_versions lists {version}, which is not older than {self.ucp_version}")
            if version == "2026-01-11":
                raise ValueError("2026-01-11 cannot be served beside a newer release (its requests are not signed)")
        if len(set(self.supported_versions)) != len(self.supported_versions):
            raise ValueError("supported_versions lists a release twice")
        return self

    @model_validator(mode="after")
    def _urls_are_acceptable(self) -> MerchantConfig:
        try:
            validate_profile_url(self.profile_url, business=True, allow_insecure_loopback=self.allow_insecure_loopback)
            for platform in self.platforms:
                validate_profile_url(
                    platform.profile_url, business=False, allow_insecure_loopback=self.allow_insecure_loopback
                )
        except UcpError as exc:
            raise ValueError(exc.content) from exc
        return self

    @property
    def protocol_version(self) -> str:
        """The release of ``/.well-known/ucp`` (older ones are served only through ``supported_versions``)."""
        return self.ucp_version

    @property
    def profile_url(self) -> str:
        """The business profile, always at ``/.well-known/ucp`` (signatures.md parsing rule 4)."""
        return f"{self.base_url}/.well-known/ucp"

    @property
    def endpoint(self) -> str:
        """The REST service endpoint published in the profile (no trailing slash, OVR-10)."""
        return f"{self.base_url}{self.api_prefix}"

    def platform(self, profile_url: str) -> TrustedPlatform | None:
        return next((platform for platform in self.platforms if platform.profile_url == profile_url), None)


def read_config_document(path: Path) -> dict[str, Any]:
    """A configuration file as a dict: ``.toml`` or JSON."""
    text = path.read_text(encoding="utf-8")
    document = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: the configuration must be a table/object")
    return document
