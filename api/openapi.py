"""The OpenAPI document, generated from the routes and the ``contracts`` models.

Request bodies are read as raw bytes (the signature covers the exact bytes,
SIG-15), so FastAPI does not see them as parameters; ``documented`` adds each
route's request body, the signature headers and the error responses to the
document from the same pydantic models that validate the requests. The
committed copy lives in ``contracts/openapi.json``; a test fails when code and
document drift apart.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from contracts import ErrorBody

_BODY_MODELS: dict[str, type[BaseModel]] = {}

_SIGNATURE_HEADERS = [
    ("Signature-Input", "RFC 9421 Signature-Input (label sig1, ES256 key from the platform registry).", True),
    ("Signature", "RFC 9421 Signature: sig1=:<base64 raw r||s>:", True),
    ("Content-Digest", "RFC 9530 sha-256 of the raw body; required with a body.", False),
    ("UCP-Agent", 'RFC 8941 dictionary: profile="https://..." (covered by the signature when present).', False),
]
_ERRORS = {
    "400": "Invalid request (validation_failed, malformed_json, idempotency_key_*, digest_mismatch, cursor_invalid)",
    "401": "Signature missing or invalid (signature_missing, signature_invalid, key_not_found)",
    "403": "Not allowed (policy_denied, profile_not_trusted)",
    "404": "Not found, or not visible to this platform (not_found)",
    "409": "Conflict (idempotency_key_reused, transition_invalid)",
    "413": "Body too large (payload_too_large)",
    "429": "Rate limited (rate_limited); see Retry-After",
    "502": "The merchant's answer was refused (merchant_request_rejected, merchant_response_invalid, "
    "merchant_signature_invalid)",
    "503": "Dependency unavailable (service_unavailable, merchant_unavailable); see Retry-After",
    "504": "The merchant did not answer in time (merchant_timeout); see Retry-After",
}
_PENDING = "Accepted and still running (operation_pending): replay the same request and key for the result"


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }


def documented(
    summary: str,
    body: type[BaseModel] | None = None,
    *,
    mutation: bool = False,
    signed_by: str = "platform",
) -> dict[str, Any]:
    """Route decorator arguments that document body, signature headers and errors."""
    parameters = [
        {"name": name, "in": "header", "required": required, "description": description, "schema": {"type": "string"}}
        for name, description, required in _SIGNATURE_HEADERS
    ]
    if mutation:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": True,
                "description": "22-255 characters of [A-Za-z0-9_-] (UUIDs qualify); replays return the first result.",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{22,255}$"},
            }
        )
    extra: dict[str, Any] = {"parameters": parameters, "x-signed-by": signed_by}
    if body is not None:
        _BODY_MODELS[body.__name__] = body
        extra["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body.__name__}"}}},
        }
    return {
        "summary": summary,
        "openapi_extra": extra,
        "responses": {
            int(status): _error_response(text)
            for status, text in {**_ERRORS, **({"202": _PENDING} if mutation else {})}.items()
        },
    }


def build_openapi(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title="ucp-connector",
        version=app.version,
        description=(
            "A durable, signed connector for UCP 2026-04-08 checkouts. Every route except /healthz and the two "
            "profile routes requires an RFC 9421 signature; every response is signed (@status, content-digest, "
            "content-type). Error bodies carry a frozen code from contracts/error_codes.json."
        ),
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    models: dict[str, type[BaseModel]] = {"ErrorBody": ErrorBody, **_BODY_MODELS}
    for name, model in sorted(models.items()):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def reference_document() -> dict[str, Any]:
    """The document of the app's routes (it depends on neither settings nor services)."""
    from api.app import routed_app

    return build_openapi(routed_app())


def main() -> None:
    """Regenerate ``contracts/openapi.json``: ``python -m api.openapi``."""
    from pathlib import Path

    # Run as ``python -m``, this file is ``__main__``; the routes register their models in the
    # importable ``api.openapi``, so generate through that module.
    from api import openapi

    target = Path(__file__).resolve().parent.parent / "contracts" / "openapi.json"
    target.write_text(openapi.render(openapi.reference_document()), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
