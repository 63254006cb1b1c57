"""The UCP 2026-04-08 JSON Schemas and spec examples, for tests.

The spec lives outside the repository (``../shared/ucp-spec`` next to the
checkouts, or ``$UCP_SPEC_DIR``). Tests that validate against it are marked
:data:`requires_spec` and skip when it is absent; nothing else depends on it.

* :func:`validator` compiles a schema by its ``$id`` with a ``referencing``
  registry over every schema file, so relative ``$ref``\\ s resolve as the spec
  publishes them.
* :func:`request_validator` resolves the ``ucp_request`` annotations for one
  operation first (``omit`` removes a member, ``required``/``optional`` adjust
  ``required``), as ``ucp-schema resolve --request --op`` does.
* :func:`json_examples` extracts the JSON examples of a spec page.

One quirk handled here: ``discovery/profile_schema.json`` declares
``$id .../schemas/discovery/profile.json`` but refers to ``../schemas/ucp.json``
(a repository-relative path), which would resolve to ``/schemas/schemas/``; we
rewrite that prefix to ``../``.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

UCP_VERSION: Final = "2026-04-08"
SCHEMA_BASE: Final = "https://ucp.dev/schemas/"
CHECKOUT: Final = SCHEMA_BASE + "shopping/checkout.json"
ORDER: Final = SCHEMA_BASE + "shopping/order.json"
ERROR_RESPONSE: Final = SCHEMA_BASE + "shopping/types/error_response.json"
PROFILE: Final = SCHEMA_BASE + "discovery/profile.json"
CHECKOUT_WITH_EXTENSIONS: Final = {
    "allOf": [
        {"$ref": SCHEMA_BASE + "shopping/fulfillment.json#/$defs/dev.ucp.shopping.checkout"},
        {"$ref": SCHEMA_BASE + "shopping/discount.json#/$defs/dev.ucp.shopping.checkout"},
    ]
}


def _find_spec_dir() -> Path | None:
    configured = os.environ.get("UCP_SPEC_DIR")
    if configured:
        path = Path(configured)
        return path if (path / "source" / "schemas").is_dir() else None
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "ucp-spec"
        if (candidate / "source" / "schemas").is_dir():
            return candidate
    return None


SPEC_DIR: Final = _find_spec_dir()
requires_spec = pytest.mark.skipif(SPEC_DIR is None, reason="UCP spec folder (../shared/ucp-spec) not present")


def _schema_files() -> Iterator[dict[str, Any]]:
    assert SPEC_DIR is not None
    source = SPEC_DIR / "source"
    for path in sorted((source / "schemas").rglob("*.json")):
        yield json.loads(path.read_text(encoding="utf-8"))
    text = (source / "discovery" / "profile_schema.json").read_text(encoding="utf-8")
    yield json.loads(text.replace('"../schemas/', '"../'))


def _resolve_request(node: Any, operation: str) -> Any:
    """Apply ``ucp_request`` visibility for ``operation`` to one schema document (recursively)."""
    if isinstance(node, list):
        return [_resolve_request(item, operation) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _resolve_request(value, operation) for key, value in node.items() if key != "ucp_request"}
    properties = result.get("properties")
    if isinstance(properties, dict):
        required = list(result.get("required", []))
        for name, original in node.get("properties", {}).items():
            annotation = original.get("ucp_request") if isinstance(original, dict) else None
            visibility = annotation.get(operation) if isinstance(annotation, dict) else annotation
            if visibility == "omit":
                properties.pop(name, None)
                required = [item for item in required if item != name]
            elif visibility == "required" and name not in required:
                required.append(name)
            elif visibility == "optional":
                required = [item for item in required if item != name]
        if required or "required" in result:
            result["required"] = required
    return result


@functools.cache
def registry(operation: str | None = None) -> Registry[Any]:
    """Every spec schema by ``$id``; with ``operation``, resolved as that operation's request schemas."""
    resources = []
    for document in _schema_files():
        if operation is not None:
            document = _resolve_request(copy.deepcopy(document), operation)
        resources.append((document["$id"], Resource.from_contents(document, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def validator(schema: str | dict[str, Any], *, operation: str | None = None) -> Draft202012Validator:
    """A validator for ``schema`` (a ``$id``/``$ref`` string or an inline schema) with formats checked."""
    inline = {"$ref": schema} if isinstance(schema, str) else schema
    return Draft202012Validator(inline, registry=registry(operation), format_checker=FormatChecker())


def request_validator(operation: str) -> Draft202012Validator:
    """The checkout request schema (with fulfillment and discount) for ``create``/``update``/``complete``."""
    return validator(CHECKOUT_WITH_EXTENSIONS, operation=operation)


def checkout_response_validator() -> Draft202012Validator:
    """``checkout_response`` of rest.openapi.json: a checkout (with extensions) or an error response."""
    return validator({"oneOf": [CHECKOUT_WITH_EXTENSIONS, {"$ref": ERROR_RESPONSE}]})


def order_response_validator() -> Draft202012Validator:
    return validator({"oneOf": [{"$ref": ORDER}, {"$ref": ERROR_RESPONSE}]})


def business_profile_validator() -> Draft202012Validator:
    return validator(PROFILE + "#/$defs/business_profile")


def platform_profile_validator() -> Draft202012Validator:
    return validator(PROFILE + "#/$defs/platform_profile")


def assert_valid(checker: Draft202012Validator, document: Any) -> None:
    """Fail with every schema error listed, not just the first."""
    errors = sorted(checker.iter_errors(document), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{list(error.absolute_path)}: {error.message[:300]}" for error in errors)


_COMMENT = re.compile(r"\s//\s.*$")
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def json_examples(page: str, *, spec_dir: Path | None = None, version: str = UCP_VERSION) -> list[Any]:
    """The JSON documents of a spec page's ```json blocks that parse (placeholders like ``...`` do not).

    ``spec_dir``/``version`` read another release's spec folder (tests/release_specs.py).
    """
    root = spec_dir or SPEC_DIR
    assert root is not None
    text = (root / "docs" / "specification" / page).read_text(encoding="utf-8")
    documents = []
    for block in re.findall(r"```json\n(.*?)```", text, flags=re.DOTALL):
        lines = [line.strip() if line.startswith("    ") else line for line in block.splitlines()]
        start = next((index for index, line in enumerate(lines) if line.lstrip().startswith(("{", "["))), None)
        if start is None:
            continue
        body = "\n".join(_COMMENT.sub("", line) for line in lines[start:])
        body = _TRAILING_COMMA.sub(r"\1", body.replace("{{ ucp_version }}", version))
        try:
            documents.append(json.loads(body))
        except ValueError:
            continue
    return documents
