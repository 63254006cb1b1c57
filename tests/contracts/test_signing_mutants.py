"""The signing side of ``contracts/http_signatures.py``, where mutation testing found it unpinned (issue 11 item 7).

mutmut 3 over ``_sign``, ``sign_request``, ``sign_response``, ``_signer`` and
``_SingleKeyResolver`` left these alive: a ``Content-Digest`` the caller already
set was never checked against the body, the refusals did not say which input
was wrong, and the library's signing path (taken when the direct base cannot
write a parameter) was never run, so it could emit ``alg`` or another label.
"""

from __future__ import annotations

import datetime as dt

import pytest

from contracts import KeyStore, SigningKey, format_ucp_agent, sign_request, sign_response, verify_request
from contracts.content_digest import content_digest
from contracts.errors import MalformedInputError
from contracts.http_signatures import verify_response

KEY = SigningKey.generate()
KEYS = KeyStore(KEY)
URL = "https://merchant.example/checkout-sessions"
BODY = b'{"line_items":[]}'
AGENT = format_ucp_agent("https://platform.example/.well-known/ucp")
HEADERS = [("Content-Type", "application/json"), ("UCP-Agent", AGENT), ("Idempotency-Key", "k-1")]
BEFORE_1970 = dt.datetime(1969, 7, 20, 20, 17, tzinfo=dt.UTC)  # a negative created: the direct base declines it


def test_a_content_digest_already_set_is_kept_when_it_matches_the_body_and_refused_when_not() -> None:
    """SIG-19, SIG-24: the digest that is signed is the body's; a caller's own header cannot sign other bytes."""
    matching = [*HEADERS, ("Content-Digest", content_digest(BODY))]
    added = sign_request(method="POST", url=URL, headers=matching, body=BODY, key=KEY)
    assert added["Content-Digest"] == content_digest(BODY)
    signed = [*HEADERS, *added.items()]
    assert verify_request(method="POST", url=URL, headers=signed, body=BODY, keys=KEYS).key.kid == KEY.kid
    wrong = [*HEADERS, ("Content-Digest", content_digest(b"other bytes"))]
    with pytest.raises(MalformedInputError) as caught:
        sign_request(method="POST", url=URL, headers=wrong, body=BODY, key=KEY)
    assert (caught.value.what, caught.value.detail["reason"]) == (
        "Content-Digest",
        "given header does not match the body",
    )


def test_a_body_without_a_content_type_is_refused_naming_the_headers() -> None:
    """SIG-19: a body is signed with its content-type covered, so there must be one."""
    with pytest.raises(MalformedInputError) as caught:
        sign_response(status=200, headers=[], body=BODY, key=KEY)
    assert (caught.value.what, caught.value.detail["reason"]) == (
        "headers",
        "a body needs a Content-Type to be signed",
    )


def test_a_value_that_cannot_be_in_a_signature_base_is_refused_as_the_message() -> None:
    """RFC 9421 section 2.1: a covered field with a control character cannot be signed; the refusal says so."""
    with pytest.raises(MalformedInputError) as caught:
        sign_request(method="GET", url=URL, headers=[("UCP-Agent", "a\nb")], body=None, key=KEY)
    assert caught.value.what == "message" and caught.value.detail["reason"].startswith("cannot be signed: ")


def test_the_librarys_signing_path_covers_the_same_components_under_sig1_without_alg() -> None:
    """SIG-05 (no alg), SIG-16..19: a created time the direct base does not write goes to the library, whose
    signature covers what the direct one does, under our kid and label, and verifies."""
    direct = sign_request(method="POST", url=URL, headers=HEADERS, body=BODY, key=KEY)
    library = sign_request(method="POST", url=URL, headers=HEADERS, body=BODY, key=KEY, created=BEFORE_1970)
    created = int(BEFORE_1970.timestamp())
    assert library["Signature-Input"] == direct["Signature-Input"].split(";created=")[0] + (
        f';created={created};keyid="{KEY.kid}"'
    )
    assert library["Signature"].startswith("sig1=:") and library["Content-Digest"] == content_digest(BODY)
    verified = verify_request(method="POST", url=URL, headers=[*HEADERS, *library.items()], body=BODY, keys=KEYS)
    assert verified.created == created and verified.covered_components == (
        "@method",
        "@authority",
        "@path",
        "ucp-agent",
        "idempotency-key",
        "content-digest",
        "content-type",
    )
    response = sign_response(status=201, headers=HEADERS[:1], body=BODY, key=KEY, created=BEFORE_1970)
    assert ";alg=" not in response["Signature-Input"]
    answer = verify_response(status=201, headers=[*HEADERS[:1], *response.items()], body=BODY, keys=KEYS)
    assert answer.created == created and answer.covered_components == ("@status", "content-digest", "content-type")
