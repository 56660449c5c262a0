import rfc8785

from marsad.exchange import signing


def test_a_member_by_member_object_is_the_rfc8785_form_of_the_whole():
    # Names beyond the Basic Multilingual Plane sort by UTF-16 code units (U+1F600 before U+FFFF).
    document = {
        "b": [1, "xé\x01"],
        "a": {"z": None, "y": True},
        "é": "\U0001f600",
        "\U0001f600": 1,
        "\uffff": 2,
    }
    members = {key: rfc8785.dumps(value) for key, value in document.items()}
    assert signing._object(members) == rfc8785.dumps(document)
    assert signing._object(members).startswith(b'{"a":{"y":true,"z":null},"b":[1,"x\xc3\xa9\\u0001"]')


def test_the_sealed_bytes_are_the_canonical_json_of_the_signed_document(db):
    document = {"schema": "marsad.receipt/1", "counts": {"received": 2}, "results": [{"index": 0}]}
    signed, sealed = signing.sign_document_sealed(document)
    assert sealed == rfc8785.dumps(signed)
    assert signed == signing.sign_document(document)  # Ed25519 signatures are deterministic
    keys = {key.key_id: key.public_key for key in signing.PlatformKey.objects.all()}
    assert signing.verify_document(signed, keys) is True
    assert signing.verify_document({**signed, "counts": {"received": 3}}, keys) is False
