"""The two tables of docs/api.md that come from the code alone: routes (from the OpenAPI document) and error codes.

Kept apart from docs/generate_api_examples.py, which records the live exchanges.
"""

from __future__ import annotations

from typing import Any

from api.openapi import reference_document
from contracts.error_codes import registry_document


def routes_table() -> str:
    document = reference_document()
    rows = ["| method and path | what | signed by | Idempotency-Key | success | error statuses |", "| --- " * 6 + "|"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = sorted(operation.get("responses", {}))
            success = [status for status in statuses if status.startswith("2")]
            errors = [status for status in statuses if not status.startswith("2")]
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            signed_by = operation.get("x-signed-by", "none (public)")
            rows.append(
                f"| `{method.upper()} {path}` | {operation.get('summary', '')} | {signed_by} | "
                f"{'required' if 'Idempotency-Key' in names else '—'} | {', '.join(success)} | {', '.join(errors)} |"
            )
    rows += ["", "What the error statuses stand for (the same on every route, from `contracts/openapi.json`):", ""]
    rows += ["| status | meaning |", "| --- | --- |"]
    statuses: dict[str, str] = {}
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2") or status == "202":
                    statuses.setdefault(status, response.get("description", ""))
    rows += [f"| {status} | {statuses[status]} |" for status in sorted(statuses)]
    if statuses.get("422") == "Validation Error":
        rows += [
            "",
            "The 422 entry is FastAPI's generated default (`HTTPValidationError`): the connector answers an invalid "
            "body with 400 `validation_failed` (example below); 422 comes only with the codes the error table lists "
            "as 422.",
        ]
    return "\n".join(rows)


def errors_table() -> str:
    rows = ["| code | HTTP | meaning |", "| --- | --- | --- |"]
    codes: list[dict[str, Any]] = registry_document()["codes"]  # type: ignore[assignment]
    rows += [f"| `{code['code']}` | {code['http_status']} | {code['meaning']} |" for code in codes]
    return "\n".join(rows)
