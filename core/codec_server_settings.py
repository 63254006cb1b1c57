"""The ``[codec_server]`` section of the one ``Settings`` (``core/settings.py``): ``ucp-connector codec-server``.

Kept beside ``core/settings.py`` rather than in it only for size; ``Settings``
carries it as ``settings.codec_server`` and every source applies as for any
other field (``UCP_CODEC_SERVER__AUTH=oidc``, ``UCP_CODEC_SERVER__OIDC__ISSUER=...``).

Example::

    [codec_server]
    host = "0.0.0.0"
    allowed_origins = ["https://temporal-ui.example"]
    auth = "oidc"
    [codec_server.oidc]
    issuer = "https://login.example/realms/ops"
    audience = "temporal-ui"
"""

from __future__ import annotations

from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
TokenAlgorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
DEFAULT_ALGORITHMS: Final[tuple[TokenAlgorithm, ...]] = ("RS256", "ES256")


class OidcSettings(_Strict):
    """Operators signed in to the Temporal UI with OIDC; the UI passes their access token to the codec server.

    The token is a JWT verified against the issuer's published keys (its
    ``/.well-known/openid-configuration`` names the ``jwks_uri``): signature with
    an asymmetric algorithm only, ``iss``, ``aud``, ``exp`` and ``sub`` required.
    """

    issuer: str = Field(description="The OIDC issuer URL exactly as tokens carry it in `iss` (https).")
    audience: str = Field(min_length=1, description="The `aud` the codec server accepts (the UI's API audience).")
    algorithms: list[TokenAlgorithm] = Field(default_factory=lambda: list(DEFAULT_ALGORITHMS), min_length=1)
    leeway_seconds: int = Field(default=60, ge=0, le=300, description="Clock skew tolerated on exp/nbf/iat.")
    allow_insecure_loopback: bool = Field(default=False, description="Accept an http issuer on loopback (tests).")

    @model_validator(mode="after")
    def _issuer_is_https(self) -> OidcSettings:
        require_https(self.issuer, allow_insecure_loopback=self.allow_insecure_loopback)
        return self


class ReverseProxySettings(_Strict):
    """Operators authenticated by a reverse proxy in front (oauth2-proxy, a mesh) that names them in a header.

    A header anyone could set proves nothing, so it is believed only on
    connections from ``trusted_proxies``; every other peer is refused.
    """

    user_header: str = Field(default="X-Forwarded-User", pattern=r"^[A-Za-z0-9-]{1,64}$")
    trusted_proxies: list[IPvAnyNetwork] = Field(min_length=1, description="Addresses of the proxy (CIDR).")


class CodecServerSettings(_Strict):
    """``ucp-connector codec-server``: decode-only, redacting, for the Temporal UI (README "Operating it").

    ``auth = "none"`` is only accepted on a loopback interface (``dev``);
    anywhere else operators must authenticate (``oidc`` or ``proxy``).
    """

    host: str = Field(default="127.0.0.1", description="Interface to bind.")
    port: int = Field(default=8234, ge=1, le=65535)
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call it (the Temporal UI's); default: the origin of temporal.ui_url.",
    )
    auth: Literal["none", "oidc", "proxy"] = "none"
    oidc: OidcSettings | None = None
    proxy: ReverseProxySettings | None = None
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path, no wildcard)")
        return value

    @model_validator(mode="after")
    def _authentication(self) -> CodecServerSettings:
        if self.auth == "oidc" and self.oidc is None:
            raise ValueError("auth = 'oidc' needs an [codec_server.oidc] section (issuer, audience)")
        if self.auth == "proxy" and self.proxy is None:
            raise ValueError("auth = 'proxy' needs a [codec_server.proxy] section (trusted_proxies)")
        if self.auth == "none" and self.host not in LOOPBACK_HOSTS:
            raise ValueError(f"auth = 'none' is only allowed on loopback, not on {self.host}: use 'oidc' or 'proxy'")
        return self


def require_https(url: str, *, allow_insecure_loopback: bool) -> None:
    """``url`` is https, or plain http on loopback when allowed (tests); else ``ValueError``."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and allow_insecure_loopback and parts.hostname in LOOPBACK_HOSTS:
        return
    raise ValueError(f"{url!r} must be an https URL (plain http only on loopback with allow_insecure_loopback)")
