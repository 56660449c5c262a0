"""``signing.canonical_bytes``: RFC 8785 by orjson where it writes the same bytes, ``rfc8785`` otherwise."""

import orjson
import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from marsad.exchange import signing
from marsad.exchange.signing import canonical_bytes
from marsad.registry.tests.test_canonical import Colour, Level, json_like, plain_like, texts


def same_as_rfc8785(value) -> None:
    try:
        expected = rfc8785.dumps(value)
    except Exception as error:  # what rfc8785 refuses, canonical_bytes refuses the same way
        with pytest.raises(type(error)):
            canonical_bytes(value)
    else:
        assert canonical_bytes(value) == expected


json_values = json_like(texts)
# Only the types the fast path takes: it is taken unless a name leaves the Basic Multilingual Plane,
# an integer is beyond 2**53 - 1 or orjson refuses (a lone surrogate).
plain_values = plain_like(texts)


@settings(max_examples=1500, deadline=None)
@given(json_values)
@example({"\uffff": 1, "\U0001f600": 2, "\ue000": [1.5, 2**53]})
@example({"a": float("nan")})
@example({1: "a"})
def test_canonical_bytes_is_rfc8785(value):
    same_as_rfc8785(value)


@settings(max_examples=1500, deadline=None)
@given(plain_values)
def test_canonical_bytes_is_rfc8785_for_plain_values(value):
    same_as_rfc8785(value)


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(st.text(st.characters(min_codepoint=0xD000), max_size=3), st.integers(0, 9), max_size=8)
)
def test_names_sort_by_utf16_code_units_near_the_surrogates(value):
    same_as_rfc8785(value)


RECEIPT = {
    "schema": "marsad.receipt/1",
    "submission_id": None,
    "dry_run": False,
    "counts": {"received": 2, "created": 1, "rejected": 1},
    "results": [
        {"index": 0, "operator_ref": "DOE-PU-001", "outcome": "created", "version": 1, "problems": []},
        {
            "index": 1,
            "operator_ref": "DOE\tPU\x01002",
            "outcome": "rejected",
            "version": None,
            "problems": [
                {
                    "code": "title",
                    "message_ar": "العنوان مطلوب",
                    "message_fr": "Titre « requis »",
                    "status": 422,
                }
            ],
        },
    ],
    "ledger": {"seq": 2**53 - 1, "hash": "0" * 4},
}
RECEIPT_BYTES = (
    '{"counts":{"created":1,"received":2,"rejected":1},"dry_run":false,"ledger":{"hash":"0000",'
    '"seq":9007199254740991},"results":[{"index":0,"operator_ref":"DOE-PU-001","outcome":"created",'
    '"problems":[],"version":1},{"index":1,"operator_ref":"DOE\\tPU\\u0001002","outcome":"rejected",'
    '"problems":[{"code":"title","message_ar":"العنوان مطلوب","message_fr":"Titre « requis »",'
    '"status":422}],"version":null}],"schema":"marsad.receipt/1","submission_id":null}'
).encode()


def test_a_receipt_is_written_by_orjson(monkeypatch):
    assert rfc8785.dumps(RECEIPT) == RECEIPT_BYTES
    monkeypatch.setattr(signing.rfc8785, "dumps", None)  # rfc8785 is not called
    assert canonical_bytes(RECEIPT) == RECEIPT_BYTES


def test_what_orjson_would_write_otherwise_is_left_to_rfc8785():
    # Emoji names sort by UTF-16 code units (U+1F600 is D83D DE00, before U+FFFF); code point order
    # would put U+FFFF first.
    emoji = {"\uffff": "x\x7f\u2028", "\U0001f600": "😀", "é": 1, "a": 0}
    assert canonical_bytes(emoji) == '{"a":0,"é":1,"😀":"😀","\uffff":"x\x7f\u2028"}'.encode()
    assert canonical_bytes({"results": [{"ratio": 0.5}, {"big": 1e21}, {"one": 1.0}]}) == (
        b'{"results":[{"ratio":0.5},{"big":1e+21},{"one":1}]}'
    )
    assert orjson.dumps([1.0, 1e16]) == b"[1.0,1e+16]"  # RFC 8785 writes 1 and 10000000000000000
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical_bytes({"seq": 2**53})
    assert canonical_bytes([-(2**53) + 1]) == b"[-9007199254740991]"
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_bytes({"text": "\ud800"})
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_bytes({1: "a"})
    assert canonical_bytes({"outcome": Colour.RED, "level": Level.HIGH, "pair": (1, 2)}) == (
        b'{"level":3,"outcome":"red","pair":[1,2]}'
    )


def test_a_receipt_of_emoji_names_is_sealed_as_rfc8785_writes_it(db):
    document = {**RECEIPT, "counts": {"\U0001f600": 1, "\uffff": 2}, "note": "ملاحظة"}
    signed, sealed = signing.sign_document_sealed(document)
    assert sealed == rfc8785.dumps(signed)
    assert sealed.startswith(b'{"counts":{"\xf0\x9f\x98\x80":1,"\xef\xbf\xbf":2},"dry_run":false,')
    keys = {key.key_id: key.public_key for key in signing.PlatformKey.objects.all()}
    assert signing.verify_document(signed, keys) is True
