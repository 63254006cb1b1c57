"""The ``UCP-Agent`` request header and profile-URL rules.

``UCP-Agent`` is an RFC 8941 Dictionary whose ``profile`` member is a quoted
String holding an HTTPS URL (signatures.md "Parsing Rules", SIG-23); an
unquoted value parses as a Token and is refused. Business profile URLs must
point to ``/.well-known/ucp``; platform profile URLs may live anywhere.

Plain ``http`` is refused, except for loopback hosts when the caller passes
``allow_insecure_loopback=True`` (dev and tests set it explicitly; DESIGN.md
"Merchants"), so a misconfiguration can never downgrade a real counterparty.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final
from urllib.parse import urlsplit

import http_sf

from contracts.errors import ProfileUrlError

WELL_KNOWN_PATH: Final = "/.well-known/ucp"
MAX_HEADER_LENGTH: Final = 2048
MAX_URL_LENGTH: Final = 2048


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_profile_url(url: str, *, business: bool, allow_insecure_loopback: bool = False) -> str:
    """Return ``url`` if it is an acceptable profile URL; raise ``invalid_profile_url`` otherwise."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH or not url.isascii():
        raise ProfileUrlError("profile URL must be a non-empty ASCII URL", detail={"reason": "malformed"})
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise ProfileUrlError("profile URL is malformed", detail={"reason": "malformed"}) from exc
    if not host or parts.username or parts.password or parts.fragment:
        raise ProfileUrlError("profile URL needs a host and no credentials or fragment", detail={"reason": "malformed"})
    if parts.scheme == "http" and allow_insecure_loopback and is_loopback_host(host):
        pass
    elif parts.scheme != "https":
        raise ProfileUrlError("profile URL must use https", detail={"reason": "scheme"})
    if business and parts.path != WELL_KNOWN_PATH:
        raise ProfileUrlError(f"business profile URL must point to {WELL_KNOWN_PATH}", detail={"reason": "path"})
    return url


def parse_ucp_agent(header: str | None, *, business: bool, allow_insecure_loopback: bool = False) -> str:
    """Return the profile URL from a ``UCP-Agent`` header value."""
    if header is None:
        raise ProfileUrlError("UCP-Agent header is required", detail={"reason": "missing"})
    if len(header) > MAX_HEADER_LENGTH:
        raise ProfileUrlError("UCP-Agent header is too large", detail={"reason": "too_large"})
    try:
        parsed: Any = http_sf.parse(header.encode("ascii"), tltype="dictionary")
    except (UnicodeEncodeError, ValueError, TypeError) as exc:
        raise ProfileUrlError("UCP-Agent is not an RFC 8941 dictionary", detail={"reason": "malformed"}) from exc
    member = parsed.get("profile") if isinstance(parsed, dict) else None
    if member is None:
        raise ProfileUrlError("UCP-Agent has no profile member", detail={"reason": "missing"})
    value = member[0]
    # http-sf returns a Token (a str subclass) for an unquoted value; the spec wants a String.
    if type(value) is not str:
        raise ProfileUrlError("UCP-Agent profile must be a quoted string", detail={"reason": "not_a_string"})
    return validate_profile_url(value, business=business, allow_insecure_loopback=allow_insecure_loopback)


def format_ucp_agent(profile_url: str) -> str:
    """The ``UCP-Agent`` header value for our own requests."""
    return str(http_sf.ser({"profile": (profile_url, {})}))
