"""FastAPI dependencies shared by the signed routers: the verified platform and its request body.

``signed_platform`` is attached to every signed router (not to single routes),
so a new route cannot forget verification; it verifies, then applies the
platform's rate and concurrency limits for the lifetime of the request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel

from api.security import VerifiedPlatform, verify_platform_request
from contracts import (
    ErrorCode,
    UcpError,
    canonical_json,
    content_digest,
    parse_json,
    validate_idempotency_key,
)
from contracts.ucp import parse_model
from workflows.types import OperationRequest

Model = TypeVar("Model", bound=BaseModel)


async def signed_platform(request: Request) -> AsyncIterator[VerifiedPlatform]:
    platform = await verify_platform_request(request)
    async with request.app.state.limiter.admit(platform.platform_id, platform.settings.rate_limit):
        yield platform


Platform = Annotated[VerifiedPlatform, Depends(signed_platform)]


def json_body(
    request: Request, platform: VerifiedPlatform, model: type[Model], *, empty_ok: bool = False
) -> dict[str, Any]:
    """The verified raw body, parsed strictly and validated against ``model`` (400 with a pointer)."""
    if not platform.body and empty_ok:
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UcpError("the body must be application/json", code=ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    document = parse_json(platform.body)
    parse_model(model, document)
    assert isinstance(document, dict)
    return document


def operation_request(request: Request, body: dict[str, Any] | None, merchant_id: str) -> OperationRequest:
    key = validate_idempotency_key(request.headers.get("idempotency-key"))
    digest = content_digest(canonical_json(body if body is not None else {}))
    return OperationRequest(idempotency_key=key, merchant_id=merchant_id, body_digest=digest, body=body)
