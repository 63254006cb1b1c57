"""The direct signature base (contracts/signature_base.py) is the library's, byte for byte (SIG-16..21, SIG-24, SIG-26).

Issue 13 writes the RFC 9421 base of the plain components UCP covers without
``http-message-signatures``' structured-field round trips. These tests hold it
to the library: generated messages give the same base from both, each side
verifies the other's signatures, and whatever the direct path does not serialise
itself goes to the library, which still refuses what it refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import KeyStore, SigningKey, format_ucp_agent, sign_request, sign_response, verify_request
from contracts import signature_base as direct
from contracts.errors import MalformedInputError, SignatureError
from contracts.http_signatures import verify_response
from contracts.signature_fields import HeaderLines, RequestMessage, ResponseMessage

KEY = SigningKey.generate()
KEYS = KeyStore(KEY)
AGENT = format_ucp_agent("https://platform.example/.well-known/ucp")
EMPTY_DIGEST = "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
CREATED = dt.datetime(2026, 4, 8, 12, 0, tzinfo=dt.UTC)

_segment = st.text(alphabet="abcXYZ019-._~%20", min_size=0, max_size=8).map(lambda s: s.replace("%", "%41"))
_hosts = st.sampled_from(["merchant.example", "Shop.Example.COM", "127.0.0.1", "xn--bcher-kva.example"])
_ports = st.sampled_from(["", ":443", ":8443", ":0443", ":80"])
_queries = st.one_of(st.none(), st.just(""), st.text(alphabet="a=b&c%2F1", max_size=10))
_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30).map(str.strip)


@st.composite
def _requests(draw: Any) -> tuple[RequestMessage, tuple[str, ...]]:
    path = "/" + "/".join(draw(st.lists(_segment, max_size=4)))
    query = draw(_queries)
    url = f"{draw(st.sampled_from(['https', 'http']))}://{draw(_hosts)}{draw(_ports)}{path}"
    url += f"?{query}" if query is not None else ""
    headers = [("UCP-Agent", AGENT), ("Content-Type", "application/json")]
    headers += [("X-Repeated", draw(_value)) for _ in range(draw(st.integers(0, 2)))]
    headers.append(("Idempotency-Key", draw(_value) or "k"))
    components = ["@method", "@authority", "@path", "ucp-agent", "idempotency-key", "content-type"]
    components += ["@query"] if query is not None else []
    components += ["x-repeated"] if any(name == "X-Repeated" for name, _ in headers) else []
    method = draw(st.sampled_from(["POST", "PUT", "GET", "DELETE"]))
    return RequestMessage(method, url, HeaderLines(headers)), tuple(draw(st.permutations(components)))


def _library_base(message: Any, components: tuple[str, ...], created: int, kid: str) -> bytes:
    prepared = HTTPMessageSigner(signature_algorithm=algorithms.ECDSA_P256_SHA256).prepare(
        message,
        key_id=kid,
        created=dt.datetime.fromtimestamp(created, dt.UTC),
        include_alg=False,
        covered_component_ids=components,
        use_existing_digest="content-digest" in message.headers,
    )
    return bytes(prepared.signature_base)


@settings(max_examples=150, deadline=None)
@given(_requests(), st.integers(0, 4_102_444_800), st.sampled_from([KEY.kid, 'kid "quoted" \\ slash']))
def test_the_direct_base_of_a_request_is_the_librarys(
    request: tuple[RequestMessage, tuple[str, ...]], created: int, kid: str
) -> None:
    message, components = request
    line = direct.signature_params(components, {"created": created, "keyid": kid})
    assert line is not None
    try:
        expected = _library_base(message, components, created, kid)
    except HTTPMessageSignaturesException:
        with pytest.raises(HTTPMessageSignaturesException):
            direct.build(message, components, line)
        return
    assert direct.build(message, components, line) == expected


@given(st.integers(100, 599), _value)
def test_the_direct_base_of_a_response_is_the_librarys(status: int, content_type: str) -> None:
    message = ResponseMessage(status, HeaderLines([("Content-Type", content_type), ("Content-Digest", EMPTY_DIGEST)]))
    components = ("@status", "content-digest", "content-type")
    line = direct.signature_params(components, {"created": 1_775_649_600, "keyid": KEY.kid})
    assert line is not None
    assert direct.build(message, components, line) == _library_base(message, components, 1_775_649_600, KEY.kid)


class _Private(HTTPSignatureKeyResolver):
    def resolve_private_key(self, key_id: str) -> Any:
        return KEY.private_key

    def resolve_public_key(self, key_id: str) -> Any:
        return KEY.private_key.public_key() if key_id == KEY.kid else None


def _library_verifier() -> HTTPMessageVerifier:
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ECDSA_P256_SHA256, key_resolver=_Private())
    verifier.require_created = False
    return verifier


def test_each_side_verifies_the_others_signatures() -> None:
    """The direct signer's output verifies with the library's verifier, and a library signature with ours."""
    url, body = "https://merchant.example:8443/checkout-sessions/c%20h?x=1", b'{"a":1}'
    headers = [("Content-Type", "application/json"), ("UCP-Agent", AGENT), ("Idempotency-Key", "k-1")]
    added = sign_request(method="POST", url=url, headers=headers, body=body, key=KEY, created=CREATED)
    signed = HeaderLines([*headers, *added.items()])
    _library_verifier().verify(RequestMessage("POST", url, signed), max_age=None, body=body)

    lines = HeaderLines([*headers, ("Content-Digest", added["Content-Digest"])])
    components = ("@method", "@authority", "@path", "@query", "ucp-agent", "idempotency-key")
    library_signer = HTTPMessageSigner(signature_algorithm=algorithms.ECDSA_P256_SHA256, key_resolver=_Private())
    library_signer.sign(
        RequestMessage("POST", url, lines),
        key_id=KEY.kid,
        created=CREATED,
        label="sig1",
        include_alg=False,
        covered_component_ids=(*components, "content-digest", "content-type"),
        use_existing_digest=True,
    )
    verified = verify_request(method="POST", url=url, headers=lines.items(), body=body, keys=KEYS)
    assert verified.key.kid == KEY.kid


def test_what_the_direct_path_does_not_write_goes_to_the_library() -> None:
    """A parameterised component, another parameter or a bool is not serialised directly; the library verifies it."""
    assert direct.signature_params(('"ucp-agent";key="profile"',), {"created": 1}) is None
    assert direct.signature_params(("@target-uri",), {"created": 1}) is None
    assert direct.signature_params(("@method",), {"created": True}) is None
    assert direct.signature_params(("@method",), {"created": -1}) is None
    assert direct.signature_params(("@method",), {"nonce": "é"}) is None
    assert direct.signature_params(("@method", "@method"), {}) is None
    url = "https://merchant.example/checkout-sessions/1"
    lines = HeaderLines([("UCP-Agent", AGENT)])
    HTTPMessageSigner(signature_algorithm=algorithms.ECDSA_P256_SHA256, key_resolver=_Private()).sign(
        RequestMessage("GET", url, lines),
        key_id=KEY.kid,
        created=CREATED,
        nonce="n-1",
        label="sig1",
        include_alg=False,
        covered_component_ids=("@method", "@authority", "@path", "ucp-agent", "@target-uri"),
    )
    assert verify_request(method="GET", url=url, headers=lines.items(), body=None, keys=KEYS).key.kid == KEY.kid


def test_the_direct_path_refuses_what_the_library_refuses() -> None:
    """A control character cannot be signed; a Content-Digest sent but not signed fails verification (SIG-24)."""
    with pytest.raises(MalformedInputError):
        sign_request(method="GET", url="https://m.example/x", headers=[("UCP-Agent", "a\x01b")], body=None, key=KEY)
    added = sign_response(status=200, headers=[], body=None, key=KEY)
    headers = [*added.items(), ("Content-Digest", EMPTY_DIGEST)]
    with pytest.raises(SignatureError) as caught:
        verify_response(status=200, headers=headers, body=None, keys=KEYS)
    assert caught.value.detail["reason"] == "verification_failed"
    tampered = [*added.items()]
    with pytest.raises(SignatureError):
        verify_response(status=201, headers=tampered, body=None, keys=KEYS)
