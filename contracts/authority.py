"""Why a signature over ``@authority`` failed, in words a platform developer can act on (SIG-16).

The commonest cause of a correct-looking signature failing is a request signed
for another spelling of the same server (``localhost`` vs ``127.0.0.1``, an
internal name behind a proxy). A verifier rebuilds ``@authority`` from its own
configured origin, never from ``Host`` (a relayed request must fail), so it can
say which authority it expected — and, when the ``Host`` the request arrived
with differs, that one too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from contracts.errors import DetailValue

_DEFAULT_PORTS: Final = {"http": "80", "https": "443"}


@dataclass(frozen=True)
class AuthorityHint:
    content: str
    detail: dict[str, DetailValue]


def authority(scheme: str, netloc: str) -> str:
    """``@authority`` as RFC 9421 section 2.2.3 serialises it: lower-case host, default port dropped."""
    host, _, port = netloc.lower().rpartition(":") if not netloc.endswith("]") else (netloc.lower(), "", "")
    if not host or not port.isdigit():
        return netloc.lower()
    return host if port.lstrip("0") == _DEFAULT_PORTS.get(scheme.lower()) else f"{host}:{port}"


def authority_hint(verified_url: str, host_header: str | None) -> AuthorityHint:
    """The failure text and detail for a request verified against ``verified_url`` that arrived with ``Host``."""
    target = urlsplit(verified_url)
    expected = authority(target.scheme, target.netloc)
    detail: dict[str, DetailValue] = {"expected_authority": expected}
    content = f"signature verification failed; the covered @authority must be {expected}"
    sent_to = (host_header or "").strip()[:255]
    if sent_to and authority(target.scheme, sent_to) != expected:
        detail["request_authority"] = sent_to
        content += f" (the request was sent to {sent_to}: sign the URL with {expected})"
    return AuthorityHint(content, detail)
