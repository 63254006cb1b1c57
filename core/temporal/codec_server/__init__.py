"""``ucp-connector codec-server``: the Temporal UI's remote codec, decode-only, redacting, operator-authenticated.

:func:`build_codec_app` wires it from the one ``Settings``: the payload keys
(``core.temporal.client.load_payload_keyring``), the storage redaction salt
(so hashes match the audit log), the configured Temporal UI origin(s) and the
authentication mode (``core.codec_server_settings``). See ``app`` for the
protocol and the rules, ``authentication`` and ``oidc`` for who may decode.
"""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from contracts import Redactor
from core.keyfiles import load_secret
from core.settings import Settings
from core.temporal.client import load_payload_keyring
from core.temporal.codec import EncryptionCodec
from core.temporal.codec_server.app import create_codec_app
from core.temporal.codec_server.authentication import authenticator_for
from core.temporal.codec_server.oidc import OidcVerifier


def build_codec_app(settings: Settings, *, http: httpx.AsyncClient) -> Starlette:
    """The codec server of this configuration; ``http`` reads the OIDC issuer's discovery document and keys."""
    section = settings.codec_server
    inline = settings.storage.redaction_salt
    salt = load_secret(settings.redaction_salt_file, inline=inline.get_secret_value() if inline else None)
    verifier = OidcVerifier(section.oidc, http) if section.oidc is not None and section.auth == "oidc" else None
    return create_codec_app(
        EncryptionCodec(load_payload_keyring(settings)),
        Redactor(salt),
        authenticator_for(section, verifier),
        allowed_origins=settings.codec_allowed_origins,
        allow_credentials=section.auth == "proxy",
        max_body_bytes=section.max_body_bytes,
    )


__all__ = ["build_codec_app", "create_codec_app"]
