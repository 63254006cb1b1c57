"""The frozen error-code registry (DESIGN.md invariant 10).

Every error the connector or the reference merchant can emit carries one of
these codes. Codes defined by UCP 2026-04-08 keep the spec's spelling and HTTP
status (overview.md "Error Codes", signatures.md "Error Handling",
checkout.md "Standard Errors", discount.md); the connector's own families
(idempotency, validation, cursor, lifecycle, policy, merchant, rate limiting,
internal) follow the same ``snake_case`` style.

The registry is published as ``contracts/error_codes.json`` (regenerate with
``python -m contracts.vectors.regenerate``) and pinned by ``tests/contracts``: a code
may be *added* deliberately, never renamed or removed, and its status never
changes, because platforms branch on these strings.

``http_status`` 200 marks a *business outcome*: UCP reports it inside
``messages`` of a 200 response, not as a protocol error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Final

UCP_VERSION: Final = "2026-04-08"


class ErrorFamily(StrEnum):
    SIGNATURE = "signature"
    PROFILE = "profile"
    CHECKOUT = "checkout"
    DISCOUNT = "discount"
    PROTOCOL = "protocol"
    IDEMPOTENCY = "idempotency"
    VALIDATION = "validation"
    CURSOR = "cursor"
    LIFECYCLE = "lifecycle"
    POLICY = "policy"
    MERCHANT = "merchant"
    RATE_LIMIT = "rate_limit"
    INTERNAL = "internal"


@dataclass(frozen=True)
class ErrorSpec:
    http_status: int
    family: ErrorFamily
    defined_by: str  # "ucp" (spec text) or "connector"
    meaning: str


class ErrorCode(StrEnum):
    # --- UCP signature errors (signatures.md § Error Handling) ---
    SIGNATURE_MISSING = "signature_missing"
    SIGNATURE_INVALID = "signature_invalid"
    KEY_NOT_FOUND = "key_not_found"
    DIGEST_MISMATCH = "digest_mismatch"
    ALGORITHM_UNSUPPORTED = "algorithm_unsupported"
    # --- UCP negotiation / profile errors (overview.md § Error Codes) ---
    INVALID_PROFILE_URL = "invalid_profile_url"
    PROFILE_UNREACHABLE = "profile_unreachable"
    PROFILE_MALFORMED = "profile_malformed"
    PROFILE_NOT_TRUSTED = "profile_not_trusted"
    VERSION_UNSUPPORTED = "version_unsupported"
    CAPABILITIES_INCOMPATIBLE = "capabilities_incompatible"
    # --- UCP checkout business outcomes (checkout.md § Standard Errors, error_code.json) ---
    NOT_FOUND = "not_found"
    OUT_OF_STOCK = "out_of_stock"
    ITEM_UNAVAILABLE = "item_unavailable"
    ADDRESS_UNDELIVERABLE = "address_undeliverable"
    PAYMENT_FAILED = "payment_failed"
    ELIGIBILITY_INVALID = "eligibility_invalid"
    IDENTITY_REQUIRED = "identity_required"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    MISSING = "missing"
    INVALID_QUANTITY = "invalid_quantity"
    REQUIRES_3DS = "requires_3ds"
    # --- UCP discount outcomes (discount.md) ---
    DISCOUNT_CODE_EXPIRED = "discount_code_expired"
    DISCOUNT_CODE_INVALID = "discount_code_invalid"
    DISCOUNT_CODE_ALREADY_APPLIED = "discount_code_already_applied"
    DISCOUNT_CODE_COMBINATION_DISALLOWED = "discount_code_combination_disallowed"
    DISCOUNT_CODE_USER_NOT_LOGGED_IN = "discount_code_user_not_logged_in"
    DISCOUNT_CODE_USER_INELIGIBLE = "discount_code_user_ineligible"
    # --- Protocol (HTTP-level, overview.md § Protocol Errors) ---
    METHOD_NOT_ALLOWED = "method_not_allowed"
    # --- Idempotency (signatures.md § Idempotency Key Requirements; DESIGN invariant 2) ---
    IDEMPOTENCY_KEY_MISSING = "idempotency_key_missing"
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_UNAVAILABLE = "idempotency_unavailable"
    # --- Validation (DESIGN invariant 8) ---
    VALIDATION_FAILED = "validation_failed"
    MALFORMED_JSON = "malformed_json"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    # --- Cursors (DESIGN invariant 9) ---
    CURSOR_INVALID = "cursor_invalid"
    # --- Checkout lifecycle ---
    TRANSITION_INVALID = "transition_invalid"
    # --- Policy (DESIGN "Policy") ---
    POLICY_DENIED = "policy_denied"
    # --- Merchant (upstream) ---
    MERCHANT_UNAVAILABLE = "merchant_unavailable"
    MERCHANT_TIMEOUT = "merchant_timeout"
    MERCHANT_REQUEST_REJECTED = "merchant_request_rejected"
    MERCHANT_RESPONSE_INVALID = "merchant_response_invalid"
    MERCHANT_SIGNATURE_INVALID = "merchant_signature_invalid"
    # --- Rate limiting ---
    RATE_LIMITED = "rate_limited"
    # --- Internal ---
    INTERNAL_ERROR = "internal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    # --- Audit store (DESIGN invariant 7) ---
    AUDIT_CONFLICT = "audit_conflict"
    # --- Lifecycle: the API's bounded wait ---
    OPERATION_PENDING = "operation_pending"
    # --- Merchant releases and merchant authentication (issue 15) ---
    MERCHANT_INPUT_REJECTED = "merchant_input_rejected"
    REQUEST_UNTRANSLATABLE = "request_untranslatable"
    MERCHANT_AUTH_FAILED = "merchant_auth_failed"
    # --- The front door (issue 12): the request never reached a route ---
    MISDIRECTED_REQUEST = "misdirected_request"
    REQUEST_TIMEOUT = "request_timeout"
    # --- Safety checks before complete (issue 11: CMP-06, PAY-04, card_credential.json) ---
    TOTALS_INCONSISTENT = "totals_inconsistent"
    PAYMENT_INSTRUMENT_NOT_OFFERED = "payment_instrument_not_offered"
    PAYMENT_CREDENTIAL_FORBIDDEN = "payment_credential_forbidden"
    # --- Extensions per negotiation (issue 11 item 3) ---
    EXTENSION_NOT_NEGOTIATED = "extension_not_negotiated"
    # --- AP2 Mandates, the business's refusal (ap2-mandates.md "Error Codes") ---
    MANDATE_REQUIRED = "mandate_required"

    @property
    def spec(self) -> ErrorSpec:
        return _SPECS[self]

    @property
    def http_status(self) -> int:
        return _SPECS[self].http_status

    @property
    def meaning(self) -> str:
        return _SPECS[self].meaning

    @property
    def family(self) -> ErrorFamily:
        return _SPECS[self].family


_F = ErrorFamily
_S = ErrorSpec
_SPECS: Final[dict[ErrorCode, ErrorSpec]] = {
    ErrorCode.SIGNATURE_MISSING: _S(
        401, _F.SIGNATURE, "ucp", "A required signature field (Signature, Signature-Input) is absent."
    ),
    ErrorCode.SIGNATURE_INVALID: _S(
        401, _F.SIGNATURE, "ucp", "The signature is malformed, does not cover what it must, or does not verify."
    ),
    ErrorCode.KEY_NOT_FOUND: _S(401, _F.SIGNATURE, "ucp", "The signature's keyid names no key of the signer."),
    ErrorCode.DIGEST_MISMATCH: _S(
        400, _F.SIGNATURE, "ucp", "Content-Digest is missing, malformed, not sha-256, or does not match the raw body."
    ),
    ErrorCode.ALGORITHM_UNSUPPORTED: _S(
        400, _F.SIGNATURE, "ucp", "The signer's key type, curve or declared algorithm is not supported."
    ),
    ErrorCode.INVALID_PROFILE_URL: _S(
        400, _F.PROFILE, "ucp", "A profile URL is malformed, not HTTPS, or not where the spec requires it."
    ),
    ErrorCode.PROFILE_UNREACHABLE: _S(
        424, _F.PROFILE, "ucp", "A profile could not be fetched (timeout, DNS, non-2xx, redirect)."
    ),
    ErrorCode.PROFILE_MALFORMED: _S(
        422, _F.PROFILE, "ucp", "A fetched profile or key is not valid JSON or violates the profile schema."
    ),
    ErrorCode.PROFILE_NOT_TRUSTED: _S(
        403, _F.PROFILE, "ucp", "The profile is not in the registry of approved counterparties."
    ),
    ErrorCode.VERSION_UNSUPPORTED: _S(422, _F.PROFILE, "ucp", "No protocol version is supported by both parties."),
    ErrorCode.CAPABILITIES_INCOMPATIBLE: _S(
        200, _F.PROFILE, "ucp", "The capability intersection of the two profiles is empty."
    ),
    ErrorCode.NOT_FOUND: _S(404, _F.CHECKOUT, "ucp", "The resource does not exist or is not visible to the caller."),
    ErrorCode.OUT_OF_STOCK: _S(200, _F.CHECKOUT, "ucp", "A specific item or variant is out of stock."),
    ErrorCode.ITEM_UNAVAILABLE: _S(
        200, _F.CHECKOUT, "ucp", "An item cannot be purchased (for example delisted or unknown)."
    ),
    ErrorCode.ADDRESS_UNDELIVERABLE: _S(
        200, _F.CHECKOUT, "ucp", "The business cannot deliver to the provided address."
    ),
    ErrorCode.PAYMENT_FAILED: _S(200, _F.CHECKOUT, "ucp", "Payment processing failed."),
    ErrorCode.ELIGIBILITY_INVALID: _S(
        200, _F.CHECKOUT, "ucp", "An accepted eligibility claim could not be verified at completion."
    ),
    ErrorCode.IDENTITY_REQUIRED: _S(200, _F.CHECKOUT, "ucp", "The operation needs a linked buyer identity."),
    ErrorCode.INSUFFICIENT_SCOPE: _S(
        200, _F.CHECKOUT, "ucp", "The linked identity lacks the scope the operation needs."
    ),
    ErrorCode.MISSING: _S(200, _F.CHECKOUT, "ucp", "A field the business needs to progress the checkout is missing."),
    ErrorCode.INVALID_QUANTITY: _S(200, _F.CHECKOUT, "ucp", "A line item quantity is not acceptable."),
    ErrorCode.REQUIRES_3DS: _S(
        200, _F.CHECKOUT, "ucp", "Payment needs a buyer challenge (3DS/SCA) through continue_url."
    ),
    ErrorCode.DISCOUNT_CODE_EXPIRED: _S(200, _F.DISCOUNT, "ucp", "The discount code has expired."),
    ErrorCode.DISCOUNT_CODE_INVALID: _S(200, _F.DISCOUNT, "ucp", "The discount code was not found or is malformed."),
    ErrorCode.DISCOUNT_CODE_ALREADY_APPLIED: _S(200, _F.DISCOUNT, "ucp", "The discount code is already applied."),
    ErrorCode.DISCOUNT_CODE_COMBINATION_DISALLOWED: _S(
        200, _F.DISCOUNT, "ucp", "The code cannot be combined with another active discount."
    ),
    ErrorCode.DISCOUNT_CODE_USER_NOT_LOGGED_IN: _S(
        200, _F.DISCOUNT, "ucp", "The code requires an authenticated buyer."
    ),
    ErrorCode.DISCOUNT_CODE_USER_INELIGIBLE: _S(
        200, _F.DISCOUNT, "ucp", "The buyer does not meet the code's eligibility criteria."
    ),
    ErrorCode.METHOD_NOT_ALLOWED: _S(405, _F.PROTOCOL, "connector", "The route exists but not for this HTTP method."),
    ErrorCode.IDEMPOTENCY_KEY_MISSING: _S(
        400, _F.IDEMPOTENCY, "connector", "A state-changing request carries no Idempotency-Key."
    ),
    ErrorCode.IDEMPOTENCY_KEY_INVALID: _S(
        400, _F.IDEMPOTENCY, "connector", "The Idempotency-Key is not 22-255 url-safe characters (>=128 bits)."
    ),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: _S(
        409, _F.IDEMPOTENCY, "ucp", "The Idempotency-Key was already used with a different request body."
    ),
    ErrorCode.IDEMPOTENCY_UNAVAILABLE: _S(
        503, _F.IDEMPOTENCY, "ucp", "Idempotency state cannot be read or written; the request was not executed."
    ),
    ErrorCode.VALIDATION_FAILED: _S(
        400, _F.VALIDATION, "connector", "The request does not match its schema; the pointer names the field."
    ),
    ErrorCode.MALFORMED_JSON: _S(
        400, _F.VALIDATION, "connector", "The body is not a single valid JSON document (or has duplicate keys)."
    ),
    ErrorCode.PAYLOAD_TOO_LARGE: _S(413, _F.VALIDATION, "connector", "The body exceeds the size limit."),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: _S(415, _F.VALIDATION, "connector", "The body is not application/json."),
    ErrorCode.CURSOR_INVALID: _S(
        400, _F.CURSOR, "connector", "The cursor is malformed, tampered, expired or was issued for another listing."
    ),
    ErrorCode.TRANSITION_INVALID: _S(
        409, _F.LIFECYCLE, "connector", "The operation is not allowed in the checkout's current status."
    ),
    ErrorCode.POLICY_DENIED: _S(403, _F.POLICY, "connector", "The platform's spend policy forbids this operation."),
    ErrorCode.MERCHANT_UNAVAILABLE: _S(
        503, _F.MERCHANT, "connector", "The merchant kept failing (5xx, 429, connection) after retries."
    ),
    ErrorCode.MERCHANT_TIMEOUT: _S(504, _F.MERCHANT, "connector", "The merchant did not answer within the time limit."),
    ErrorCode.MERCHANT_REQUEST_REJECTED: _S(
        502, _F.MERCHANT, "connector", "The merchant rejected the request with a 4xx protocol error."
    ),
    ErrorCode.MERCHANT_RESPONSE_INVALID: _S(
        502, _F.MERCHANT, "connector", "The merchant's response is not valid UCP (JSON, schema or status)."
    ),
    ErrorCode.MERCHANT_SIGNATURE_INVALID: _S(
        502, _F.MERCHANT, "connector", "The merchant's response or webhook signature did not verify."
    ),
    ErrorCode.RATE_LIMITED: _S(
        429, _F.RATE_LIMIT, "ucp", "Too many requests or too many concurrent requests; see Retry-After."
    ),
    ErrorCode.INTERNAL_ERROR: _S(
        500, _F.INTERNAL, "ucp", "An unexpected condition; nothing was committed on the caller's behalf."
    ),
    ErrorCode.SERVICE_UNAVAILABLE: _S(
        503, _F.INTERNAL, "ucp", "A dependency (workflow engine, audit store) is unavailable; retry later."
    ),
    ErrorCode.AUDIT_CONFLICT: _S(
        500,
        _F.INTERNAL,
        "connector",
        "A different audit event was sent for an existing (session, seq); nothing was overwritten.",
    ),
    ErrorCode.OPERATION_PENDING: _S(
        202, _F.LIFECYCLE, "connector", "Still running; replay the same request (same Idempotency-Key) for its result."
    ),
    ErrorCode.MERCHANT_INPUT_REJECTED: _S(
        422,
        _F.MERCHANT,
        "connector",
        "The merchant refused the platform's input (HTTP 400/422); detail carries the merchant's reason.",
    ),
    ErrorCode.REQUEST_UNTRANSLATABLE: _S(
        400,
        _F.VALIDATION,
        "connector",
        "The request uses a field the merchant's UCP release cannot carry; the pointer names it, detail the release.",
    ),
    ErrorCode.MERCHANT_AUTH_FAILED: _S(
        502, _F.MERCHANT, "connector", "The connector could not authenticate to the merchant (credentials refused)."
    ),
    ErrorCode.MISDIRECTED_REQUEST: _S(
        421, _F.PROTOCOL, "connector", "The request's Host is not the connector's public authority (RFC 9110 421)."
    ),
    ErrorCode.REQUEST_TIMEOUT: _S(
        408, _F.PROTOCOL, "connector", "The request's headers or body did not arrive within the server's bound."
    ),
    ErrorCode.TOTALS_INCONSISTENT: _S(
        422,
        _F.POLICY,
        "connector",
        "The checkout's totals do not add up (or cannot be verified): the connector will not complete it (CMP-06).",
    ),
    ErrorCode.PAYMENT_INSTRUMENT_NOT_OFFERED: _S(
        422,
        _F.POLICY,
        "connector",
        "A payment instrument names a handler, type or brand the checkout's payment_handlers do not offer (PAY-04).",
    ),
    ErrorCode.PAYMENT_CREDENTIAL_FORBIDDEN: _S(
        400,
        _F.VALIDATION,
        "connector",
        "A raw card credential (card number, CVC) must not be used for checkout; send a handler token instead.",
    ),
    ErrorCode.EXTENSION_NOT_NEGOTIATED: _S(
        400,
        _F.VALIDATION,
        "connector",
        "The request uses a member of an extension this merchant did not negotiate; the pointer names it.",
    ),
    ErrorCode.MANDATE_REQUIRED: _S(
        400,
        _F.CHECKOUT,
        "ucp",
        "AP2 Mandates is active for the checkout but complete carries no ap2.checkout_mandate (a business refusal).",
    ),
}


def registry_document() -> dict[str, object]:
    """The registry as published in ``contracts/error_codes.json``."""
    return {
        "ucp_version": UCP_VERSION,
        "codes": [
            {
                "code": code.value,
                "http_status": code.http_status,
                "family": code.family.value,
                "defined_by": code.spec.defined_by,
                "meaning": code.meaning,
            }
            for code in ErrorCode
        ],
    }


def render_registry() -> str:
    return json.dumps(registry_document(), indent=2, ensure_ascii=False) + "\n"


def published_registry() -> str:
    """The committed ``error_codes.json`` shipped inside the package."""
    return resources.files("contracts").joinpath("error_codes.json").read_text(encoding="utf-8")
