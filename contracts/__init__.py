"""Contracts: the single home of the wire rules every other package relies on.

Canonical JSON, base64url, Content-Digest, RFC 9421 signing/verification,
JWK handling, cursors, idempotency identifiers, the frozen error codes and the
API models live here and nowhere else (DESIGN.md "Contracts"). This package
imports nothing from the rest of the project.
"""

from contracts.base64url import b64url_decode, b64url_encode
from contracts.canonical_json import canonical_json, canonical_sha256, parse_json
from contracts.content_digest import content_digest, verify_content_digest
from contracts.cursors import CursorCodec
from contracts.error_codes import UCP_VERSION, ErrorCode, ErrorFamily
from contracts.errors import (
    CursorInvalidError,
    ErrorBody,
    IdempotencyKeyError,
    KeyFormatError,
    MalformedInputError,
    ProfileUrlError,
    SignatureError,
    UcpError,
)
from contracts.http_signatures import (
    VerificationKeys,
    VerificationPolicy,
    VerifiedSignature,
    screen_request_signature,
    sign_request,
    sign_response,
    signed_target_uri,
    text_headers,
    verify_request,
    verify_response,
)
from contracts.idempotency import (
    checkout_session_id,
    checkout_workflow_id,
    outbound_idempotency_key,
    update_id,
    validate_idempotency_key,
)
from contracts.jwk import JwkSet, KeyStore, PublicJwk, SignatureAlgorithm, SigningKey
from contracts.key_refresh import verify_with_key_refresh
from contracts.redaction import Redactor
from contracts.ucp_agent import format_ucp_agent, parse_ucp_agent, validate_profile_url

__all__ = [
    "UCP_VERSION",
    "CursorCodec",
    "CursorInvalidError",
    "ErrorBody",
    "ErrorCode",
    "ErrorFamily",
    "IdempotencyKeyError",
    "JwkSet",
    "KeyFormatError",
    "KeyStore",
    "MalformedInputError",
    "ProfileUrlError",
    "PublicJwk",
    "Redactor",
    "SignatureAlgorithm",
    "SignatureError",
    "SigningKey",
    "UcpError",
    "VerificationKeys",
    "VerificationPolicy",
    "VerifiedSignature",
    "b64url_decode",
    "b64url_encode",
    "canonical_json",
    "canonical_sha256",
    "checkout_session_id",
    "checkout_workflow_id",
    "content_digest",
    "format_ucp_agent",
    "outbound_idempotency_key",
    "parse_json",
    "parse_ucp_agent",
    "screen_request_signature",
    "sign_request",
    "sign_response",
    "signed_target_uri",
    "text_headers",
    "update_id",
    "validate_idempotency_key",
    "validate_profile_url",
    "verify_content_digest",
    "verify_request",
    "verify_response",
    "verify_with_key_refresh",
]
