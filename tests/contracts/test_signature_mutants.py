"""Signature-gate rules whose mutants survived the unit tests (docs/spec-coverage.md "Mutation testing").

The time rules of ``created``/``expires`` (SIG-22: both optional, but when
present they are checked with a bounded clock skew, and a verifier's maximum
age needs ``created``), the header parsing (SIG-16: exactly one signature,
``Signature`` carrying the label ``Signature-Input`` names) and the refusal
details the verification gives (SIG-08 key lookup, SIG-17..19 coverage, SIG-20
algorithm), each at its boundary.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from contracts import ErrorCode, KeyStore, SignatureError, SigningKey, sign_request, verify_request
from contracts.http_signatures import VerificationPolicy, _check_times

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
T = int(NOW.timestamp())
KEY = SigningKey.generate("platform-2026")
KEYS = KeyStore(KEY).jwks
URL = "https://m.example/checkout-sessions"


def _refused(params: dict[str, Any], policy: VerificationPolicy) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        _check_times(params, policy)
    assert caught.value.code is ErrorCode.SIGNATURE_INVALID
    return caught.value


def test_created_is_accepted_up_to_the_skew_into_the_future_and_refused_beyond() -> None:
    """SIG-22: a ``created`` up to max_clock_skew ahead is clock drift; one second more is created_in_future."""
    policy = VerificationPolicy(now=NOW)
    assert _check_times({"created": T + 60}, policy) == T + 60
    assert _refused({"created": T + 61}, policy).reason == "created_in_future"
    assert _check_times({}, policy) is None


def test_expires_is_accepted_up_to_the_skew_in_the_past_and_refused_beyond() -> None:
    """SIG-22: an ``expires`` up to max_clock_skew ago still passes; older is expired."""
    policy = VerificationPolicy(now=NOW)
    assert _check_times({"expires": T - 60}, policy) is None
    assert _refused({"expires": T - 61}, policy).reason == "expired"
    assert _check_times({"created": T, "expires": T + 300}, policy) == T


@pytest.mark.parametrize("name", ["created", "expires"])
@pytest.mark.parametrize("value", ["1700000000", True, 1.5])
def test_time_parameters_must_be_integers(name: str, value: object) -> None:
    """SIG-22 / RFC 9421 §2.3: created and expires are integers (a boolean is not one)."""
    error = _refused({name: value}, VerificationPolicy(now=NOW))
    assert error.reason == "malformed_parameter" and name in error.content


def test_a_maximum_age_needs_created_and_ends_exactly_at_the_age_plus_skew() -> None:
    """SIG-22: with a maximum age, a signature without created is refused; one as old as the age plus the skew
    passes, one second older is expired."""
    policy = VerificationPolicy(now=NOW, max_age=dt.timedelta(seconds=300))
    assert _refused({}, policy).reason == "created_missing"
    assert _check_times({"created": T - 360}, policy) == T - 360
    assert _refused({"created": T - 361}, policy).reason == "expired"
    skewless = VerificationPolicy(now=NOW, max_age=dt.timedelta(seconds=300), max_clock_skew=dt.timedelta(0))
    assert _check_times({"created": T - 300}, skewless) == T - 300
    assert _refused({"created": T - 301}, skewless).reason == "expired"


def _signed(**extra: str) -> list[tuple[str, str]]:
    return [*sign_request(method="GET", url=URL, headers=[], body=None, key=KEY).items(), *extra.items()]


def _verify_refusal(headers: list[tuple[str, str]]) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        verify_request(method="GET", url=URL, headers=headers, body=None, keys=KEYS)
    return caught.value


def test_a_missing_signature_header_is_named() -> None:
    """SIG-16: an unsigned message is signature_missing, naming which of the two headers is absent."""
    signed = dict(_signed())
    only_input = [("Signature-Input", signed["Signature-Input"])]
    error = _verify_refusal(only_input)
    assert error.code is ErrorCode.SIGNATURE_MISSING and error.reason == "header_missing"
    assert error.detail["missing_headers"] == ["Signature"]
    both = _verify_refusal([])
    assert both.detail["missing_headers"] == ["Signature-Input", "Signature"]


def test_the_signature_must_carry_exactly_the_label_of_the_input() -> None:
    """SIG-16: ``Signature`` with another label, or a second one, is signature_count; a non-byte value is malformed."""
    signed = dict(_signed())
    value = signed["Signature"].split("=", 1)[1]
    for signature in (f"other={value}", f"{signed['Signature']}, other={value}"):
        error = _verify_refusal([("Signature-Input", signed["Signature-Input"]), ("Signature", signature)])
        assert error.code is ErrorCode.SIGNATURE_INVALID and error.reason == "signature_count"
    label = signed["Signature"].split("=", 1)[0]
    error = _verify_refusal([("Signature-Input", signed["Signature-Input"]), ("Signature", f'{label}="text"')])
    assert error.reason == "malformed_header"
    huge = _verify_refusal([("Signature-Input", signed["Signature-Input"]), ("Signature", f"{label}=:{'A' * 9000}:")])
    assert huge.reason == "header_too_large"


def test_refusal_details_name_the_missing_components_the_kid_and_the_alg() -> None:
    """SIG-17..19 (coverage_incomplete names what is missing), SIG-08 (unknown kid named), SIG-20 (alg mismatch
    names the declared alg): what a platform needs to fix its signer."""
    label_input = 'sig1=("@method" "@path");keyid="platform-2026"'
    partial = _verify_refusal([("Signature-Input", label_input), ("Signature", "sig1=:AAAA:")])
    assert partial.reason == "coverage_incomplete" and partial.detail["missing_components"] == ["@authority"]
    assert "@authority" in partial.content
    full = '("@method" "@authority" "@path")'
    stranger = _verify_refusal([("Signature-Input", f'sig1={full};keyid="nobody"'), ("Signature", "sig1=:AAAA:")])
    assert stranger.code is ErrorCode.KEY_NOT_FOUND and stranger.detail["kid"] == "nobody"
    alg = _verify_refusal(
        [
            ("Signature-Input", f'sig1={full};keyid="platform-2026";alg="ecdsa-p384-sha384"'),
            ("Signature", "sig1=:AAAA:"),
        ]
    )
    assert alg.code is ErrorCode.ALGORITHM_UNSUPPORTED and alg.reason == "alg_mismatch"
    assert alg.detail["alg"] == "ecdsa-p384-sha384"
    der = _verify_refusal([("Signature-Input", f'sig1={full};keyid="platform-2026"'), ("Signature", "sig1=:AAAA:")])
    assert der.reason == "signature_encoding" and "64" in der.content
