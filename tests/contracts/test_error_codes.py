"""The frozen error-code registry (DESIGN.md invariant 10; TRN-08, TRN-09, SIG-24/25)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.error_codes import ErrorCode, ErrorFamily, published_registry, render_registry
from contracts.errors import ErrorBody, UcpError

FROZEN = Path(__file__).with_name("frozen_error_codes.txt")


def _frozen() -> list[tuple[str, int]]:
    rows = [line.split() for line in FROZEN.read_text().splitlines() if line.strip()]
    return [(code, int(status)) for code, status in rows]


def test_committed_registry_matches_code() -> None:
    """contracts/error_codes.json is regenerated from the enum, never edited by hand."""
    assert published_registry() == render_registry(), "run: python -m contracts.vectors.regenerate"


def test_no_code_is_renamed_removed_or_restatused() -> None:
    """OVR-52: codes are append-only (never a changed meaning without a new version): every frozen code still
    exists with its original HTTP status, in order."""
    frozen = _frozen()
    current = [(code.value, code.http_status) for code in ErrorCode]
    assert current[: len(frozen)] == frozen, "frozen codes changed; codes may only be appended"


def test_every_new_code_is_frozen_too() -> None:
    """Adding a code is deliberate: it must be appended to frozen_error_codes.txt as well."""
    assert len(list(ErrorCode)) == len(_frozen())


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("signature_missing", 401),
        ("signature_invalid", 401),
        ("key_not_found", 401),
        ("digest_mismatch", 400),
        ("algorithm_unsupported", 400),
        ("invalid_profile_url", 400),
        ("profile_unreachable", 424),
        ("profile_malformed", 422),
        ("profile_not_trusted", 403),
        ("version_unsupported", 422),
        ("idempotency_key_reused", 409),
        ("rate_limited", 429),
    ],
)
def test_spec_codes_keep_the_spec_status(code: str, status: int) -> None:
    """SIG-24/25, overview.md error tables: UCP-defined codes use the spec's HTTP status."""
    assert ErrorCode(code).http_status == status


def test_registry_document_is_well_formed() -> None:
    document = json.loads(published_registry())
    codes = [entry["code"] for entry in document["codes"]]
    assert len(codes) == len(set(codes))
    for entry in document["codes"]:
        assert entry["code"].islower() and " " not in entry["code"]
        assert 200 <= entry["http_status"] < 600
        assert ErrorFamily(entry["family"])
        assert entry["defined_by"] in {"ucp", "connector"}
        assert entry["meaning"].endswith(".")


def test_error_body_shape_is_ucp_protocol_error() -> None:
    """TRN-08: protocol errors carry a JSON body with code and content."""
    error = UcpError("nope", code=ErrorCode.CURSOR_INVALID, pointer="/cursor", detail={"reason": "bad_mac"})
    body = error.to_json_dict()
    assert body == {"code": "cursor_invalid", "content": "nope", "pointer": "/cursor", "detail": {"reason": "bad_mac"}}
    assert error.http_status == 400
    assert ErrorBody.model_validate(body).code == "cursor_invalid"
    with pytest.raises(ValueError, match="extra"):
        ErrorBody.model_validate({**body, "unexpected": 1})
