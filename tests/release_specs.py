"""The spec of every UCP release the connector speaks to merchants: JSON Schemas and examples, for adapter tests.

Beside ``../shared/ucp-spec`` (2026-04-08, :mod:`tests.spec_schemas`) the
shared folder holds ``ucp-spec-2026-01-11`` and ``ucp-spec-2026-08-25-rc``.
Tests that need one are marked :func:`requires_release_spec` and skip when it
is absent. Schemas resolve by ``$id`` within their own release, with the
``ucp_request`` annotations applied per operation as ``spec_schemas`` does.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests import spec_schemas
from tests.spec_schemas import _resolve_request

FOLDERS: Final = {
    "2026-01-11": "ucp-spec-2026-01-11",
    "2026-04-08": "ucp-spec",
    "2026-08-25": "ucp-spec-2026-08-25-rc",
}
SCHEMAS: Final = "https://ucp.dev/schemas/"


def release_spec_dir(release: str) -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / FOLDERS[release]
        if (candidate / "source" / "schemas").is_dir():
            return candidate
    return None


def requires_release_spec(release: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        release_spec_dir(release) is None, reason=f"UCP {release} spec (../shared/{FOLDERS[release]}) not present"
    )


def _schema_files(release: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(URI, schema) pairs: each schema under its ``$id``, and the files others refer to by path."""
    root = release_spec_dir(release)
    assert root is not None
    for path in sorted((root / "source" / "schemas").rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if "$id" in document:
            yield document["$id"], document
    for path in sorted((root / "source" / "services").glob("*.json")):  # 2026-01-11's ../services/service_schema.json
        document = json.loads(path.read_text(encoding="utf-8"))
        yield f"https://ucp.dev/services/{path.name}", {**document, "$id": f"https://ucp.dev/services/{path.name}"}
    discovery = root / "source" / "discovery" / "profile_schema.json"
    if discovery.is_file():  # its $id sits under /schemas/discovery/ but it refers to ../schemas/ (see spec_schemas)
        document = json.loads(discovery.read_text(encoding="utf-8").replace('"../schemas/', '"../'))
        yield document["$id"], document


@functools.cache
def _registry(release: str, operation: str | None) -> Registry[Any]:
    resources = []
    for uri, document in _schema_files(release):
        if operation is not None:
            document = _resolve_request(copy.deepcopy(document), operation)
        resources.append((uri, Resource.from_contents(document, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def validator(release: str, schema: str | dict[str, Any], *, operation: str | None = None) -> Draft202012Validator:
    inline = {"$ref": schema if "://" in schema else SCHEMAS + schema} if isinstance(schema, str) else schema
    return Draft202012Validator(inline, registry=_registry(release, operation), format_checker=FormatChecker())


def errors(checker: Draft202012Validator, document: Any) -> list[str]:
    found = sorted(checker.iter_errors(document), key=lambda error: list(error.absolute_path))
    return [f"{list(error.absolute_path)}: {error.message[:200]}" for error in found]


def json_examples(release: str, page: str) -> list[Any]:
    """The JSON documents of one release's spec page (the parsing of :func:`tests.spec_schemas.json_examples`)."""
    return spec_schemas.json_examples(page, spec_dir=release_spec_dir(release), version=release)
